/**
 * Symmetric eigendecomposition by the cyclic Jacobi eigenvalue algorithm
 * (Jacobi 1846; Golub & Van Loan, "Matrix Computations", 4th ed., sections
 * 8.5.2-8.5.3). Each step zeroes one off-diagonal pair (p, q) with a plane
 * rotation, A <- J^T A J, and accumulates V <- V J; sweeps repeat over all pairs
 * until every off-diagonal entry is negligible. Simple and very accurate; the
 * cost is O(n^3) per sweep, with typically 5-10 sweeps.
 */
import type { NDArray } from '../ndarray.ts';
import { shapeToString } from '../shape.ts';
import { argMaxAbs, identityF64, maxAbs, norm2, readMatrix, sortOrder, toNDArray } from './dense.ts';

/** Options for {@link eigh}. */
export interface EighOptions {
  /** Order of the eigenvalues (and of the eigenvector columns). Default `'ascending'`. */
  order?: 'ascending' | 'descending';
}

const EPS = Number.EPSILON;
/** A safety net only: cyclic Jacobi converges quadratically. */
const MAX_SWEEPS = 100;

/**
 * Eigen-decomposition of a dense row-major symmetric n x n matrix (modified in
 * place). Returns unsorted eigenvalues and V (n x n, eigenvectors in columns).
 */
function jacobiEigen(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const v = identityF64(n);
  // Off-diagonal entries below eps * |A|_F are at the level of rounding noise in
  // the eigenvalues; rotating them cannot improve the result.
  const threshold = EPS * norm2(a);
  for (let sweep = 0; sweep < MAX_SWEEPS; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (Math.abs(apq) <= threshold) continue;
        // Symmetric 2x2 Schur decomposition (GvL Algorithm 8.5.1): choose
        // t = tan(theta) as the smaller root of t^2 + 2 tau t - 1 = 0.
        const tau = (a[q * n + q]! - a[p * n + p]!) / (2 * apq);
        const t = (tau >= 0 ? 1 : -1) / (Math.abs(tau) + Math.hypot(1, tau));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = t * c;
        // A <- A J (columns p and q), then A <- J^T A (rows p and q).
        for (let i = 0; i < n; i++) {
          const x = a[i * n + p]!;
          const y = a[i * n + q]!;
          a[i * n + p] = c * x - s * y;
          a[i * n + q] = s * x + c * y;
        }
        for (let j = 0; j < n; j++) {
          const x = a[p * n + j]!;
          const y = a[q * n + j]!;
          a[p * n + j] = c * x - s * y;
          a[q * n + j] = s * x + c * y;
        }
        // The rotation zeroes this pair exactly in exact arithmetic.
        a[p * n + q] = 0;
        a[q * n + p] = 0;
        for (let i = 0; i < n; i++) {
          const x = v[i * n + p]!;
          const y = v[i * n + q]!;
          v[i * n + p] = c * x - s * y;
          v[i * n + q] = s * x + c * y;
        }
        rotated = true;
      }
    }
    if (!rotated) break;
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i * n + i]!;
  return { values, vectors: v };
}

/**
 * Eigenvalues and eigenvectors of a real symmetric matrix, `A = V diag(w) V^T`,
 * computed in float64 by the cyclic Jacobi method.
 *
 * Only the symmetric part (A + A^T) / 2 is used, so a matrix that is symmetric
 * up to rounding (for example X^T X computed in float32) is handled gracefully.
 * Eigenvectors are the columns of `vectors`; each has its largest-magnitude
 * entry positive (the first one on a tie) so the result is deterministic. An
 * empty 0 x 0 input returns empty results. NaN or Infinity in the input throws.
 *
 * @param a n x n symmetric matrix of any float dtype and any strides.
 * @returns `values` (length n, float64) and `vectors` (n x n, float64).
 * @example
 * const a = NDArray.fromTyped(new Float64Array([2, 1, 1, 2]), [2, 2]);
 * const { values, vectors } = eigh(a); // values: [1, 3]
 * eigh(a, { order: 'descending' }).values; // [3, 1]
 */
export function eigh(a: NDArray, options: EighOptions = {}): { values: NDArray; vectors: NDArray } {
  const order = options.order ?? 'ascending';
  if (order !== 'ascending' && order !== 'descending') {
    throw new Error(`eigh: order must be 'ascending' or 'descending', got '${String(order)}'`);
  }
  const { data, rows: n, cols } = readMatrix(a, 'eigh');
  if (n !== cols) throw new Error(`eigh: expected a square matrix, got shape ${shapeToString(a.shape)}`);

  // Symmetrise, and scale to max |entry| = 1 so nothing overflows (undone on w).
  const sym = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) sym[i * n + j] = 0.5 * data[i * n + j]! + 0.5 * data[j * n + i]!;
  }
  const scale = maxAbs(sym);
  if (scale > 0) for (let i = 0; i < sym.length; i++) sym[i]! /= scale;
  const { values, vectors } = jacobiEigen(sym, n);

  const perm = sortOrder(values, order === 'descending');
  const w = new Float64Array(n);
  const vOut = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const src = perm[j]!;
    w[j] = values[src]! * scale;
    const sign = vectors[argMaxAbs(vectors, src, n, n) * n + src]! < 0 ? -1 : 1;
    for (let i = 0; i < n; i++) vOut[i * n + j] = sign * vectors[i * n + src]!;
  }
  return { values: toNDArray(w, [n]), vectors: toNDArray(vOut, [n, n]) };
}
