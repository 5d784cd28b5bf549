/**
 * Repairing the statistics of interpolated networks.
 *
 * Averaging two BatchNorm networks averages their running statistics too, but the averaged
 * network's activations do not have the averaged statistics (their variance collapses, Jordan
 * et al. 2023), so eval-mode BatchNorm normalises with the wrong numbers. git-re-basin therefore
 * recomputes the running statistics of every interpolated model on training data before
 * evaluating it ("reset BN stats": momentum None, reset, forward the data in train mode).
 * `resetBatchNormStats` does that.
 *
 * REPAIR (Jordan, Sedghi, Saukh, Entezari & Neyshabur, "REPAIR: REnormalizing Permuted
 * Activations for Interpolation Repair", ICLR 2023) goes further and also fixes networks without
 * BatchNorm: for each repaired layer and channel c, with mu and sigma the mean and standard
 * deviation of the layer's output over the data (per channel: over batch and positions),
 *     target:   mu_t = (1 - lambda) mu_A + lambda mu_B,   sigma_t = (1 - lambda) sigma_A + lambda sigma_B
 *     rescale:  z' = (z - mu) * sigma_t / sigma + mu_t    (mu, sigma measured in the interpolated net)
 * and the affine map is folded into the layer: with s = sigma_t / sigma,
 *     weight'[c] = s weight[c],   bias'[c] = s bias[c] + mu_t - s mu.
 * Layers are repaired one at a time in registration order (forward order in nn's models), each
 * measured with every earlier repair in place, so each layer's statistics hit their target on
 * the given data. The repaired layers are the norm modules (BatchNorm, LayerNorm2d: their affine
 * output), or, in a network without them, the convolutions with a bias.
 */
import { noGrad, Tensor } from '@tsgrad/autograd';
import { batchArray, BatchNormBase, Conv2d, LayerNorm2d, type AnyModule, type LabelledBatchLike } from '@tsgrad/nn';
import type { NDArray } from '@tsgrad/tensor';
import { linspace01 } from './barrier.ts';
import { curveBarriers, type InterpolationCurve } from './interpolate.ts';
import { evaluate, withWeights, type Batch } from './model.ts';
import type { StateDict } from './spec.ts';
import { lerpStateDicts } from './state.ts';

/** Data for statistics: input arrays, or batches whose targets are ignored. */
export type StatsBatch = NDArray | Batch;

function inputOf(b: StatsBatch): NDArray {
  return 'input' in b ? batchArray(b.input) : b;
}

/** The BatchNorm modules of `net` that keep running statistics. */
function batchNorms(net: AnyModule): BatchNormBase[] {
  return [...net.modules()].filter((m): m is BatchNormBase => m instanceof BatchNormBase && m.running_mean !== null);
}

/**
 * Recomputes the running statistics of every BatchNorm of `net`, in place, as the plain average
 * over `batches` (git-re-basin's reset_bn_stats): each BatchNorm is reset, switched to
 * momentum null (cumulative average) and to training mode, the batches are forwarded without a
 * graph, then momentum and every module's mode are restored. Other modules (Dropout) stay in
 * eval mode meanwhile. As in PyTorch, running_var is the mean of the per-batch unbiased
 * variances. Returns how many BatchNorms were reset (0: nothing to do). If a forward fails, the
 * statistics are put back as they were.
 * @example
 * net.loadStateDict(lerpStateDicts(0.5, sdA, sdB));
 * resetBatchNormStats(net, trainBatches.slice(0, 20));
 * evaluate(net, testBatches);
 */
export function resetBatchNormStats(net: AnyModule, batches: Iterable<StatsBatch>): number {
  const bns = batchNorms(net);
  if (bns.length === 0) return 0;
  const modes = [...net.modules()].map((m) => [m, m.training] as const);
  const saved = bns.map((m) => ({ m, momentum: m.momentum, stats: [m.running_mean!, m.running_var!, m.num_batches_tracked!].map((t) => t.data.data.slice()) }));
  let count = 0;
  try {
    net.eval();
    for (const m of bns) {
      m.momentum = null;
      m.resetRunningStats();
      m.training = true;
    }
    noGrad(() => {
      for (const b of batches) {
        net.call(new Tensor(inputOf(b)));
        count++;
      }
    });
    if (count === 0) throw new Error('resetBatchNormStats: no batches given');
  } catch (err) {
    for (const { m, stats } of saved) [m.running_mean!, m.running_var!, m.num_batches_tracked!].forEach((t, i) => t.data.data.set(stats[i]!));
    throw err;
  } finally {
    for (const { m, momentum } of saved) m.momentum = momentum;
    for (const [m, mode] of modes) m.training = mode;
  }
  return bns.length;
}

