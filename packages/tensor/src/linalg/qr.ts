/**
 * QR decomposition by Householder reflections (Golub & Van Loan, "Matrix
 * Computations", 4th ed., section 5.1.2 for the reflector and Algorithm 5.2.1
 * for the factorisation; Q is formed by backward accumulation, section 5.1.6).
 */
import type { NDArray } from '../ndarray.ts';
import { readMatrix, toNDArray } from './dense.ts';

/** Options for {@link qr}. */
export interface QrOptions {
  /**
   * `'reduced'` (default): Q is m x k and R is k x n with k = min(m, n).
   * `'complete'`: Q is m x m and R is m x n.
   */
  mode?: 'reduced' | 'complete';
}

/** Dense result of {@link householderQR}: `q` is m x qCols, `r` is rRows x n. */
export interface DenseQR {
  q: Float64Array;
  r: Float64Array;
  qCols: number;
  rRows: number;
}

/**
 * Householder QR of a dense row-major m x n matrix (the input is not modified).
 * Returns Q with orthonormal columns and upper-triangular R with A = Q R. Q is
 * orthonormal to rounding error even when A is rank deficient, which the SVD
 * and randomized SVD rely on.
 */
export function householderQR(a: Float64Array, m: number, n: number, complete: boolean): DenseQR {
  const r = a.slice();
  const k = Math.min(m, n);
  // Reflector j is H_j = I - tau_j v_j v_j^T acting on rows j..m-1, with v_j[0] = 1.
  const vs: Float64Array[] = [];
  const taus = new Float64Array(k);

  for (let j = 0; j < k; j++) {
    const len = m - j;
    let tailMax = 0;
    for (let i = 1; i < len; i++) tailMax = Math.max(tailMax, Math.abs(r[(j + i) * n + j]!));
    const v = new Float64Array(len);
    v[0] = 1;
    vs.push(v);
    // Nothing below the diagonal: the column is already reduced, use H_j = I.
    if (tailMax === 0) continue;

    // v and tau do not change when x is scaled, so work with x / max|x_i|: the
    // norm cannot overflow, and tiny (even subnormal) columns keep full precision.
    const scale = Math.max(tailMax, Math.abs(r[j * n + j]!));
    const alpha = r[j * n + j]! / scale;
    let sumSq = alpha * alpha;
    for (let i = 1; i < len; i++) {
      const t = r[(j + i) * n + j]! / scale;
      v[i] = t;
      sumSq += t * t;
    }
    const norm = Math.sqrt(sumSq);
    // The new diagonal takes the sign opposite to alpha so alpha - beta does not cancel.
    const beta = alpha >= 0 ? -norm : norm;
    const tau = (beta - alpha) / beta;
    const pivot = alpha - beta;
    for (let i = 1; i < len; i++) v[i]! /= pivot;
    taus[j] = tau;

    // Apply H_j to the remaining columns j+1..n-1.
    for (let c = j + 1; c < n; c++) {
      let w = 0;
      for (let i = 0; i < len; i++) w += v[i]! * r[(j + i) * n + c]!;
      w *= tau;
      if (w === 0) continue;
      for (let i = 0; i < len; i++) r[(j + i) * n + c]! -= w * v[i]!;
    }
    r[j * n + j] = beta * scale;
    for (let i = 1; i < len; i++) r[(j + i) * n + j] = 0;
  }

  // Q = H_0 H_1 ... H_{k-1} applied to the first qCols columns of the identity,
  // accumulated from the last reflector back so each step touches rows j.. only.
  const qCols = complete ? m : k;
  const q = new Float64Array(m * qCols);
  for (let i = 0; i < qCols; i++) q[i * qCols + i] = 1;
  for (let j = k - 1; j >= 0; j--) {
    const tau = taus[j]!;
    if (tau === 0) continue;
    const v = vs[j]!;
    const len = m - j;
    for (let c = j; c < qCols; c++) {
      let w = 0;
      for (let i = 0; i < len; i++) w += v[i]! * q[(j + i) * qCols + c]!;
      w *= tau;
      if (w === 0) continue;
      for (let i = 0; i < len; i++) q[(j + i) * qCols + c]! -= w * v[i]!;
    }
  }

  const rRows = complete ? m : k;
  return { q, r: complete ? r : r.slice(0, k * n), qCols, rRows };
}

/**
 * QR decomposition `A = Q R` of a 2-D float matrix by Householder reflections,
 * computed in float64. Q has orthonormal columns and R is upper triangular (the
 * diagonal of R may be negative). Empty matrices give empty factors (for an
 * m x 0 input, complete mode returns Q = I).
 *
 * @param a m x n matrix of any float dtype and any strides.
 * @returns float64 `Q` (m x k, or m x m in complete mode) and `R` (k x n, or
 * m x n), with k = min(m, n).
 * @example
 * const { Q, R } = qr(NDArray.fromTyped(new Float64Array([1, 2, 3, 4, 5, 6]), [3, 2]));
 * // Q: [3, 2] with Q^T Q = I; R: [2, 2] upper triangular; Q R equals the input
 */
export function qr(a: NDArray, options: QrOptions = {}): { Q: NDArray; R: NDArray } {
  const mode = options.mode ?? 'reduced';
  if (mode !== 'reduced' && mode !== 'complete') {
    throw new Error(`qr: mode must be 'reduced' or 'complete', got '${String(mode)}'`);
  }
  const { data, rows: m, cols: n } = readMatrix(a, 'qr');
  const res = householderQR(data, m, n, mode === 'complete');
  return { Q: toNDArray(res.q, [m, res.qCols]), R: toNDArray(res.r, [res.rRows, n]) };
}
