/**
 * Randomized truncated SVD in float32 through the Gram matrix of the smaller side:
 * the same randomized subspace iteration as {@link svdLowRank} (Halko, Martinsson &
 * Tropp 2011, Algorithms 4.4 and 5.1), rearranged so that the only product touching
 * the long side of A is one Gram matrix, computed on the active backend's matmul
 * (the fast backend's WebAssembly SIMD GEMM for float32).
 *
 * For an m x n matrix A with s = min(m, n), let G be the s x s Gram matrix (A A^T when
 * m <= n, else A^T A). Subspace iteration on A alternates products with A and A^T, and
 * every pair of them is one product with G, so
 *  1. Q = orth(G Omega) for an s x r Gaussian Omega, then Q <- orth(G Q), niter times
 *     (the first product with A of the plain algorithm becomes one more power of G; like
 *     torch's `get_approximate_basis`, Omega itself is not orthonormalised: a Gaussian
 *     s x r block is well conditioned, and only the span matters);
 *  2. H = Q^T G Q (r x r) = B B^T for B = Q^T A, whose eigenpairs (lambda_i, w_i) give
 *     sigma_i = sqrt(lambda_i) and the Ritz vectors y_i = Q w_i;
 *  3. when A is tall, y_i is a right singular vector; when A is wide, y_i is a left one
 *     and v_i = A^T y_i / sigma_i (one more float32 product, only for the vectors asked),
 *     re-orthonormalised by Gram-Schmidt in float64.
 *
 * Everything of size s x r or r x r (the QRs, the small eigenproblem, the Ritz vectors)
 * stays in float64; only the products with the data are float32. Forming G squares the
 * condition number, so a direction is only resolved when its singular value is not too
 * small against the largest: with float32 rounding u ~ 6e-8, the error of v_i grows
 * like u * sigma_1^2 / (sigma_i * gap). Directions with sigma_i <= rtol * sigma_1 are
 * reported as unresolved (zero rows in Vt), so a caller can fall back to float64.
 */
import { NDArray } from '../ndarray.ts';
import { isFloat } from '../dtype.ts';
import { matmul } from '../ops/matmul.ts';
import { Rng } from '../random.ts';
import { shapeToString } from '../shape.ts';
import { eigh } from './eigh.ts';
import { householderQR } from './qr.ts';
import { identityF64, transposeF64 } from './dense.ts';

/** Options for {@link svdLowRankGram}; q, niter and seed mean what they mean for `svdLowRank`. */
export interface SvdLowRankGramOptions {
  /** Columns of the Gaussian test matrix: the rank returned (clipped to min(m, n)). Default 6. */
  q?: number;
  /** Power iterations (each one product with the Gram matrix). Default 2. */
  niter?: number;
  /** Seed of the Gaussian test matrix. Default 0. */
  seed?: number;
  /** How many right singular vectors to return (the leading ones). Default: all r. */
  vectors?: number;
  /** Singular values at or below rtol * S[0] count as unresolved. Default 1e-3. */
  rtol?: number;
}

/** What {@link svdLowRankGram} returns. */
export interface SvdLowRankGramResult {
  /** The r approximate singular values, descending, float64. */
  S: NDArray;
  /** The leading right singular vectors as rows, vectors x n (float64, orthonormal); unresolved rows are zero. */
  Vt: NDArray;
  /** How many leading singular values are above rtol * S[0] (0 for a zero matrix). */
  resolved: number;
}

function checkCount(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`svdLowRankGram: ${name} must be a non-negative integer, got ${value}`);
  }
}

/** The s x s float32 Gram matrix of the smaller side, as float64 (symmetrised). */
function gramOfSmallerSide(a: NDArray, wide: boolean, s: number): Float64Array {
  const g = (wide ? matmul(a, a.transpose(0, 1)) : matmul(a.transpose(0, 1), a)).toTyped();
  const out = new Float64Array(s * s);
  // Both triangles come from the same dot products summed in possibly different orders;
  // averaging makes the small eigenproblem exactly symmetric.
  for (let i = 0; i < s; i++) {
    out[i * s + i] = g[i * s + i]!;
    for (let j = i + 1; j < s; j++) out[i * s + j] = out[j * s + i] = 0.5 * (g[i * s + j]! + g[j * s + i]!);
  }
  return out;
}

/**
 * (G Q)^T for the symmetric s x s Gram G (float32 copy `g32`) and Q stored as r rows of
 * length s: since G = G^T, (G Q)^T = Q^T G, one r x s by s x s product on the backend.
 */
