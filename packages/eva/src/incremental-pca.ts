/**
 * Incremental (mean-centred) PCA with the semantics of scikit-learn's
 * `IncrementalPCA` and of PEFT's torch port of it (`peft.utils.incremental_pca`),
 * which is what EVA runs on every target layer's inputs.
 *
 * Each `partialFit(X)` (Ross et al. 2008, with the mean correction of sklearn):
 *  1. updates the running mean and the per-feature population variance in float64
 *     (Chan, Golub & LeVeque's pairwise update);
 *  2. builds M = [diag(S_prev) V_prev ; X - mean(X) ; sqrt(n_prev b / n_tot) (mu_prev - mean(X))]
 *     (just X - mean(X) on the first call), a (k + b + 1) x d matrix;
 *  3. takes an SVD of M, exact or randomized (torch.svd_lowrank semantics, q = 2k,
 *     4 power iterations, fixed seed: PEFT's defaults for EVA);
 *  4. fixes signs so the largest-|.| entry of every right singular vector is positive
 *     (sklearn's `svd_flip(u_based_decision=False)`), which makes the signed cosine
 *     convergence test of EVA meaningful;
 *  5. keeps the top k rows of V^T as `components`, and
 *     explainedVarianceRatio_j = S_j^2 / (sum of centred squares of every row seen).
 *
 * Two precisions (option `dtype`):
 *  - `'float64'` (the class default): steps 2-5 in float64 with the float64 `svd` or
 *    `svdLowRank`; the inputs may be float32 or float64 NDArrays. The reference path.
 *  - `'float32'` (what EVA uses for float32 models, with `'lowrank'` only): the update
 *    matrix is built in float32 and decomposed by `svdLowRankGram` (one float32 Gram
 *    matrix on the backend's matmul, then the same q / niter / seed subspace iteration on
 *    it in float64). Mean, variance and ratios stay float64. A fit whose k-th singular
 *    value is below FLOAT32_RTOL times the largest (nearly rank-deficient data, where the
 *    squared condition number of the Gram matrix costs too much) is redone by the float64
 *    randomized SVD; `float32Fits` counts the fits that were not. PEFT itself runs
 *    `torch.svd_lowrank` in float32.
 */
import { NDArray, shapeToString, svd, svdLowRank, svdLowRankGram } from '@tsgrad/tensor';

/**
 * A float32 fit is accepted when its k-th singular value exceeds this fraction of the
 * largest; below it the float32 Gram matrix's rounding (about 6e-8 of sigma_1^2) would be
 * a visible share of sigma_k^2 and the float64 path is used for that fit.
 */
export const FLOAT32_RTOL = 1e-3;

/** Options for {@link IncrementalPCA}. */
export interface IncrementalPCAOptions {
  /** Number of components k to keep. Must not exceed the features or any batch's rows. */
  nComponents: number;
  /**
   * `'exact'` (default, like sklearn and PEFT's class default) uses a thin SVD;
   * `'lowrank'` uses the randomized `svdLowRank` (what PEFT's EVA selects).
   */
  svd?: 'exact' | 'lowrank';
  /** Columns of the random test matrix for `'lowrank'`; default 2k (PEFT). Must be >= k. */
  lowrankQ?: number;
  /** Power iterations for `'lowrank'`; default 4 (PEFT). */
  lowrankNiter?: number;
  /** Seed of the random test matrix for `'lowrank'`; default 42 (PEFT's EVA). */
  lowrankSeed?: number;
  /**
   * Precision of the update's SVD: `'float64'` (default) or `'float32'` (fast, through
   * `svdLowRankGram`; needs `svd: 'lowrank'`). See the file comment for what stays float64.
   */
  dtype?: 'float32' | 'float64';
}

/**
 * Incremental PCA over mini-batches of rows.
 * @example
 * const ipca = new IncrementalPCA({ nComponents: 2, svd: 'lowrank', dtype: 'float32' });
 * ipca.partialFit(batch1).partialFit(batch2); // batches: [rows, features]
 * ipca.components;             // [2, features], orthonormal rows
 * ipca.explainedVarianceRatio; // [2]
 */
export class IncrementalPCA {
  readonly nComponents: number;
  readonly svdMode: 'exact' | 'lowrank';
  readonly lowrankQ: number;
  readonly lowrankNiter: number;
  readonly lowrankSeed: number;
  readonly dtype: 'float32' | 'float64';

