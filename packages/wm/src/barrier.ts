/**
 * Loss (or accuracy) barriers along a linear interpolation path theta(lambda) = (1 - lambda) A +
 * lambda B. Papers disagree on the definition (git-re-basin's plots, Frankle/Entezari, Ito et al.'s
 * tables, Theus et al. each use one of these), so all three are given:
 *
 * - `maxMinusMean`: max_lambda L(lambda) - (L(0) + L(1)) / 2 (git-re-basin's plots). Its floor is
 *   |L(0) - L(1)| / 2 even on a perfectly convex path.
 * - `maxGapToLinear`: max_lambda [L(lambda) - ((1 - lambda) L(0) + lambda L(1))] (Frankle et al.,
 *   Entezari et al., Theus et al. Eq. 1). 0 at the endpoints, so never negative on the grid.
 * - `midpoint`: L(1/2) - (L(0) + L(1)) / 2 (Ito et al.'s tables), which can be negative.
 *
 * For accuracy, "worse" is lower, so the same definitions are applied to -accuracy: e.g.
 * maxMinusMean = (acc(0) + acc(1)) / 2 - min_lambda acc(lambda).
 */

export interface Barriers {
  maxMinusMean: number;
  maxGapToLinear: number;
  midpoint: number;
}

/**
 * All three barriers of one curve. `lambdas` must be increasing, start at 0 and end at 1; the
 * midpoint value is linearly interpolated if 1/2 is not on the grid.
 * @example
 * barriers([0, 0.5, 1], [0.1, 0.4, 0.2]); // { maxMinusMean: 0.25, maxGapToLinear: 0.25, midpoint: 0.25 }
 * barriers([0, 0.5, 1], [0.98, 0.9, 0.97], { higherIsBetter: true }); // accuracy
 */
export function barriers(
  lambdas: readonly number[],
  values: readonly number[],
  opts: { higherIsBetter?: boolean } = {},
): Barriers {
  const n = lambdas.length;
  if (n < 2 || values.length !== n) {
    throw new Error(`barriers: need at least 2 lambdas and one value each, got ${n} lambdas and ${values.length} values`);
  }
  if (lambdas[0] !== 0 || lambdas[n - 1] !== 1) {
    throw new Error(`barriers: lambdas must run from 0 to 1, got ${lambdas[0]} .. ${lambdas[n - 1]}`);
  }
  for (let i = 1; i < n; i++) {
    if (!(lambdas[i]! > lambdas[i - 1]!)) throw new Error(`barriers: lambdas must increase (index ${i})`);
  }
  const sign = opts.higherIsBetter ? -1 : 1;
  const v = values.map((x) => sign * x);
  const l0 = v[0]!;
  const l1 = v[n - 1]!;
  const mean = (l0 + l1) / 2;
  let max = -Infinity;
  let gap = -Infinity;
  for (let i = 0; i < n; i++) {
    const lam = lambdas[i]!;
    max = Math.max(max, v[i]!);
    gap = Math.max(gap, v[i]! - ((1 - lam) * l0 + lam * l1));
  }
  let mid = NaN;
  for (let i = 1; i < n; i++) {
    if (lambdas[i]! >= 0.5) {
      const a = lambdas[i - 1]!;
      const b = lambdas[i]!;
      const t = lambdas[i] === 0.5 ? 1 : (0.5 - a) / (b - a);
      mid = (1 - t) * v[i - 1]! + t * v[i]!;
      break;
    }
  }
  return { maxMinusMean: max - mean, maxGapToLinear: gap, midpoint: mid - mean };
}

/** `n` evenly spaced values from 0 to 1 inclusive (git-re-basin uses 25). */
export function linspace01(n: number): number[] {
  if (!Number.isInteger(n) || n < 2) throw new Error(`linspace01: need an integer n >= 2, got ${n}`);
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? 1 : i / (n - 1)));
}
