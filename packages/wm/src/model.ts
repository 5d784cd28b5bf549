/**
 * What packages/wm needs from a network, stated structurally so that any `Module` of
 * @tsgrad/nn fits: call it, read and load its state dict, list its parameters, find a submodule
 * for hooks. Plus evaluation of loss and accuracy over batches, and loading weights temporarily.
 */
import { noGrad, type Tensor } from '@tsgrad/autograd';
import { asBatches, batchArray, batchTensor, type LabelledBatchLike, type StateDict } from '@tsgrad/nn';
import type { NDArray } from '@tsgrad/tensor';

// One batch format across the packages: wm takes nn's `Batch` ({ input, target }, NDArray or
// Tensor fields) and `[input, target]` pairs, and re-exports nn's `toBatches`.
export { toBatches, type Batch, type ArrayBatch, type BatchLike, type LabelledBatchLike } from '@tsgrad/nn';

/** A hook handle (`remove()` unregisters). */
export interface HookHandle {
  remove(): void;
}

/** The parts of an nn `Module` used here. */
export interface Net {
  training: boolean;
  call(x: Tensor): Tensor;
  stateDict(opts?: { clone?: boolean }): StateDict;
  loadStateDict(sd: StateDict, opts?: { strict?: boolean }): unknown;
  train(mode?: boolean): unknown;
  namedParameters(): Iterable<[string, Tensor]>;
}

/** Mean cross-entropy and accuracy over every counted target. */
export interface Evaluation {
  loss: number;
  acc: number;
  /** Number of counted targets. */
  count: number;
}

/**
 * Summed cross-entropy (float64, log-sum-exp) and correct count of logits [..., C] against targets.
 * @example const { lossSum, correct, count } = crossEntropySums(logits, labels);
 */
export function crossEntropySums(logits: NDArray, target: NDArray): { lossSum: number; correct: number; count: number } {
  const c = logits.shape[logits.ndim - 1]!;
  const rows = logits.size / c;
  if (target.size !== rows) {
    throw new Error(`crossEntropySums: logits [${logits.shape.join(', ')}] and targets [${target.shape.join(', ')}] disagree`);
  }
  const z = logits.contiguous().data;
  const t = target.contiguous().data;
  let lossSum = 0;
  let correct = 0;
  let count = 0;
  for (let r = 0; r < rows; r++) {
    const y = t[r]!;
    if (y === -100) continue;
    const base = r * c;
    let max = -Infinity;
    let arg = 0;
    for (let j = 0; j < c; j++) {
      const v = z[base + j]!;
      if (v > max) {
        max = v;
        arg = j;
      }
    }
    let s = 0;
    for (let j = 0; j < c; j++) s += Math.exp(z[base + j]! - max);
    lossSum += max + Math.log(s) - z[base + y]!;
    if (arg === y) correct++;
    count++;
  }
  return { lossSum, correct, count };
}

/**
 * Mean cross-entropy and accuracy of `net` (in eval mode, without a graph) over `batches`:
 * `{ input, target }` batches or `[input, target]` pairs, targets int32 class ids (-100 ignored).
 * @example const { loss, acc } = evaluate(model, toBatches(images, labels, 1000));
 */
export function evaluate(net: Net, batches: Iterable<LabelledBatchLike>): Evaluation {
  const list = asBatches(batches, 'evaluate', { target: true });
  const wasTraining = net.training;
  net.train(false);
  try {
    let lossSum = 0;
    let correct = 0;
    let count = 0;
    noGrad(() => {
      for (const b of list) {
        const logits = net.call(batchTensor(b.input)).data;
        const r = crossEntropySums(logits, batchArray(b.target));
        lossSum += r.lossSum;
        correct += r.correct;
        count += r.count;
      }
    });
    return { loss: count > 0 ? lossSum / count : NaN, acc: count > 0 ? correct / count : NaN, count };
  } finally {
    net.train(wasTraining);
  }
}

/**
 * Runs `fn` with `params` loaded into `net`, then restores the weights it had before (a copy is
 * taken first, so the restored values are exact).
 * @example const acc = withWeights(net, midpoint, () => evaluate(net, test).acc);
 */
export function withWeights<T>(net: Net, params: StateDict, fn: () => T): T {
  const saved = net.stateDict({ clone: true });
  net.loadStateDict(params);
  try {
    return fn();
  } finally {
    net.loadStateDict(saved);
  }
}