  /** Number of features d (set by the first batch). */
  nFeatures = 0;
  /** Rows seen so far. */
  nSamplesSeen = 0;
  /** Number of successful `partialFit` calls. */
  nFits = 0;
  /** Of those, the fits done in float32 (with `dtype: 'float32'`; the others fell back to float64). */
  float32Fits = 0;
  private lastFitFloat32 = false;
  private mean_: Float64Array | null = null;
  private var_: Float64Array | null = null;
  private components_: Float64Array | null = null;
  private singular_: Float64Array | null = null;
  private ratio_: Float64Array | null = null;
  private explained_: Float64Array | null = null;
  /** Mean explained variance of the discarded components (sklearn's `noise_variance_`). */
  noiseVariance = 0;

  constructor(options: IncrementalPCAOptions) {
    const { nComponents, svd: mode = 'exact', lowrankNiter = 4, lowrankSeed = 42, dtype = 'float64' } = options;
    if (!Number.isInteger(nComponents) || nComponents < 1) {
      throw new RangeError(`IncrementalPCA: nComponents must be a positive integer, got ${nComponents}`);
    }
    if (mode !== 'exact' && mode !== 'lowrank') throw new Error(`IncrementalPCA: svd must be 'exact' or 'lowrank', got '${String(mode)}'`);
    const q = options.lowrankQ ?? 2 * nComponents;
    if (q < nComponents) throw new RangeError(`IncrementalPCA: lowrankQ (${q}) must be >= nComponents (${nComponents})`);
    if (dtype !== 'float32' && dtype !== 'float64') throw new Error(`IncrementalPCA: dtype must be 'float32' or 'float64', got '${String(dtype)}'`);
    if (dtype === 'float32' && mode !== 'lowrank') throw new Error(`IncrementalPCA: dtype 'float32' needs svd 'lowrank' (the exact SVD runs in float64 only), got svd '${mode}'`);
    this.nComponents = nComponents;
    this.svdMode = mode;
    this.lowrankQ = q;
    this.lowrankNiter = lowrankNiter;
    this.lowrankSeed = lowrankSeed;
    this.dtype = dtype;
  }

  /** True once at least one batch has been fitted. */
  get fitted(): boolean {
    return this.components_ !== null;
  }

  /** Principal directions, k x d (orthonormal rows, sign-fixed). */
  get components(): NDArray {
    return NDArray.fromTyped(this.need(this.components_).slice(), [this.nComponents, this.nFeatures]);
  }
  /** The raw float64 storage of {@link components} (row-major k x d); do not modify. */
  get componentsData(): Float64Array {
    return this.need(this.components_);
  }
  /** Singular values of the centred data, length k. */
  get singularValues(): NDArray {
    return NDArray.fromTyped(this.need(this.singular_).slice(), [this.nComponents]);
  }
  /** S^2 / (n - 1), length k. */
  get explainedVariance(): NDArray {
    return NDArray.fromTyped(this.need(this.explained_).slice(), [this.nComponents]);
  }
  /** S^2 / total centred sum of squares seen so far, length k. */
  get explainedVarianceRatio(): NDArray {
    return NDArray.fromTyped(this.need(this.ratio_).slice(), [this.nComponents]);
  }
  /** Running mean of the rows, length d. */
  get mean(): NDArray {
    return NDArray.fromTyped(this.need(this.mean_).slice(), [this.nFeatures]);
  }
  /** Running per-feature population variance, length d. */
  get variance(): NDArray {
    return NDArray.fromTyped(this.need(this.var_).slice(), [this.nFeatures]);
  }

  private need<T>(x: T | null): T {
    if (x === null) throw new Error('IncrementalPCA: not fitted yet; call partialFit first');
    return x;
  }

