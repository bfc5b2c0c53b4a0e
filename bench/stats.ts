// Summary statistics of latency samples (milliseconds), as the benchmark reports them.

export interface Summary {
  count: number;
  min: number;
  median: number;
  p95: number;
  max: number;
}

/** The value at quantile q (0..1) by the nearest-rank method: always one of the samples. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    count: sorted.length,
    min: sorted[0] ?? NaN,
    median: quantile(sorted, 0.5),
    p95: quantile(sorted, 0.95),
    max: sorted[sorted.length - 1] ?? NaN,
  };
}

/** Seconds with one decimal below 10 s, whole above: "0.8", "12". */
export function seconds(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  const s = ms / 1000;
  return s < 10 ? s.toFixed(2) : s.toFixed(1);
}

export function ratio(a: number, b: number): string {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b <= 0) return '–';
  return `${(a / b).toFixed(2)}×`;
}
