/**
 * The statistics every reproduction's verdicts rest on: a seed-dependent number is kept
 * as `{ mean, std, values }`, and a claim "A is lower than B" is judged from the paired
 * differences (same seed, same data) with a 95% Student-t confidence interval.
 *
 * Why paired: two inits trained on the same seed's batches share most of their noise,
 * so the per-seed difference has a much smaller spread than either run; comparing two
 * unpaired means would throw that away.
 */

/** A seed-dependent scalar: the values per seed, their mean and sample std. */
export interface Stat {
  mean: number;
  /** Sample standard deviation (n - 1); 0 for a single value. */
  std: number;
  values: number[];
}

/**
 * Summarises per-seed values.
 * @example stat([1, 2, 3]) // { mean: 2, std: 1, values: [1, 2, 3] }
 */
export function stat(values: readonly number[]): Stat {
  const n = values.length;
  if (n === 0) return { mean: NaN, std: NaN, values: [] };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, values: [...values] };
}

// Two-sided 97.5% quantiles of Student's t for 1..30 degrees of freedom.
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074,
  2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/**
 * The 0.975 quantile of Student's t with `df` degrees of freedom (a table up to 30,
 * then the Cornish-Fisher expansion around the normal quantile, accurate to 1e-3).
 * @example tQuantile975(4) // 2.776
 */
export function tQuantile975(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new RangeError(`tQuantile975: degrees of freedom must be a positive integer, got ${df}`);
  if (df <= T975.length) return T975[df - 1]!;
  const z = 1.959964;
  const z3 = z ** 3;
  const z5 = z ** 5;
  return z + (z3 + z) / (4 * df) + (5 * z5 + 16 * z3 + 3 * z) / (96 * df * df);
}

/** A paired comparison of a - b over seeds. */
export interface PairedComparison {
  /** Per-seed differences a - b. */
  diff: Stat;
  /** 95% confidence interval of the mean difference; [NaN, NaN] with one seed. */
  ci95: [number, number];
  /** Number of pairs. */
  n: number;
}

/**
 * Paired differences `a[i] - b[i]` (same seed i) with a 95% t interval of their mean.
 * @example pairedDiff([1.0, 1.2, 0.9], [1.3, 1.4, 1.2]).ci95 // entirely below 0: a is lower
 */
export function pairedDiff(a: readonly number[], b: readonly number[]): PairedComparison {
  if (a.length !== b.length) throw new Error(`pairedDiff: ${a.length} values against ${b.length}; pairs need one value per seed on each side`);
  const d = stat(a.map((x, i) => x - b[i]!));
  const n = a.length;
  if (n < 2) return { diff: d, ci95: [NaN, NaN], n };
  const half = (tQuantile975(n - 1) * d.std) / Math.sqrt(n);
  return { diff: d, ci95: [d.mean - half, d.mean + half], n };
}

/** How a paired interval reads: 'lower' when it lies below 0, 'higher' above, else 'unclear'. */
export function direction(c: PairedComparison): 'lower' | 'higher' | 'unclear' {
  const [lo, hi] = c.ci95;
  if (hi < 0) return 'lower';
  if (lo > 0) return 'higher';
  return 'unclear';
}

/**
 * `mean ± std` for a report, or `value (n = 1)` when there is a single seed (a std of 0
 * from one run would look like certainty).
 * @example formatStat(stat([0.5]), 2) // '0.50 (n = 1)'
 */
export function formatStat(s: Stat, digits = 3): string {
  if (s.values.length === 1) return `${s.mean.toFixed(digits)} (n = 1)`;
  return `${s.mean.toFixed(digits)} ± ${s.std.toFixed(digits)}`;
}

/** `mean [lo, hi]` of a paired difference, for a report line. */
export function formatPaired(c: PairedComparison, digits = 3): string {
  if (c.n < 2) return `${c.diff.mean.toFixed(digits)} (n = 1, no interval)`;
  return `${c.diff.mean.toFixed(digits)} [95% CI ${c.ci95[0].toFixed(digits)}, ${c.ci95[1].toFixed(digits)}], n = ${c.n}`;
}

/**
 * One claim's verdict, as metrics.json stores it: the claim in words, the rule that
 * decides it (written so a reader can check it against `value`), the number(s) it was
 * decided from, and the outcome (`null` when the rule does not apply here).
 */
export interface Verdict {
  claim: string;
  rule: string;
  value: unknown;
  held: boolean | 'partly' | null;
}

/** The word a report prints for a verdict. */
export function verdictWord(held: Verdict['held']): string {
  return held === true ? '**held**' : held === 'partly' ? '**partly held**' : held === false ? '**did not hold**' : '**not applicable**';
}