/** Per-channel mean and standard deviation (biased) of a layer's output. */
export interface ChannelStats {
  mean: Float64Array;
  std: Float64Array;
}

/**
 * The per-channel output statistics of the named modules of `net` (eval mode, no graph) over
 * `batches`: channels on axis 1, averaged over the batch and every position.
 * @example const stats = channelStats(net, ['features.1', 'features.5'], batches);
 */
export function channelStats(net: AnyModule, layers: readonly string[], batches: Iterable<StatsBatch>): Map<string, ChannelStats> {
  const acc = new Map<string, { sum: Float64Array; sq: Float64Array; n: number }>();
  const handles = layers.map((name) =>
    net.getSubmodule(name).registerForwardHook((_m: AnyModule, _args: unknown, out: Tensor) => {
      const y = out.data.contiguous();
      const c = y.shape[1]!;
      const inner = y.size / (y.shape[0]! * c);
      const a = acc.get(name) ?? { sum: new Float64Array(c), sq: new Float64Array(c), n: 0 };
      const d = y.data;
      for (let i = 0; i < y.size; i++) {
        const ch = Math.floor(i / inner) % c;
        const v = d[y.offset + i]!;
        a.sum[ch]! += v;
        a.sq[ch]! += v * v;
      }
      a.n += y.size / c;
      acc.set(name, a);
    }),
  );
  const wasTraining = net.training;
  try {
    net.train(false);
    noGrad(() => {
      for (const b of batches) net.call(new Tensor(inputOf(b)));
    });
  } finally {
    for (const h of handles) h.remove();
    net.train(wasTraining);
  }
  const out = new Map<string, ChannelStats>();
  for (const name of layers) {
    const a = acc.get(name);
    if (!a) throw new Error(`channelStats: layer '${name}' never ran (no batches, or not on the forward path)`);
    const mean = a.sum.map((s) => s / a.n);
    const std = a.sq.map((q, i) => Math.sqrt(Math.max(0, q / a.n - mean[i]! ** 2)));
    out.set(name, { mean, std });
  }
  return out;
}

/**
 * The layers REPAIR corrects by default: every BatchNorm and LayerNorm2d with an affine part,
 * or, if there is none, every Conv2d with a bias.
 * @example repairLayers(vgg); // ['features.1', 'features.5', ...]
 */
export function repairLayers(net: AnyModule): string[] {
  const all = [...net.namedModules()];
  const norms = all.filter(([, m]) => (m instanceof BatchNormBase || m instanceof LayerNorm2d) && m.weight !== null && m.bias !== null).map(([n]) => n);
  return norms.length > 0 ? norms : all.filter(([, m]) => m instanceof Conv2d && m.bias !== null).map(([n]) => n);
}

export interface RepairOptions {
  /** Module names to repair (default {@link repairLayers}). */
  layers?: readonly string[];
  /** Floor on the measured standard deviation (default 1e-5), so a dead channel is not blown up. */
  eps?: number;
}

/**
 * REPAIR (see the file comment): the interpolation (1 - lambda) A + lambda B with each repaired
 * layer's channel statistics rescaled to the interpolation of A's and B's. BatchNorm statistics
 * are reset on `batches` first. `net` is only borrowed (its weights are restored); returns the
 * repaired state dict.
 * @example
 * const mid = repair(net, sdA, applyPermutation(spec, perm, sdB), 0.5, trainBatches.slice(0, 10));
 * withWeights(net, mid, () => evaluate(net, testBatches));
 */
