/**
 * Randomized truncated SVD: Halko, Martinsson & Tropp, "Finding structure with
 * randomness" (SIAM Review 2011), Algorithm 4.4 (randomized subspace iteration)
 * to find an orthonormal basis Q of the dominant column space, followed by
 * Algorithm 5.1 (direct SVD of the small matrix B = Q^T A).
 */
import type { NDArray } from '../ndarray.ts';
import { Rng } from '../random.ts';
import { matmulF64, readMatrix, toNDArray, transposeF64 } from './dense.ts';
import { householderQR } from './qr.ts';
import { denseSVD } from './svd.ts';

/** Options for {@link svdLowRank}; the defaults match `torch.svd_lowrank`. */
export interface SvdLowRankOptions {
  /** Columns of the Gaussian test matrix, i.e. the rank returned (clipped to min(m, n)). Default 6. */
  q?: number;
  /** Power (subspace) iterations; more sharpen a slowly decaying spectrum. Default 2. */
  niter?: number;
  /** Seed of the Gaussian test matrix, so equal seeds give equal results. Default 0. */
  seed?: number;
  /** Subtract the column means first (the mean over rows), as `torch.pca_lowrank` does. Default false. */
  center?: boolean;
}

/** The orthonormal Q (rows x cols) of the reduced Householder QR of a tall matrix. */
function orthonormalBasis(y: Float64Array, rows: number, cols: number): Float64Array {
  return householderQR(y, rows, cols, false).q;
}

function checkCount(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`svdLowRank: ${name} must be a non-negative integer, got ${value}`);
  }
}

/**
 * Approximate rank-q SVD `A ~ U diag(S) V^T` by randomized subspace iteration,
 * with the semantics of `torch.svd_lowrank`: `V` is returned (not its
 * transpose), and q is the number of columns of the random test matrix.
 *
 * With r = min(q, m, n): U is m x r, S has r values (non-negative, descending),
 * V is n x r, all float64. The result is exact (to rounding) when rank(A) <= q;
 * otherwise it approximates the top r singular triplets, better with more
 * `niter` or a larger q than the rank you need. The Gaussian test matrix is
 * drawn row by row (n x r) from `new Rng(seed).normal()`, so it is
 * deterministic; the sign convention of {@link svd} applies to the columns of V.
 *
 * @param a m x n matrix of any float dtype and any strides.
 * @example
 * const a = NDArray.fromTyped(new Float64Array([1, 2, 2, 4, 3, 6]), [3, 2]); // rank 1
 * const { U, S, V } = svdLowRank(a, { q: 1 });
 * // U: [3, 1], S: [1] = [sqrt(70)], V: [2, 1]
 */
export function svdLowRank(a: NDArray, options: SvdLowRankOptions = {}): { U: NDArray; S: NDArray; V: NDArray } {
  const { q = 6, niter = 2, seed = 0, center = false } = options;
  checkCount(q, 'q');
  checkCount(niter, 'niter');
  const { data, rows: m, cols: n } = readMatrix(a, 'svdLowRank');
  if (center && m > 0) {
    for (let j = 0; j < n; j++) {
      let mean = 0;
      for (let i = 0; i < m; i++) mean += data[i * n + j]!;
      mean /= m;
      for (let i = 0; i < m; i++) data[i * n + j]! -= mean;
    }
  }
  const r = Math.min(q, m, n);
  const at = transposeF64(data, m, n);

  // Stage A (HMT Algorithm 4.4): Q spans range((A A^T)^niter A Omega), with a QR
  // after every product so the columns do not all collapse onto the top
  // singular vector in floating point.
  const rng = new Rng(seed);
  const omega = new Float64Array(n * r);
  for (let i = 0; i < omega.length; i++) omega[i] = rng.normal();
  let basis = orthonormalBasis(matmulF64(data, m, n, omega, r), m, r);
  for (let it = 0; it < niter; it++) {
    const back = orthonormalBasis(matmulF64(at, n, m, basis, r), n, r);
    basis = orthonormalBasis(matmulF64(data, m, n, back, r), m, r);
  }

  // Stage B (HMT Algorithm 5.1): B = Q^T A is small (r x n); its SVD lifts back.
  const b = matmulF64(transposeF64(basis, m, r), r, m, data, n);
  const small = denseSVD(b, r, n, false);
  const u = matmulF64(basis, m, r, small.u, r);
  return {
    U: toNDArray(u, [m, r]),
    S: toNDArray(small.s, [r]),
    V: toNDArray(transposeF64(small.vt, r, n), [n, r]),
  };
}
