/**
 * Singular value decomposition by one-sided Jacobi rotations (Hestenes 1958;
 * Golub & Van Loan, "Matrix Computations", 4th ed., section 8.6.3; Demmel,
 * "Applied Numerical Linear Algebra", Algorithm 5.5).
 *
 * The method orthogonalises the columns of a tall matrix B by plane rotations
 * applied from the right, B V = W. Once the columns of W are mutually
 * orthogonal, sigma_i = |w_i|, u_i = w_i / sigma_i and B = U diag(sigma) V^T.
 * It is slower than bidiagonalisation + QR iteration but short, easy to check,
 * and accurate (small singular values keep high relative accuracy).
 */
import type { NDArray } from '../ndarray.ts';
import { argMaxAbs, maxAbs, norm2, readMatrix, sortOrder, toNDArray, transposeF64 } from './dense.ts';
import { householderQR } from './qr.ts';

/** Options for {@link svd}. */
export interface SvdOptions {
  /** When true, U is m x m and Vt is n x n (orthonormal bases completed). Default false. */
  full?: boolean;
}

/** Dense result of {@link denseSVD}: `u` is m x uCols, `s` has k = min(m, n) values, `vt` is vtRows x n. */
export interface DenseSVD {
  u: Float64Array;
  s: Float64Array;
  vt: Float64Array;
  uCols: number;
  vtRows: number;
}

const EPS = Number.EPSILON;
/** A safety net only: Jacobi converges quadratically, typically in 5-12 sweeps. */
const MAX_SWEEPS = 100;

/**
 * One-sided Jacobi on the rows of `g` (k rows of length `len`; row i is column i
 * of the tall matrix B). Rotations are accumulated into the rows of `v` (k x k,
 * row i is column i of V). Returns the number of sweeps used.
 */
function oneSidedJacobi(g: Float64Array, v: Float64Array, k: number, len: number): number {
  // A pair counts as orthogonal when |g_p . g_q| <= tol |g_p| |g_q|; the dot product
  // itself carries a relative rounding error of order len * eps, so ask no more.
  const tol = Math.max(len, 4) * EPS;
  // Rows this small relative to the whole matrix are numerically zero; rotating
  // them only stirs rounding noise, so they are left alone.
  const nullTol = EPS * norm2(g);
  for (let sweep = 1; sweep <= MAX_SWEEPS; sweep++) {
    let rotated = false;
    for (let p = 0; p < k - 1; p++) {
      for (let q = p + 1; q < k; q++) {
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let i = 0; i < len; i++) {
          const x = g[p * len + i]!;
          const y = g[q * len + i]!;
          alpha += x * x;
          beta += y * y;
          gamma += x * y;
        }
        const normP = Math.sqrt(alpha);
        const normQ = Math.sqrt(beta);
        if (normP <= nullTol || normQ <= nullTol) continue;
        if (Math.abs(gamma) <= tol * normP * normQ) continue;
        // The rotation that diagonalises [[alpha, gamma], [gamma, beta]]; t = tan(theta)
        // is the smaller root of t^2 + 2 zeta t - 1 = 0, so |theta| <= pi/4.
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.hypot(1, zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        rotateRows(g, p, q, len, c, s);
        rotateRows(v, p, q, k, c, s);
        rotated = true;
      }
    }
    if (!rotated) return sweep;
  }
  return MAX_SWEEPS;
}

/** Rows p, q of a row-major matrix with `len` columns become c r_p - s r_q and s r_p + c r_q. */
function rotateRows(a: Float64Array, p: number, q: number, len: number, c: number, s: number): void {
  for (let i = 0; i < len; i++) {
    const x = a[p * len + i]!;
    const y = a[q * len + i]!;
    a[p * len + i] = c * x - s * y;
    a[q * len + i] = s * x + c * y;
  }
}

/**
 * Extends `r` orthonormal rows of length `len` to `total` orthonormal rows. The
 * new rows are the trailing columns of the complete Householder Q of the given
 * rows (as columns), so they are orthogonal to them to rounding error.
 */
function completeRows(rows: Float64Array, r: number, len: number, total: number): Float64Array {
  const out = new Float64Array(total * len);
  out.set(rows.subarray(0, r * len));
  if (total === r) return out;
  const { q } = householderQR(transposeF64(rows.subarray(0, r * len), r, len), len, r, true);
  for (let i = r; i < total; i++) {
    for (let j = 0; j < len; j++) out[i * len + j] = q[j * len + i]!;
  }
  return out;
}

/** Multiplies row i of a row-major matrix by -1. */
function negateRow(a: Float64Array, i: number, len: number): void {
  for (let j = 0; j < len; j++) a[i * len + j] = -a[i * len + j]!;
}