  /**
   * Updates the fit with one batch of rows (b x d, float32 or float64).
   * @example ipca.partialFit(NDArray.fromTyped(new Float64Array(12), [4, 3]))
   */
  partialFit(x: NDArray): this {
    if (x.ndim !== 2) throw new Error(`IncrementalPCA.partialFit: expected a 2-D batch [rows, features], got shape ${shapeToString(x.shape)}`);
    const b = x.shape[0]!;
    const d = x.shape[1]!;
    const k = this.nComponents;
    if (k > d) {
      throw new RangeError(`IncrementalPCA.partialFit: nComponents=${k} exceeds the ${d} features of the batch of shape ${shapeToString(x.shape)}`);
    }
    if (k > b) {
      throw new RangeError(`IncrementalPCA.partialFit: nComponents=${k} exceeds the ${b} rows of the batch of shape ${shapeToString(x.shape)}`);
    }
    if (this.fitted && d !== this.nFeatures) {
      throw new Error(`IncrementalPCA.partialFit: batch of shape ${shapeToString(x.shape)} has ${d} features, earlier batches had ${this.nFeatures}`);
    }
    // The float32 path reads float32 rows as they are (no float64 copy of the batch).
    const data = this.dtype === 'float32' ? float32Rows(x) : x.toFloat64Array();
    const nPrev = this.nSamplesSeen;
    const nTot = nPrev + b;

    // 2. (allocated first: step 1 writes the centred batch into it) The matrix whose SVD
    // updates the components, in the path's precision.
    const prevRows = nPrev === 0 ? 0 : k;
    const rows = prevRows + b + (nPrev === 0 ? 0 : 1);
    const m = this.dtype === 'float32' ? new Float32Array(rows * d) : new Float64Array(rows * d);

    // 1. Running mean and variance (float64 accumulators on either path); the same pass
    // writes X - mean(X) into rows prevRows.. of m.
    const moments = runningMoments(data, b, d, nPrev, this.mean_, this.var_, m, prevRows * d);
    if (!moments) throw new RangeError(`IncrementalPCA.partialFit: the batch of shape ${shapeToString(x.shape)} contains NaN or Infinity`);
    const { mean, variance, batchMean } = moments;

    if (nPrev > 0) {
      const comps = this.components_!;
      const s = this.singular_!;
      for (let i = 0; i < k; i++) for (let j = 0; j < d; j++) m[i * d + j] = s[i]! * comps[i * d + j]!;
    }
    if (nPrev > 0) {
      const factor = Math.sqrt((nPrev / nTot) * b);
      const last = (rows - 1) * d;
      for (let j = 0; j < d; j++) m[last + j] = factor * (this.mean_![j]! - batchMean[j]!);
    }

    // 3. SVD (exact, randomized float64, or randomized float32), as V^T rows.
    const { sv, vt, count } = this.decompose(NDArray.fromTyped(m, [rows, d]));
    if (count < k) {
      throw new Error(`IncrementalPCA.partialFit: the SVD of the ${rows} x ${d} update matrix gave ${count} components, fewer than nComponents=${k}`);
    }
    // 4. svd_flip on V rows: largest |entry| of each row positive (first on a tie).
    for (let i = 0; i < k; i++) flipRow(vt, i, d);

    // 5. Keep the top k; ratios against the total centred sum of squares.
    let totalSS = 0;
    for (let j = 0; j < d; j++) totalSS += variance[j]! * nTot;
    const comps = vt.slice(0, k * d);
    const singular = sv.slice(0, k);
    const explained = new Float64Array(k);
    const ratio = new Float64Array(k);
    for (let i = 0; i < k; i++) {
      const s2 = singular[i]! * singular[i]!;
      explained[i] = nTot > 1 ? s2 / (nTot - 1) : 0;
      ratio[i] = totalSS > 0 ? s2 / totalSS : 0;
    }
    let noise = 0;
    if (k !== b && k !== d && count > k) {
      for (let i = k; i < count; i++) noise += (sv[i]! * sv[i]!) / Math.max(nTot - 1, 1);
      noise /= count - k;
    }

    this.nFeatures = d;
    this.nSamplesSeen = nTot;
    this.mean_ = mean;
    this.var_ = variance;
    this.components_ = comps;
    this.singular_ = singular;
    this.explained_ = explained;
    this.ratio_ = ratio;
    this.noiseVariance = noise;
    this.nFits++;
    if (this.dtype === 'float32') this.float32Fits += this.lastFitFloat32 ? 1 : 0;
    return this;
  }

  /**
   * The SVD of one update matrix: `sv` (count values, descending) and at least the top
   * nComponents rows of V^T in `vt`. The float32 path falls back to the float64 randomized
   * SVD for a fit whose k-th singular value it cannot resolve (see svdLowRankGram).
   */
  private decompose(mat: NDArray): { sv: Float64Array; vt: Float64Array; count: number } {
    const d = mat.shape[1]!;
    this.lastFitFloat32 = false;
    if (this.svdMode === 'exact') {
      const r = svd(mat);
      const sv = r.S.toFloat64Array();
      return { sv, vt: r.Vt.toFloat64Array(), count: sv.length };
    }
    const opts = { q: this.lowrankQ, niter: this.lowrankNiter, seed: this.lowrankSeed };
    if (this.dtype === 'float32') {
      const r = svdLowRankGram(mat, { ...opts, vectors: this.nComponents, rtol: FLOAT32_RTOL });
      if (r.resolved >= this.nComponents) {
        this.lastFitFloat32 = true;
        const sv = r.S.toFloat64Array();
        return { sv, vt: r.Vt.toFloat64Array(), count: sv.length };
      }
    }
    const r = svdLowRank(mat, opts);
    const sv = r.S.toFloat64Array();
    const count = sv.length;
    const v = r.V.toFloat64Array(); // d x count
    const vt = new Float64Array(count * d);
    for (let i = 0; i < count; i++) for (let j = 0; j < d; j++) vt[i * d + j] = v[j * count + i]!;
    return { sv, vt, count };
  }

