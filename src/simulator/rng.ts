// Seeded randomness, so a simulator run with SIMULATOR_SEED repeats its task
// ids, latencies and failures for the same sequence of requests.

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [min, max]. */
  int(min: number, max: number): number;
  hex(length: number): string;
  pick<T>(items: readonly T[]): T;
}

/** mulberry32: tiny, fast, and plenty for test fixtures (not for secrets). */
export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int(min, max) {
      return min + Math.floor(next() * (max - min + 1));
    },
    hex(length) {
      let out = '';
      while (out.length < length) out += Math.floor(next() * 16).toString(16);
      return out;
    },
    pick(items) {
      const item = items[Math.floor(next() * items.length)];
      if (item === undefined) throw new Error('pick from an empty list');
      return item;
    },
  };
}

/** A stable 32-bit hash (FNV-1a) of a string, used to derive per-task colours. */
export function hashString(value: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) {
    h ^= value.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Two distinct RGB colours derived from a task id. */
export function paletteFor(taskId: string): { from: [number, number, number]; to: [number, number, number] } {
  const rng = createRng(hashString(taskId));
  const colour = (): [number, number, number] => [rng.int(0, 255), rng.int(0, 255), rng.int(0, 255)];
  return { from: colour(), to: colour() };
}