/**
 * SVD of a dense row-major m x n matrix (see {@link svd} for the conventions).
 * Also used by the randomized SVD on its small projected matrix.
 */
export function denseSVD(a: Float64Array, m: number, n: number, full: boolean): DenseSVD {
  const k = Math.min(m, n);
  const long = Math.max(m, n);
  const tall = m >= n;
  // Work on the tall orientation B (B = A when m >= n, else A^T), storing its
  // columns as the rows of g so every rotation touches contiguous memory.
  const g = tall ? transposeF64(a, m, n) : a.slice();
  // Scale to max |entry| = 1 so squared norms cannot overflow; undone on S.
  const scale = maxAbs(g);
  if (scale > 0) for (let i = 0; i < g.length; i++) g[i]! /= scale;
  const right = new Float64Array(k * k);
  for (let i = 0; i < k; i++) right[i * k + i] = 1;
  oneSidedJacobi(g, right, k, long);

  const norms = new Float64Array(k);
  for (let i = 0; i < k; i++) norms[i] = norm2(g, i * long, long);
  const order = sortOrder(norms, true);
  const s = new Float64Array(k);
  for (let i = 0; i < k; i++) s[i] = norms[order[i]!]! * scale;

  // Left vectors of B: normalised rows of g, then (for zero or negligible
  // singular values, which sort last) an orthonormal completion.
  const nullTol = EPS * norm2(g);
  const leftTotal = full ? long : k;
  const leftRows = new Float64Array(leftTotal * long);
  let rank = 0;
  while (rank < k && norms[order[rank]!]! > nullTol) {
    const src = order[rank]! * long;
    const inv = 1 / norms[order[rank]!]!;
    for (let j = 0; j < long; j++) leftRows[rank * long + j] = g[src + j]! * inv;
    rank++;
  }
  const left = completeRows(leftRows, rank, long, leftTotal);
  // Right vectors of B: the accumulated rotations, in the same order.
  const rightRows = new Float64Array(k * k);
  for (let i = 0; i < k; i++) rightRows.set(right.subarray(order[i]! * k, order[i]! * k + k), i * k);

  // A = B or A = B^T: swap the roles of the two factors for wide inputs.
  const uRows = tall ? left : rightRows;
  const uCount = tall ? leftTotal : k;
  const vt = tall ? rightRows : left;
  const vtRows = tall ? k : leftTotal;

  // Sign convention: each row of Vt has its largest-magnitude entry positive, and
  // the matching column of U flips with it so U diag(S) Vt is unchanged. Completed
  // basis vectors without a partner follow the same rule on their own.
  for (let i = 0; i < vtRows; i++) {
    if (vt[i * n + argMaxAbs(vt, i * n, n)]! < 0) {
      negateRow(vt, i, n);
      if (i < k) negateRow(uRows, i, m);
    }
  }
  for (let i = k; i < uCount; i++) {
    if (uRows[i * m + argMaxAbs(uRows, i * m, m)]! < 0) negateRow(uRows, i, m);
  }
  return { u: transposeF64(uRows, uCount, m), s, vt, uCols: uCount, vtRows };
}

/**
 * Singular value decomposition `A = U diag(S) Vt` of a 2-D float matrix,
 * computed in float64 by one-sided Jacobi rotations.
 *
 * - Thin (default): U is m x k, S has k values, Vt is k x n, with k = min(m, n).
 *   `full: true`: U is m x m and Vt is n x n.
 * - S is non-negative and descending. Rank-deficient inputs are fine: columns of
 *   U (or rows of Vt) belonging to zero singular values are still orthonormal.
 * - Sign convention (deterministic output): the largest-magnitude entry of each
 *   row of Vt is positive (the first one on a tie), and the matching column of U
 *   carries the compensating sign. In full mode, the extra columns of U (or rows
 *   of Vt) have their own largest-magnitude entry positive.
 * - Empty inputs return empty factors (k = 0); in full mode the completed bases
 *   are identities. NaN or Infinity in the input throws.
 *
 * @param a m x n matrix of any float dtype and any strides.
 * @example
 * const a = NDArray.fromTyped(new Float64Array([3, 0, 0, 0, 4, 0]), [2, 3]);
 * const { U, S, Vt } = svd(a);
 * // S: [4, 3]; U: [2, 2]; Vt: [2, 3]; U diag(S) Vt equals a
 */
export function svd(a: NDArray, options: SvdOptions = {}): { U: NDArray; S: NDArray; Vt: NDArray } {
  const { data, rows: m, cols: n } = readMatrix(a, 'svd');
  const res = denseSVD(data, m, n, options.full ?? false);
  return {
    U: toNDArray(res.u, [m, res.uCols]),
    S: toNDArray(res.s, [res.s.length]),
    Vt: toNDArray(res.vt, [res.vtRows, n]),
  };
}
