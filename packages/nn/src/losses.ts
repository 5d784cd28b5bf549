/**
 * Loss functions with PyTorch's semantics, composed from differentiable tensor ops.
 */
import { constant, Tensor } from '@tsgrad/autograd';
import * as nd from '@tsgrad/tensor';

export type Reduction = 'mean' | 'sum' | 'none';

export interface CrossEntropyOptions {
  /** Targets equal to this contribute nothing and are not counted by 'mean' (default -100). */
  ignoreIndex?: number;
  /** Mixes the one-hot target with the uniform distribution (Szegedy et al. 2016). */
  labelSmoothing?: number;
  reduction?: Reduction;
}

/**
 * Flattens class scores [..., C] to [N, C] and int32 targets [...] to [N], checking
 * that the shapes agree and every target is a class or `ignoreIndex`. Returns the
 * safe targets (ignored ones replaced by 0) and a 0/1 mask of the counted rows.
 */
function prepareTargets(op: string, scores: Tensor, target: Tensor | nd.NDArray, ignoreIndex: number) {
  const t = target instanceof Tensor ? target.data : target;
  if (t.dtype !== 'int32') throw new TypeError(`${op}: target must be int32 class ids, got ${t.dtype}`);
  if (scores.ndim < 1 || !nd.shapesEqual(scores.shape.slice(0, -1), t.shape)) {
    throw new Error(`${op}: scores of shape [${scores.shape.join(', ')}] need targets of shape [${scores.shape.slice(0, -1).join(', ')}], got [${t.shape.join(', ')}]`);
  }
  const c = scores.shape[scores.ndim - 1]!;
  const n = t.size;
  const ids = t.toTyped() as Int32Array;
  const safe = new Int32Array(n);
  const keep = nd.zeros([n, 1], scores.dtype);
  let count = 0;
  for (let i = 0; i < n; i++) {
    const y = ids[i]!;
    if (y === ignoreIndex) continue;
    if (y < 0 || y >= c) throw new RangeError(`${op}: target ${y} at position ${i} is out of range for ${c} classes`);
    safe[i] = y;
    keep.data[i] = 1;
    count++;
  }
  return { flat: scores.reshape([n, c]), safe: nd.NDArray.fromTyped(safe, [n, 1], 'int32'), keep: constant(keep), count, n, c, shape: t.shape };
}

function reduce(perRow: Tensor, count: number, reduction: Reduction, shape: readonly number[]): Tensor {
  switch (reduction) {
    case 'none':
      return perRow.reshape(shape);
    case 'sum':
      return perRow.sum();
    case 'mean':
      // 0 / 0 = NaN when every target is ignored, as in PyTorch.
      return perRow.sum().div(count);
    default:
      throw new Error(`loss: unknown reduction '${reduction as string}' (mean, sum, none)`);
  }
}

/**
 * Cross-entropy between logits [..., C] (the class axis is last; leading axes such
 * as [B, T] are flattened) and int32 targets [...]:
 *   loss_i = (1 - s) (-log p_i[y_i]) + s * mean_c(-log p_i[c]),  p_i = softmax(logits_i)
 * with s = labelSmoothing, as torch.nn.functional.cross_entropy. Rows whose target is
 * `ignoreIndex` give 0 and are left out of the 'mean' denominator.
 * Note: PyTorch puts the class axis second for inputs above 2-D; here it is last.
 * @example crossEntropy(logits, targets, { labelSmoothing: 0.1 })
 */
export function crossEntropy(logits: Tensor, target: Tensor | nd.NDArray, opts: CrossEntropyOptions = {}): Tensor {
  const { ignoreIndex = -100, labelSmoothing = 0, reduction = 'mean' } = opts;
  if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) throw new RangeError(`crossEntropy: labelSmoothing must be in [0, 1], got ${labelSmoothing}`);
  const { flat, safe, keep, count, n, c, shape } = prepareTargets('crossEntropy', logits, target, ignoreIndex);
  const logp = flat.logSoftmax(1); // [N, C]
  let perRow = logp.gather(1, safe).neg(); // [N, 1]
  if (labelSmoothing > 0) {
    const smooth = logp.sum(1, true).neg().div(c);
    perRow = perRow.mul(1 - labelSmoothing).add(smooth.mul(labelSmoothing));
  }
  if (count < n) perRow = perRow.mul(keep);
  return reduce(perRow.reshape([n]), count, reduction, shape);
}

/**
 * Negative log-likelihood of log-probabilities [..., C] at int32 targets [...]
 * (torch.nn.functional.nll_loss with the class axis last).
 * @example nllLoss(logits.logSoftmax(-1), targets)
 */
export function nllLoss(logProbs: Tensor, target: Tensor | nd.NDArray, opts: Omit<CrossEntropyOptions, 'labelSmoothing'> = {}): Tensor {
  const { ignoreIndex = -100, reduction = 'mean' } = opts;
  const { flat, safe, keep, count, n, shape } = prepareTargets('nllLoss', logProbs, target, ignoreIndex);
  let perRow = flat.gather(1, safe).neg();
  if (count < n) perRow = perRow.mul(keep);
  return reduce(perRow.reshape([n]), count, reduction, shape);
}

/**
 * Mean squared error (x - y)^2, reduced as PyTorch's mse_loss. The two shapes must be
 * equal: PyTorch broadcasts [3] against [3, 1] to a [3, 3] loss with a warning, which
 * is almost always a bug, so here it is an error naming both shapes.
 * @example mseLoss(pred, target)
 */
export function mseLoss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  const reduction = opts.reduction ?? 'mean';
  if (!nd.shapesEqual(input.shape, target.shape)) {
    throw new Error(`mseLoss: input of shape [${input.shape.join(', ')}] and target of shape [${target.shape.join(', ')}] differ (an element-wise loss does not broadcast)`);
  }
  const d = input.sub(target);
  const sq = d.mul(d);
  if (reduction === 'none') return sq;
  if (reduction === 'sum') return sq.sum();
  if (reduction === 'mean') return sq.mean();
  throw new Error(`mseLoss: unknown reduction '${reduction as string}' (mean, sum, none)`);
}

/**
 * Fraction of rows whose arg-max class equals the target (targets equal to
 * `ignoreIndex` are not counted). Returns a plain number.
 * @example accuracy(model.call(x), y) // 0.97
 */
export function accuracy(logits: Tensor | nd.NDArray, target: Tensor | nd.NDArray, opts: { ignoreIndex?: number } = {}): number {
  const l = logits instanceof Tensor ? logits.data : logits;
  const t = target instanceof Tensor ? target.data : target;
  if (!nd.shapesEqual(l.shape.slice(0, -1), t.shape)) {
    throw new Error(`accuracy: logits of shape [${l.shape.join(', ')}] need targets of shape [${l.shape.slice(0, -1).join(', ')}], got [${t.shape.join(', ')}]`);
  }
  const pred = nd.argmax(l, -1).toTyped();
  const ys = t.toTyped();
  const ignore = opts.ignoreIndex ?? -100;
  let hit = 0;
  let total = 0;
  for (let i = 0; i < ys.length; i++) {
    if (ys[i] === ignore) continue;
    total++;
    if (pred[i] === ys[i]) hit++;
  }
  return total === 0 ? NaN : hit / total;
}