function gramTimesRows(g32: NDArray, qRows: Float64Array, r: number, s: number): Float64Array {
  return matmul(NDArray.fromTyped(Float32Array.from(qRows), [r, s]), g32).toFloat64Array();
}

/** dot(row i of a, row j of b), rows of length len. */
function rowDot(a: Float64Array, i: number, b: Float64Array, j: number, len: number): number {
  let acc = 0;
  const ai = i * len;
  const bj = j * len;
  for (let t = 0; t < len; t++) acc += a[ai + t]! * b[bj + t]!;
  return acc;
}

/**
 * Orthonormalises r rows of length s in place by Cholesky QR computed row by row
 * (Y Y^T = R^T R, Y <- R^-T Y is Gram-Schmidt in modified order): every loop runs over
 * contiguous rows, which is why it beats the column-wise Householder QR here. One pass
 * leaves an orthogonality error of about eps * cond(Y)^2; a second pass runs when the
 * smallest pivot says cond(Y) may exceed about 1e3. Returns false, with `y` partly
 * changed, when a row is nearly in the span of the earlier ones (cond(Y) beyond about
 * 1e6), and the caller uses the Householder QR instead. `maxPasses` 1 skips the second
 * pass: enough for the intermediate bases of the subspace iteration, which only need to
 * span the right space with a condition number near 1 (an orthogonality error of
 * eps * 1e6 is harmless there); the basis that Rayleigh-Ritz uses gets up to two.
 */
function choleskyQRRows(y: Float64Array, r: number, s: number, maxPasses: number): boolean {
  for (let pass = 0; pass < maxPasses; pass++) {
    let worst = 1;
    for (let i = 0; i < r; i++) {
      const diag = rowDot(y, i, y, i, s);
      let rest = diag;
      for (let j = 0; j < i; j++) {
        const c = rowDot(y, j, y, i, s);
        rest -= c * c;
        for (let t = 0; t < s; t++) y[i * s + t]! -= c * y[j * s + t]!;
      }
      if (!(rest > 1e-12 * diag) || diag === 0) return false;
      worst = Math.min(worst, rest / diag);
      const norm = Math.sqrt(rowDot(y, i, y, i, s));
      for (let t = 0; t < s; t++) y[i * s + t]! /= norm;
    }
    // rest / diag ~ 1 / cond^2 for the worst row: at 1e-6 one pass is already at eps * 1e6.
    if (worst > 1e-6) break;
  }
  return true;
}

/**
 * r orthonormal rows spanning the rows of `y` (r x s): Cholesky QR (one pass, or two when
 * `final` and the rows are ill conditioned), else Householder.
 */
function orthonormalRows(y: Float64Array, r: number, s: number, final: boolean): Float64Array {
  const work = y.slice();
  if (choleskyQRRows(work, r, s, final ? 2 : 1)) return work;
  const q = householderQR(transposeF64(y, r, s), s, r, false).q; // s x r
  return transposeF64(q, s, r);
}

/**
 * Approximate rank-q SVD `A ~ U diag(S) V^T` of a float matrix, computed in float32
 * through the Gram matrix of its smaller side (see the file comment for the method and
 * its precision). Returns S (r = min(q, m, n) values), the first `vectors` right singular
 * vectors as the rows of Vt (each sign as it comes: no sign convention is applied) and how
 * many singular values are resolved; deterministic for a given seed.
 *
 * @param a m x n float matrix (float64 input is rounded to float32 first).
 * @example
 * const a = NDArray.fromTyped(new Float32Array([3, 0, 0, 0, 4, 0]), [2, 3]);
 * const { S, Vt, resolved } = svdLowRankGram(a, { q: 2 });
 * // S ~ [4, 3]; Vt: [2, 3] ~ [[0, ±1, 0], [±1, 0, 0]]; resolved: 2
 */
