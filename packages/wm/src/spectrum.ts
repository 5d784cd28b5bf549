/**
 * Singular values and singular-vector alignment of weight matrices (Ito, Yamada, Kumagai,
 * "Analysis of Linear Mode Connectivity via Permutation-Based Weight Matching", ICLR 2025).
 *
 * A permutation maps W_B = U S V^T to P W_B P'^T = (P U) S (P' V)^T: the singular values stay,
 * the singular vectors are permuted. Ito et al. argue that WM works by aligning the singular
 * vectors of large singular values, and measure it with
 *
 *   R(gamma) = sum_l sum_{i, j in S_l(gamma)} (u_i^A . P_l u_j^B)(v_i^A . P_{l-1} v_j^B) / sum_l n_l.
 *
 * Only second-hand quotes of the paper's formula were available to us (its reviews quote R with
 * the sum over all pairs i, j and report it at gamma = 0 and 0.3), so the set S_l(gamma) is our
 * reading:
 * S_l(gamma) = { i : sigma_i^A >= gamma sigma_max^A and sigma_i^B >= gamma sigma_max^B }, a prefix of
 * the descending spectra, and n_l = |S_l(gamma)|; i and j both range over S_l(gamma), cross terms
 * included. Then R = 1 when pi(B) = A (each diagonal term is 1, the off-diagonal ones 0), R is near
 * 0 for unrelated random matrices, and each term is unchanged by flipping the sign of a singular
 * pair (u_j, v_j) together.
 *
 * Per layer the sum equals <U_S^A^T P U_S^B, V_S^A^T P' V_S^B>_F, and both factors are n_l x n_l
 * blocks of orthogonal matrices (Frobenius norm^2 <= n_l), so by Cauchy-Schwarz |R| <= 1 per layer
 * and overall. The `variant: 'diagonal'` alternative keeps only the i = j terms (the reading in
 * which R counts "pairs aligned with their own partner"); it obeys the same bounds.
 */
import type { StateDict } from '@tsgrad/nn';
import { matmul, NDArray, svd } from '@tsgrad/tensor';
import { takeBlocks } from './axis-blocks.ts';
import { axisEntry, type Permutation, type PermutationSpec } from './spec.ts';

/** A thin SVD W = U diag(s) Vt of one m x n weight, row-major float64. */
export interface LayerSVD {
  m: number;
  n: number;
  /** m x k, row-major. */
  u: Float64Array;
  /** k values, descending. */
  s: Float64Array;
  /** k x n, row-major. */
  vt: Float64Array;
}

/**
 * The 2-D parameters of the spec (the weight matrices whose spectra are analysed), in spec order.
 * @example weightMatrixKeys(mlpPermutationSpec(sd), sd); // ['layers.0.weight', ...]
 */
export function weightMatrixKeys(spec: PermutationSpec, params: StateDict): string[] {
  return Object.keys(spec.axesToPerm).filter((k) => params[k] !== undefined && params[k]!.ndim === 2);
}

/**
 * Thin SVDs of the given 2-D parameters (float64, one-sided Jacobi from @tsgrad/tensor).
 * @example const svdsA = layerSVDs(sdA, weightMatrixKeys(spec, sdA));
 */
export function layerSVDs(params: StateDict, keys: readonly string[]): Record<string, LayerSVD> {
  const out: Record<string, LayerSVD> = {};
  for (const key of keys) {
    const w = params[key];
    if (w === undefined || w.ndim !== 2) throw new Error(`layerSVDs: '${key}' is missing or not 2-D`);
    const { U, S, Vt } = svd(w);
    out[key] = {
      m: w.shape[0]!,
      n: w.shape[1]!,
      u: U.toFloat64Array(),
      s: S.toFloat64Array(),
      vt: Vt.toFloat64Array(),
    };
  }
  return out;
}

/**
 * Singular values (descending) of each given 2-D parameter.
 * @example singularValues(sd, ['layers.0.weight'])['layers.0.weight']![0]; // sigma_max
 */
export function singularValues(params: StateDict, keys: readonly string[]): Record<string, Float64Array> {
  const out: Record<string, Float64Array> = {};
  for (const key of keys) {
    const w = params[key];
    if (w === undefined || w.ndim !== 2) throw new Error(`singularValues: '${key}' is missing or not 2-D`);
    out[key] = svd(w).S.toFloat64Array();
  }
  return out;
}

/**
 * max over layers and indices of |sigma_a - sigma_b| (spectra of the same keys and lengths).
 * @example maxAbsSpectrumDiff(singularValues(sdB, keys), singularValues(permutedB, keys)); // ~1e-14
 */