export function repair(net: AnyModule, sdA: StateDict, sdB: StateDict, lambda: number, batches: readonly StatsBatch[], opts: RepairOptions = {}): StateDict {
  const layers = opts.layers ?? repairLayers(net);
  if (layers.length === 0) throw new Error('repair: the network has no norm layer and no convolution with a bias to repair');
  const eps = opts.eps ?? 1e-5;
  const targets = [sdA, sdB].map((sd) => withWeights(net, sd, () => channelStats(net, layers, batches)));
  return withWeights(net, lerpStateDicts(lambda, sdA, sdB), () => {
    resetBatchNormStats(net, batches);
    for (const name of layers) {
      const now = channelStats(net, [name], batches).get(name)!;
      const a = targets[0]!.get(name)!;
      const b = targets[1]!.get(name)!;
      const module = net.getSubmodule(name) as { weight?: Tensor | null; bias?: Tensor | null };
      if (!module.weight || !module.bias) throw new Error(`repair: layer '${name}' has no weight and bias to fold the correction into`);
      const c = now.mean.length;
      const w = module.weight.data;
      const rows = w.size / c;
      for (let ch = 0; ch < c; ch++) {
        const muT = (1 - lambda) * a.mean[ch]! + lambda * b.mean[ch]!;
        const sigmaT = (1 - lambda) * a.std[ch]! + lambda * b.std[ch]!;
        const s = sigmaT / Math.max(now.std[ch]!, eps);
        for (let r = 0; r < rows; r++) w.data[w.offset + ch * rows + r]! *= s;
        const bias = module.bias.data;
        bias.data[bias.offset + ch] = s * bias.data[bias.offset + ch]! + muT - s * now.mean[ch]!;
      }
    }
    return net.stateDict({ clone: true });
  });
}

/** How interpolated weights are corrected before evaluation. */
export type StatsCorrection = 'none' | 'reset' | 'repair';

/**
 * The state dict at `lambda` on the line from A to B, with its statistics corrected on
 * `batches`: 'none' (plain interpolation), 'reset' (BatchNorm statistics recomputed) or
 * 'repair' (REPAIR). `net` is borrowed and restored.
 * @example const mid = correctedLerp(net, sdA, sdBAligned, 0.5, statsBatches, 'reset');
 */
export function correctedLerp(net: AnyModule, sdA: StateDict, sdB: StateDict, lambda: number, batches: readonly StatsBatch[], method: StatsCorrection = 'reset'): StateDict {
  const mid = lerpStateDicts(lambda, sdA, sdB);
  if (method === 'none') return mid;
  if (method === 'repair') return repair(net, sdA, sdB, lambda, batches);
  if (method !== 'reset') throw new Error(`correctedLerp: method must be 'none', 'reset' or 'repair', got '${method as string}'`);
  return withWeights(net, mid, () => {
    resetBatchNormStats(net, batches);
    return net.stateDict({ clone: true });
  });
}

/**
 * Like `interpolate`, but each point's weights are corrected by {@link correctedLerp} on `stats`
 * (a few training batches) before train and test are evaluated: the curve git-re-basin plots
 * for BatchNorm networks ('reset'), or REPAIR's.
 * @example
 * const curve = correctedInterpolation(net, sdA, sdBAligned, { train, test, stats: train.slice(0, 10), method: 'reset' });
 * curve.barrier.loss.test.maxMinusMean;
 */
export function correctedInterpolation(
  net: AnyModule,
  sdA: StateDict,
  sdB: StateDict,
  opts: { train: readonly LabelledBatchLike[]; test: readonly LabelledBatchLike[]; stats: readonly StatsBatch[]; method?: StatsCorrection; lambdas?: readonly number[]; onPoint?: (index: number, lambda: number) => void },
): InterpolationCurve {
  const lambdas = opts.lambdas ? [...opts.lambdas] : linspace01(25);
  const c: Omit<InterpolationCurve, 'barrier'> = { lambdas, trainLoss: [], testLoss: [], trainAcc: [], testAcc: [] };
  lambdas.forEach((l, i) => {
    const sd = correctedLerp(net, sdA, sdB, l, opts.stats, opts.method ?? 'reset');
    const [tr, te] = withWeights(net, sd, () => [evaluate(net, opts.train), evaluate(net, opts.test)]);
    c.trainLoss.push(tr!.loss);
    c.trainAcc.push(tr!.acc);
    c.testLoss.push(te!.loss);
    c.testAcc.push(te!.acc);
    opts.onPoint?.(i, l);
  });
  return { ...c, barrier: curveBarriers(c) };
}