export function svdLowRankGram(a: NDArray, options: SvdLowRankGramOptions = {}): SvdLowRankGramResult {
  const { q = 6, niter = 2, seed = 0, rtol = 1e-3 } = options;
  checkCount(q, 'q');
  checkCount(niter, 'niter');
  if (a.ndim !== 2) throw new Error(`svdLowRankGram: expected a 2-D matrix, got shape ${shapeToString(a.shape)}`);
  if (!isFloat(a.dtype)) throw new TypeError(`svdLowRankGram: expected a float32 or float64 matrix, got ${a.dtype} of shape ${shapeToString(a.shape)}`);
  if (!(rtol >= 0 && rtol < 1)) throw new RangeError(`svdLowRankGram: rtol must be in [0, 1), got ${rtol}`);
  const m = a.shape[0]!;
  const n = a.shape[1]!;
  const r = Math.min(q, m, n);
  const vectors = options.vectors ?? r;
  if (!Number.isInteger(vectors) || vectors < 0 || vectors > r) {
    throw new RangeError(`svdLowRankGram: vectors must be an integer in [0, ${r}] for shape ${shapeToString(a.shape)} and q=${q}, got ${vectors}`);
  }
  const a32 = a.dtype === 'float32' ? a.contiguous() : a.astype('float32');
  const data = a32.data as Float32Array;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) throw new RangeError(`svdLowRankGram: the matrix of shape ${shapeToString(a.shape)} contains NaN or Infinity (in float32)`);
  }
  const wide = m <= n;
  const s = Math.min(m, n);
  if (r === 0) return { S: NDArray.fromTyped(new Float64Array(0), [0]), Vt: NDArray.fromTyped(new Float64Array(vectors * n), [vectors, n]), resolved: 0 };

  const g = gramOfSmallerSide(a32, wide, s);
  let h: Float64Array;
  let basis: Float64Array; // r orthonormal rows of length s
  if (r === s) {
    // The subspace is the whole space: the iteration would only rotate an orthonormal
    // basis of it, and Rayleigh-Ritz on it is the eigendecomposition of G itself.
    basis = identityF64(s);
    h = g;
  } else {
    const g32 = NDArray.fromTyped(Float32Array.from(g), [s, s]);
    const rng = new Rng(seed);
    const omega = new Float64Array(s * r);
    for (let i = 0; i < omega.length; i++) omega[i] = rng.normal();
    // omega is drawn s x r row by row, as svdLowRank draws its test matrix; we keep its transpose.
    basis = transposeF64(omega, s, r);
    for (let it = 0; it <= niter; it++) basis = orthonormalRows(gramTimesRows(g32, basis, r, s), r, s, it === niter);
    // Rayleigh-Ritz on span(Q): H = Q^T (G Q), in float64 from (G Q)^T.
    const gq = gramTimesRows(g32, basis, r, s);
    h = new Float64Array(r * r);
    for (let i = 0; i < r; i++) {
      for (let j = i; j < r; j++) h[i * r + j] = h[j * r + i] = rowDot(basis, i, gq, j, s);
    }
  }
  const eig = eigh(NDArray.fromTyped(h, [r, r]), { order: 'descending' });
  const lambda = eig.values.toFloat64Array();
  const w = eig.vectors.toFloat64Array();
  const sv = lambda.map((l) => Math.sqrt(Math.max(l, 0)));
  let resolved = 0;
  while (resolved < r && sv[resolved]! > rtol * sv[0]! && sv[resolved]! > 0) resolved++;

  // Ritz vectors y_c = Q w_c for the vectors asked, as rows (vectors x s).
  const y = new Float64Array(vectors * s);
  for (let c = 0; c < vectors; c++) {
    for (let t = 0; t < r; t++) {
      const wtc = w[t * r + c]!;
      if (wtc === 0) continue;
      for (let p = 0; p < s; p++) y[c * s + p]! += wtc * basis[t * s + p]!;
    }
  }
  let vt: Float64Array;
  if (!wide) {
    vt = y;
  } else {
    // v_c^T = y_c^T A / sigma_c: one float32 product (vectors x m times m x n), then a
    // Gram-Schmidt pass in float64 whose normalisation is the division by sigma_c and
    // which restores the orthonormality lost to float32 rounding (leading rows first:
    // they are the most accurate).
    vt = matmul(NDArray.fromTyped(Float32Array.from(y), [vectors, m]), a32).toFloat64Array();
    for (let c = 0; c < Math.min(vectors, resolved); c++) {
      const row = c * n;
      for (let prev = 0; prev < c; prev++) {
        let dot = 0;
        for (let j = 0; j < n; j++) dot += vt[prev * n + j]! * vt[row + j]!;
        for (let j = 0; j < n; j++) vt[row + j]! -= dot * vt[prev * n + j]!;
      }
      let ss = 0;
      for (let j = 0; j < n; j++) ss += vt[row + j]! * vt[row + j]!;
      const inv = 1 / Math.sqrt(ss);
      for (let j = 0; j < n; j++) vt[row + j]! *= inv;
    }
  }
  vt.fill(0, Math.min(vectors, resolved) * n);
  return { S: NDArray.fromTyped(sv, [r]), Vt: NDArray.fromTyped(vt, [vectors, n]), resolved };
}