export function maxAbsSpectrumDiff(a: Record<string, Float64Array>, b: Record<string, Float64Array>): number {
  let m = 0;
  for (const [k, sa] of Object.entries(a)) {
    const sb = b[k];
    if (sb === undefined || sb.length !== sa.length) {
      throw new Error(`maxAbsSpectrumDiff: '${k}' has ${sa.length} singular values in the first set, ${sb?.length ?? 'none'} in the second`);
    }
    for (let i = 0; i < sa.length; i++) m = Math.max(m, Math.abs(sa[i]! - sb[i]!));
  }
  return m;
}

/** Which singular-vector pairs R sums: all (i, j) (the paper's cross terms) or only i = j. */
export type AlignmentVariant = 'cross' | 'diagonal';

export interface AlignmentResult {
  gammas: number[];
  /** R(gamma) over all layers, one value per gamma. */
  overall: number[];
  /** Per layer: R restricted to that layer (its sum / its n_l), one value per gamma. */
  perLayer: Record<string, number[]>;
  /** Per layer: n_l(gamma). */
  counts: Record<string, number[]>;
}

/**
 * R(gamma) between A and pi(B) from their layer SVDs (see the file comment for the definition).
 * `perm` is the permutation applied to B (null: none, R "without permutation"); the SVD of pi(B)
 * is obtained by permuting B's singular vectors, which is exact.
 * @example
 * const keys = weightMatrixKeys(spec, sdA);
 * const r = alignmentR(spec, layerSVDs(sdA, keys), layerSVDs(sdB, keys), wm.perm, [0, 0.3, 0.5, 0.7]);
 * r.overall; // one R per gamma
 * alignmentR(spec, svdsA, svdsB, wm.perm, [0.3], { variant: 'diagonal' }); // i = j terms only
 */
export function alignmentR(
  spec: PermutationSpec,
  svdA: Record<string, LayerSVD>,
  svdB: Record<string, LayerSVD>,
  perm: Permutation | null,
  gammas: readonly number[],
  opts: { variant?: AlignmentVariant } = {},
): AlignmentResult {
  const variant = opts.variant ?? 'cross';
  if (variant !== 'cross' && variant !== 'diagonal') throw new Error(`alignmentR: variant must be 'cross' or 'diagonal', got '${String(variant)}'`);
  const num = gammas.map(() => 0);
  const den = gammas.map(() => 0);
  const perLayer: Record<string, number[]> = {};
  const counts: Record<string, number[]> = {};
  for (const [key, a] of Object.entries(svdA)) {
    const b = svdB[key];
    if (b === undefined || b.m !== a.m || b.n !== a.n) {
      throw new Error(`alignmentR: '${key}' is [${a.m}, ${a.n}] in A but ${b ? `[${b.m}, ${b.n}]` : 'missing'} in B`);
    }
    const { m, n } = a;
    const k = a.s.length;
    const axes = spec.axesToPerm[key] ?? [null, null];
    let ub = NDArray.fromTyped(b.u, [m, k]);
    let vtb = NDArray.fromTyped(b.vt, [k, n]);
    if (perm !== null) {
      const eo = axisEntry(axes[0] ?? null);
      const ei = axisEntry(axes[1] ?? null);
      if (eo !== null) {
        const p = perm[eo.id];
        if (p === undefined) throw new Error(`alignmentR: no permutation '${eo.id}' (needed by '${key}')`);
        ub = takeBlocks(ub, 0, p, eo.group);
      }
      if (ei !== null) {
        const p = perm[ei.id];
        if (p === undefined) throw new Error(`alignmentR: no permutation '${ei.id}' (needed by '${key}')`);
        vtb = takeBlocks(vtb, 1, p, ei.group);
      }
    }
    // Mu[i][j] = u_i^A . P u_j^B and Mv[i][j] = v_i^A . P' v_j^B, i.e. Mu = U_A^T (P U_B), Mv = Vt_A (Vt_B P'^T)^T.
    const mu = matmul(NDArray.fromTyped(a.u, [m, k]).transpose(0, 1), ub).toFloat64Array();
    const mv = matmul(NDArray.fromTyped(a.vt, [k, n]), vtb.transpose(0, 1)).toFloat64Array();
    const maxA = a.s[0] ?? 0;
    const maxB = b.s[0] ?? 0;
    perLayer[key] = [];
    counts[key] = [];
    gammas.forEach((g, gi) => {
      let nl = 0;
      while (nl < k && a.s[nl]! >= g * maxA && b.s[nl]! >= g * maxB) nl++;
      let s = 0;
      if (variant === 'diagonal') for (let i = 0; i < nl; i++) s += mu[i * k + i]! * mv[i * k + i]!;
      else for (let i = 0; i < nl; i++) for (let j = 0; j < nl; j++) s += mu[i * k + j]! * mv[i * k + j]!;
      num[gi]! += s;
      den[gi]! += nl;
      perLayer[key]!.push(nl > 0 ? s / nl : 0);
      counts[key]!.push(nl);
    });
  }
  return {
    gammas: [...gammas],
    overall: num.map((s, i) => (den[i]! > 0 ? s / den[i]! : 0)),
    perLayer,
    counts,
  };
}
