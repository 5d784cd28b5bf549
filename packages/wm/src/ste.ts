/**
 * The straight-through estimator search for a permutation (Ainsworth et al., Git Re-Basin,
 * Sec. 3.3; the "STEv2" of git-re-basin's `mnist_mlp_ste2.py`: the trainable parameters stand for
 * the B endpoint and are projected onto pi(theta_B) by weight matching).
 *
 * Trainable theta~ starts at theta_A. Each minibatch:
 *   1. pi = WM(theta~, theta_B), warm-started from the previous pi (and its LAP duals);
 *   2. forward at the midpoint (theta_A + pi(theta_B)) / 2, whose value uses pi(theta_B) but
 *      whose gradient is taken as if pi(theta_B) were theta~ (straight-through), so
 *      dL/dtheta~ = 1/2 dL/dtheta at the midpoint;
 *   3. an optimizer step on theta~;
 *   4. the permutation with the lowest minibatch loss so far is kept.
 */
import type { Tensor } from '@tsgrad/autograd';
import type { NDArray } from '@tsgrad/tensor';
import { asBatches, batchArray, batchTensor, crossEntropy, type LabelledBatchLike } from '@tsgrad/nn';
import type { Duals } from './lap.ts';
import type { Net } from './model.ts';
import { checkCount, checkFinite } from './options.ts';
import { applyPermutation, clonePermutation } from './permute.ts';
import type { Permutation, PermutationSpec, StateDict } from './spec.ts';
import { cloneStateDict, l2Distance, lerpStateDicts } from './state.ts';
import { weightMatching } from './weight-matching.ts';

export interface SteOptions {
  /** Passes over the batches (default 1). */
  epochs?: number;
  /** 'adam' (default, as Ito et al.'s STE-MM) or 'sgd' with momentum (git-re-basin's STEv2). */
  optimizer?: 'adam' | 'sgd';
  /** Learning rate (default 1e-3 for Adam, 1e-2 for SGD). */
  lr?: number;
  /** SGD momentum (default 0.9). */
  momentum?: number;
  /** WM sweeps per step at most (default 100). */
  maxIter?: number;
  /**
   * Precision of the per-step WM's cost matrices (default 'float32': the projection sits inside
   * a noisy minibatch loop, where float64 costs only time; git-re-basin's STE runs in float32 too).
   */
  costDtype?: 'float64' | 'float32';
  seed?: number;
  /** Loss of logits against targets (default cross-entropy over the last axis). */
  loss?: (logits: Tensor, target: NDArray) => Tensor;
  /** Called after every step. */
  /** Called after every step; `perm` is that step's projected permutation (read it, don't keep it: copy). */
  onStep?: (info: { step: number; epoch: number; loss: number; bestLoss: number; wmSweeps: number; perm: Permutation }) => void;
}

export interface SteResult {
  /** The permutation with the lowest minibatch midpoint loss. */
  perm: Permutation;
  bestLoss: number;
  /** The permutation of the last step. */
  lastPerm: Permutation;
  /** Midpoint minibatch loss per step. */
  losses: number[];
  /** WM sweeps per step (warm starts make most of them 1 or 2). */
  wmSweeps: number[];
  steps: number;
  /** ||theta~ - theta_A|| at the end: how far the trained B-endpoint moved from its start. */
  drift: number;
}

/**
 * STE permutation search of B's units against A. `net` is any network with A's architecture;
 * its weights are restored at the end. `batches` may be a function of the epoch (to reshuffle).
 * Refuses, naming the option: `epochs`/`maxIter` not integers >= 1, `lr` not finite and >= 0,
 * `momentum` outside [0, 1), a non-integer `seed`, an unknown `optimizer`.
 * @example
 * const ste = steMatching(spec, net, sdA, sdB, (e) => shuffledBatches(e), { epochs: 1, lr: 1e-3 });
 * const bAligned = applyPermutation(spec, ste.perm, sdB);
 */
