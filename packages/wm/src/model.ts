/**
 * What packages/wm needs from a network, stated structurally so that any `Module` of
 * @tsgrad/nn fits: call it, read and load its state dict, list its parameters, find a submodule
 * for hooks. Plus evaluation of loss and accuracy over batches, and loading weights temporarily.
 */
import { noGrad, Tensor } from '@tsgrad/autograd';
import { NDArray } from '@tsgrad/tensor';
import type { StateDict } from '@tsgrad/nn';

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

/** One minibatch: inputs (float features or int32 token ids) and int32 class targets. */
export interface Batch {
  input: NDArray;
  /** int32, the input's shape without the feature axis (e.g. [B] or [B, T]); -100 is ignored. */
  target: NDArray;
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
 * Mean cross-entropy and accuracy of `net` (in eval mode, without a graph) over `batches`.
 * @example const { loss, acc } = evaluate(model, testBatches);
 */
export function evaluate(net: Net, batches: readonly Batch[]): Evaluation {
  const wasTraining = net.training;
  net.train(false);
  try {
    let lossSum = 0;
    let correct = 0;
    let count = 0;
    noGrad(() => {
      for (const b of batches) {
        const logits = net.call(new Tensor(b.input)).data;
        const r = crossEntropySums(logits, b.target);
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

/**
 * Splits features [N, ...] and int32 labels [N] into consecutive minibatches (the last may be short).
 * @example const test = toBatches(images, labels, 1000);
 */
export function toBatches(x: NDArray, y: NDArray, batchSize: number): Batch[] {
  const n = x.shape[0]!;
  if (y.shape[0] !== n) throw new Error(`toBatches: inputs [${x.shape.join(', ')}] and targets [${y.shape.join(', ')}] disagree`);
  const out: Batch[] = [];
  for (let s = 0; s < n; s += batchSize) {
    const e = Math.min(n, s + batchSize);
    out.push({ input: x.slice(0, s, e).contiguous(), target: y.slice(0, s, e).contiguous() });
  }
  return out;
}
