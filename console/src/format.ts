export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toISOString().replace('T', ' ').slice(0, 19);
}

export function modelLabel(model: string): string {
  return model.toLowerCase().replace(/_/g, ' ');
}

/** True for a result that is a video (by its file name). */
export function isVideo(url: string): boolean {
  return /\.(mp4|webm|mov)(\?|#|$)/i.test(url);
}