  /**
   * Projects rows onto the components: (X - mean) V^T, b x k (float64).
   * @example const z = ipca.transform(x); // [rows, k]
   */
  transform(x: NDArray): NDArray {
    const comps = this.need(this.components_);
    if (x.ndim !== 2 || x.shape[1] !== this.nFeatures) {
      throw new Error(`IncrementalPCA.transform: expected [rows, ${this.nFeatures}], got shape ${shapeToString(x.shape)}`);
    }
    const b = x.shape[0]!;
    const d = this.nFeatures;
    const k = this.nComponents;
    const data = x.toFloat64Array();
    const mean = this.mean_!;
    const out = new Float64Array(b * k);
    for (let i = 0; i < b; i++) {
      for (let c = 0; c < k; c++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += (data[i * d + j]! - mean[j]!) * comps[c * d + j]!;
        out[i * k + c] = s;
      }
    }
    return NDArray.fromTyped(out, [b, k]);
  }
}

/** Negates row i (length d) of `a` unless its largest-magnitude entry is already positive. */
export function flipRow(a: Float64Array, i: number, d: number): void {
  let best = 0;
  let bestAbs = -1;
  for (let j = 0; j < d; j++) {
    const v = Math.abs(a[i * d + j]!);
    if (v > bestAbs) {
      bestAbs = v;
      best = j;
    }
  }
  if (a[i * d + best]! < 0) for (let j = 0; j < d; j++) a[i * d + j] = -a[i * d + j]!;
}

/** The rows of a 2-D batch as float32: the batch's own storage when it is already dense float32. */
function float32Rows(x: NDArray): Float32Array {
  const c = x.dtype === 'float32' ? x.contiguous() : x.astype('float32');
  return c.data as Float32Array;
}

/**
 * Chan, Golub & LeVeque's pairwise update of the running mean and per-feature population
 * variance (what sklearn's `_incremental_mean_and_var` does), in float64 from rows of
 * either precision; also returns the batch mean that centres the update matrix, and
 * writes the centred rows X - mean(X) into `centred` from `offset` on (rounded to its
 * precision). Returns null when the batch holds NaN or Infinity.
 */
function runningMoments(
  data: Float32Array | Float64Array,
  b: number,
  d: number,
  nPrev: number,
  lastMean: Float64Array | null,
  lastVar: Float64Array | null,
  centred: Float32Array | Float64Array,
  offset: number,
): { mean: Float64Array; variance: Float64Array; batchMean: Float64Array } | null {
  const nTot = nPrev + b;
  const batchSum = new Float64Array(d);
  for (let i = 0; i < b; i++) for (let j = 0; j < d; j++) batchSum[j]! += data[i * d + j]!;
  // A NaN or Infinity makes its column's sum non-finite; only then is every entry checked
  // (a sum of huge finite float64 values can overflow too: that is not this error).
  if (!batchSum.every(Number.isFinite) && !data.every(Number.isFinite)) return null;
  const batchMean = batchSum.map((s) => s / b);
  const newUnnormVar = new Float64Array(d);
  const corr = new Float64Array(d);
  for (let i = 0; i < b; i++) {
    for (let j = 0; j < d; j++) {
      const t = data[i * d + j]! - batchMean[j]!;
      centred[offset + i * d + j] = t;
      corr[j]! += t;
      newUnnormVar[j]! += t * t;
    }
  }
  for (let j = 0; j < d; j++) newUnnormVar[j]! -= (corr[j]! * corr[j]!) / b;
  const mean = new Float64Array(d);
  const variance = new Float64Array(d);
  if (nPrev === 0 || !lastMean || !lastVar) {
    for (let j = 0; j < d; j++) {
      mean[j] = batchMean[j]!;
      variance[j] = newUnnormVar[j]! / nTot;
    }
  } else {
    const ratio = nPrev / b;
    for (let j = 0; j < d; j++) {
      const lastSum = lastMean[j]! * nPrev;
      mean[j] = (lastSum + batchSum[j]!) / nTot;
      const diff = lastSum / ratio - batchSum[j]!;
      variance[j] = (lastVar[j]! * nPrev + newUnnormVar[j]! + (ratio / nTot) * diff * diff) / nTot;
    }
  }
  return { mean, variance, batchMean };
}