export function steMatching(
  spec: PermutationSpec,
  net: Net,
  paramsA: StateDict,
  paramsB: StateDict,
  batches: Iterable<LabelledBatchLike> | ((epoch: number) => Iterable<LabelledBatchLike>),
  opts: SteOptions = {},
): SteResult {
  checkCount('steMatching', 'epochs', opts.epochs, 1);
  checkCount('steMatching', 'maxIter', opts.maxIter, 1);
  checkCount('steMatching', 'seed', opts.seed, -(2 ** 53));
  checkFinite('steMatching', 'lr', opts.lr, 0);
  checkFinite('steMatching', 'momentum', opts.momentum, 0, 1, true);
  if (opts.optimizer !== undefined && opts.optimizer !== 'adam' && opts.optimizer !== 'sgd') {
    throw new RangeError(`steMatching: optimizer must be 'adam' or 'sgd', got ${String(opts.optimizer)}`);
  }
  const epochs = opts.epochs ?? 1;
  const kind = opts.optimizer ?? 'adam';
  const lr = opts.lr ?? (kind === 'adam' ? 1e-3 : 1e-2);
  const momentum = opts.momentum ?? 0.9;
  const lossFn = opts.loss ?? ((logits: Tensor, target: NDArray) => crossEntropy(logits, target));
  const seed = opts.seed ?? 0;

  const params = new Map<string, Tensor>(net.namedParameters());
  const theta = cloneStateDict(paramsA); // theta~
  const opt = new FlatOptimizer(kind, lr, momentum);
  const saved = net.stateDict({ clone: true });
  const wasTraining = net.training;
  net.train(true);

  let perm: Permutation | undefined;
  let duals: Record<string, Duals> | undefined;
  let best: Permutation | undefined;
  let bestLoss = Infinity;
  const losses: number[] = [];
  const wmSweeps: number[] = [];
  let step = 0;
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      const list = asBatches(typeof batches === 'function' ? batches(epoch) : batches, 'steMatching', { target: true });
      for (const batch of list) {
        const wm = weightMatching(spec, theta, paramsB, { initPerm: perm, initDuals: duals, seed: seed + step, maxIter: opts.maxIter, costDtype: opts.costDtype ?? 'float32' });
        perm = wm.perm;
        duals = wm.duals;
        wmSweeps.push(wm.sweeps);
        const mid = lerpStateDicts(0.5, paramsA, applyPermutation(spec, perm, paramsB));
        net.loadStateDict(mid);
        for (const p of params.values()) p.grad = null;
        const loss = lossFn(net.call(batchTensor(batch.input)), batchArray(batch.target));
        loss.backward();
        const value = loss.item();
        losses.push(value);
        if (value < bestLoss) {
          bestLoss = value;
          best = clonePermutation(perm);
        }
        // Straight-through: d mid / d theta~ = 1/2 (the identity through the projection).
        for (const [name, p] of params) {
          if (p.grad === null || theta[name] === undefined) continue;
          opt.step(name, theta[name]!, p.grad.data, 0.5);
        }
        step++;
        opts.onStep?.({ step, epoch, loss: value, bestLoss, wmSweeps: wm.sweeps, perm });
      }
    }
  } finally {
    net.loadStateDict(saved);
    net.train(wasTraining);
  }
  if (best === undefined || perm === undefined) throw new Error('steMatching: no batches were given');
  return { perm: best, bestLoss, lastPerm: perm, losses, wmSweeps, steps: step, drift: l2Distance(theta, paramsA) };
}

/**
 * Adam (Kingma & Ba 2015, Algorithm 1, PyTorch's defaults beta = (0.9, 0.999), eps = 1e-8) or
 * SGD with momentum (PyTorch's form v = mu v + g, theta -= lr v) on raw parameter arrays, which
 * theta~ is: it never lives in a module.
 */
class FlatOptimizer {
  private m = new Map<string, Float64Array>();
  private v = new Map<string, Float64Array>();
  private t = new Map<string, number>();
  constructor(
    private kind: 'adam' | 'sgd',
    private lr: number,
    private momentum: number,
  ) {}

  step(name: string, param: NDArray, grad: NDArray, gradScale: number): void {
    const w = param.data as Float32Array | Float64Array;
    const g = grad.contiguous().data;
    if (g.length !== w.length) throw new Error(`steMatching: gradient of '${name}' has ${g.length} entries, parameter ${w.length}`);
    let m = this.m.get(name);
    if (m === undefined) {
      m = new Float64Array(w.length);
      this.m.set(name, m);
    }
    if (this.kind === 'sgd') {
      for (let i = 0; i < w.length; i++) {
        m[i] = this.momentum * m[i]! + gradScale * g[i]!;
        w[i]! -= this.lr * m[i]!;
      }
      return;
    }
    let v = this.v.get(name);
    if (v === undefined) {
      v = new Float64Array(w.length);
      this.v.set(name, v);
    }
    const t = (this.t.get(name) ?? 0) + 1;
    this.t.set(name, t);
    const b1 = 0.9;
    const b2 = 0.999;
    const c1 = 1 - b1 ** t;
    const c2 = 1 - b2 ** t;
    for (let i = 0; i < w.length; i++) {
      const gi = gradScale * g[i]!;
      m[i] = b1 * m[i]! + (1 - b1) * gi;
      v[i] = b2 * v[i]! + (1 - b2) * gi * gi;
      w[i]! -= (this.lr * (m[i]! / c1)) / (Math.sqrt(v[i]! / c2) + 1e-8);
    }
  }
}
