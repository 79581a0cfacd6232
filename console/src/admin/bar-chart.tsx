// A stacked bar chart in plain SVG (no chart library to bundle): one bar per
// day, one segment per model, and the day's margin as a marker.
export interface DayBar {
  day: string;
  segments: { key: string; value: number }[];
  marker: number | null;
}

export const MODEL_COLORS: Record<string, string> = {
  TEXT_TO_IMAGE: '#2563eb',
  TEXT_TO_VIDEO: '#db2777',
  IMAGE_TO_VIDEO: '#16a34a',
  UPSCALE: '#d97706',
};

const WIDTH = 720;
const HEIGHT = 220;
const PAD = { left: 48, right: 12, top: 12, bottom: 36 };

export function BarChart(props: { bars: DayBar[]; label: string }) {
  const totals = props.bars.map((b) => b.segments.reduce((sum, s) => sum + Math.max(0, s.value), 0));
  const markers = props.bars.map((b) => b.marker ?? 0);
  const max = Math.max(1, ...totals, ...markers);
  const min = Math.min(0, ...markers);
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const y = (v: number) => PAD.top + plotH * (1 - (v - min) / (max - min));
  const step = (WIDTH - PAD.left - PAD.right) / Math.max(1, props.bars.length);
  const barW = Math.max(4, step * 0.6);
  return (
    <svg className="chart" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={props.label}>
      <line x1={PAD.left} x2={WIDTH - PAD.right} y1={y(0)} y2={y(0)} className="axis" />
      <text x={PAD.left - 6} y={y(max) + 4} className="tick" textAnchor="end">
        {max}
      </text>
      <text x={PAD.left - 6} y={y(0) + 4} className="tick" textAnchor="end">
        0
      </text>
      {props.bars.map((bar, i) => {
        const x = PAD.left + i * step + (step - barW) / 2;
        let base = 0;
        return (
          <g key={bar.day}>
            {bar.segments.map((s) => {
              const value = Math.max(0, s.value);
              const top = y(base + value);
              const rect = <rect key={s.key} x={x} y={top} width={barW} height={y(base) - top} fill={MODEL_COLORS[s.key] ?? '#6b7280'} />;
              base += value;
              return rect;
            })}
            {bar.marker !== null && <rect x={x - 2} y={y(bar.marker) - 1.5} width={barW + 4} height={3} className="marker" />}
            {(props.bars.length <= 16 || i % 2 === 0) && (
              <text x={x + barW / 2} y={HEIGHT - PAD.bottom + 16} className="tick" textAnchor="middle">
                {bar.day.slice(5)}
              </text>
            )}
          </g>
        );
      })}
    </svg>
  );
}
