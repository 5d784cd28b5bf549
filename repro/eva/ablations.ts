/**
 * The paper's ablations of EVA's init (arXiv:2410.07170, section 4.4), as transforms of
 * EVA's state dict (layer -> A init) before it is loaded:
 *  - `rotate`: each layer's A replaced by Q·A with a random orthogonal Q (r_l x r_l): the
 *    same span, but the rows are no longer the principal directions themselves;
 *  - `permute`: the A inits (and so the ranks) randomly permuted between layers with the
 *    same input width: principal directions, but of another layer's inputs (the rank budget
 *    is kept; the parameter count moves a little, as B's height is the layer's own);
 *  - `minor`: the r_l directions of *least* variance of each layer's inputs instead of the
 *    most. The incremental PCA keeps only the top components, so these come from an exact
 *    eigendecomposition of the inputs' covariance over the first batches.
 */
import type { Tensor } from '@tsgrad/autograd';
import { applyLora, computeEva, loraLayers, type EvaBatch, type EvaStateDict } from '@tsgrad/eva';
import type { AnyModule } from '@tsgrad/nn';
import * as nd from '@tsgrad/tensor';
import type { FinetuneConfig } from './finetune.ts';
import type { Task } from './tasks.ts';

export type EvaTransform = 'rotate' | 'permute' | 'minor';

/**
 * Q·A per layer with Q a random orthogonal matrix (QR of a Gaussian, signs fixed by R's diagonal).
 * @example const sd2 = rotateComponents(sd, 0);
 */
export function rotateComponents(sd: EvaStateDict, seed: number): EvaStateDict {
  const out: EvaStateDict = {};
  let k = 0;
  for (const [name, a] of Object.entries(sd)) {
    const r = a.shape[0]!;
    if (r === 0) {
      out[name] = a;
      continue;
    }
    const { Q, R } = nd.qr(nd.randn([r, r], { seed: 1009 * seed + 31 * k++ + 5, dtype: 'float64' }));
    // multiply column j of Q by sign(R_jj) so Q is Haar-distributed
    const q = Q.toFloat64Array();
    const rd = R.toFloat64Array();
    for (let j = 0; j < r; j++) if (rd[j * r + j]! < 0) for (let i = 0; i < r; i++) q[i * r + j] = -q[i * r + j]!;
    out[name] = nd.matmul(nd.NDArray.fromTyped(q, [r, r]), nd.cast(a, 'float64'));
  }
  return out;
}

/**
 * Layer l gets the A init (and rank) of layer pi(l), pi a random permutation within each
 * group of layers with the same input width; the rank budget is unchanged.
 * @example const sd2 = permuteAcrossLayers(sd, 0);
 */
export function permuteAcrossLayers(sd: EvaStateDict, seed: number): EvaStateDict {
  const byWidth = new Map<number, string[]>();
  for (const [name, a] of Object.entries(sd)) byWidth.set(a.shape[1]!, [...(byWidth.get(a.shape[1]!) ?? []), name]);
  const rng = new nd.Rng(7717 * seed + 3);
  const out: EvaStateDict = {};
  for (const names of byWidth.values()) {
    const perm = rng.permutation(names.length);
    names.forEach((n, i) => (out[n] = sd[names[perm[i]!]!]!));
  }
  return out;
}

/**
 * The `rank` directions of least variance of each LoRA layer's input, from the exact
 * covariance of its inputs over `batches` forward passes (eigenvectors of the smallest
 * eigenvalues, ascending). Ranks come from `sd` (EVA's redistribution), so only the
 * directions change.
 * @example const sd2 = minorComponents(model, task.evaBatches(0), 8, sd);
 */
export function minorComponents(model: AnyModule, loader: Iterable<EvaBatch>, batches: number, sd: EvaStateDict): EvaStateDict {
  const layers = loraLayers(model);
  const sums = new Map<string, { xtx: nd.NDArray; sum: Float64Array; n: number }>();
  const handles = [...layers].map(([name, layer]) =>
    layer.registerForwardPreHook((_m, args) => {
      const x = nd.cast((args[0] as Tensor).data, 'float64').contiguous();
      const d = x.shape.at(-1)!;
      const rows = x.reshape([x.size / d, d]);
      const s = sums.get(name) ?? { xtx: nd.zeros([d, d], 'float64'), sum: new Float64Array(d), n: 0 };
      s.xtx = nd.add(s.xtx, nd.matmul(rows.transpose(0, 1), rows));
      const v = rows.toFloat64Array();
      for (let i = 0; i < v.length; i++) s.sum[i % d]! += v[i]!;
      s.n += rows.shape[0]!;
      sums.set(name, s);
    }),
  );
  try {
    const was = [...model.modules()].map((m) => m.training);
    model.eval();
    let i = 0;
    for (const b of loader) {
      if (i++ >= batches) break;
      model.call(b.input as Tensor);
    }
    [...model.modules()].forEach((m, j) => (m.training = was[j]!));
  } finally {
    for (const h of handles) h.remove();
  }
  const out: EvaStateDict = {};
  for (const [name, a] of Object.entries(sd)) {
    const r = a.shape[0]!;
    const s = sums.get(name);
    if (!s) throw new Error(`minorComponents: layer '${name}' was not called by the forward pass`);
    const d = s.sum.length;
    // covariance = X^T X / n - mean mean^T
    const cov = nd.mul(s.xtx, 1 / s.n).toFloat64Array();
    for (let p = 0; p < d; p++) for (let q = 0; q < d; q++) cov[p * d + q]! -= (s.sum[p]! / s.n) * (s.sum[q]! / s.n);
    const { vectors } = nd.eigh(nd.NDArray.fromTyped(cov, [d, d]));
    const v = vectors.toFloat64Array();
    const rows = new Float64Array(r * d);
    for (let k = 0; k < r; k++) for (let j = 0; j < d; j++) rows[k * d + j] = v[j * d + k]!;
    out[name] = nd.NDArray.fromTyped(rows, [r, d]);
  }
  return out;
}

/**
 * How many batches EVA needs to converge at EVA batch size `batchSize` (the paper's
 * Fig. 11 / Table 6 question), and the seconds it took; the model is a fresh copy.
 * @example const { batches } = evaConvergence(task, 0, 16, ft);
 */
export function evaConvergence(task: Task, seed: number, batchSize: number, cfg: FinetuneConfig): { batches: number; seconds: number } {
  const model = task.makeModel(seed);
  applyLora(model, { targetModules: task.targets, r: cfg.r, alpha: cfg.alpha, init: 'eva', evaConfig: { rho: 2, tau: cfg.tau }, modulesToSave: task.modulesToSave, seed });
  const res = computeEva(model, task.evaBatches(seed, batchSize), { maxBatches: cfg.maxEvaBatches });
  return { batches: res.batches, seconds: res.seconds };
}
