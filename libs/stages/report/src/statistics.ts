// Two-sided 97.5% quantiles of Student's t for 1..30 degrees of freedom; 1.96 beyond.
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

export interface MeanInterval {
  n: number;
  mean: number;
  /** Half-width of the 95% confidence interval of the mean (Student's t); NaN with one value. */
  ci95: number;
  std: number;
}

/** Mean and 95% confidence interval over seeds: with 3 seeds, t = 4.30, so intervals are wide. */
export function meanInterval(values: number[]): MeanInterval {
  const n = values.length;
  if (n === 0) return { n, mean: Number.NaN, ci95: Number.NaN, std: Number.NaN };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { n, mean, ci95: Number.NaN, std: Number.NaN };
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  const std = Math.sqrt(variance);
  const t = n - 1 <= T975.length ? T975[n - 2] : 1.96;
  return { n, mean, ci95: (t * std) / Math.sqrt(n), std };
}
