/**
 * Timing for the benchmarks: a few warm-up runs, then timed runs until both a
 * minimum count and a time budget are reached; the median is reported.
 */

export interface Timing {
  /** Median wall time of one run, in milliseconds. */
  ms: number;
  /** All timed runs, in milliseconds. */
  runs: number[];
}

export interface TimeOptions {
  /** Untimed runs first (JIT warm-up, kernel compilation, pool start-up). Default 1. */
  warmup?: number;
  /** At least this many timed runs. Default 3. */
  minRuns?: number;
  /** Keep timing until this many milliseconds have passed (up to maxRuns). Default 1000. */
  budgetMs?: number;
  /** At most this many timed runs. Default 50. */
  maxRuns?: number;
}

/** Median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * Times `fn` (which must finish its work before returning or resolving).
 * @example const t = await time(() => matmul(a, b), { budgetMs: 2000 });
 */
export async function time(fn: () => unknown | Promise<unknown>, opts: TimeOptions = {}): Promise<Timing> {
  const { warmup = 1, minRuns = 3, budgetMs = 1000, maxRuns = 50 } = opts;
  for (let i = 0; i < warmup; i++) await fn();
  const runs: number[] = [];
  const start = performance.now();
  while (runs.length < minRuns || (performance.now() - start < budgetMs && runs.length < maxRuns)) {
    const t0 = performance.now();
    await fn();
    runs.push(performance.now() - t0);
  }
  return { ms: median(runs), runs };
}
