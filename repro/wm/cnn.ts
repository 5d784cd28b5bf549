/**
 * The convolutional part of the WM reproduction (issue item 7): VGG-11 and ResNet-20 (nn's
 * models, narrowed to fit the time budget) trained on MNIST from independent seeds, matched in
 * pairs by weight matching (wm's `vggSpec` / `resnet20Spec`), and compared as git-re-basin does
 * for BatchNorm networks: every interpolated model has its BatchNorm statistics recomputed on
 * training batches before it is evaluated (Jordan et al. 2023 show why the plain average's
 * statistics are wrong). Measured per pair: naive and WM barriers, the L2 ratio, R per layer.
 *
 * R of a convolution: its kernel [out, in, kh, kw] is read as the matrix [out, in * kh * kw]
 * (what the convolution multiplies its im2col columns by), so an input-channel permutation moves
 * blocks of kh * kw columns. Everything returned is plain JSON, so a pair is one resumable phase.
 */
import { Tensor } from '@tsgrad/autograd';
import { Adam, crossEntropy, ResNet20, VGG } from '@tsgrad/nn';
import type { NDArray } from '@tsgrad/tensor';
import {
  alignmentR,
  applyPermutation,
  assertInvariance,
  axisEntry,
  correctedInterpolation,
  l2Distance,
  layerSVDs,
  linspace01,
  permutationSpec,
  resnet20Spec,
  toBatches,
  vggSpec,
  weightMatching,
  type ArrayBatch as Batch,
  type AxisPerm,
  type InterpolationCurve,
  type PermutationSpec,
  type StateDict,
} from '@tsgrad/wm';
import { Progress } from '../lib/progress.ts';
import { GAMMAS, type MnistData } from './mlp.ts';
import { epochBatches } from './train.ts';

export const CNN_ARCHS = ['vgg11', 'resnet20'] as const;
export type CnnArch = (typeof CNN_ARCHS)[number];

export interface CnnConfig {
  archs: CnnArch[];
  /** Independent pairs per architecture (models 2p, 2p + 1). */
  pairs: number;
  /** Width multiplier (VGG: channels 16 x multiple x width; ResNet-20: 16 / 32 / 64 x width). */
  width: number;
  /** Training digits used (the first of the seeded training order). */
  trainSize: number;
  epochs: number;
  batchSize: number;
  lr: number;
  lambdas: number;
  /** Test digits for the curves (the first of the seeded test order). */
  evalTest: number;
  /** Training digits for the curves' train loss, and the BatchNorm statistics batches (of 100). */
  evalTrain: number;
  statsBatches: number;
}

export type CnnNet = VGG | ResNet20;

export function cnnModel(arch: CnnArch, width: number, seed: number): CnnNet {
  if (arch === 'vgg11') return new VGG({ inChannels: 1, inputSize: 28, width, norm: 'batch', seed });
  return new ResNet20({ inChannels: 1, width, norm: 'batch', seed });
}

export function cnnSpec(arch: CnnArch, net: CnnNet): PermutationSpec {
  return arch === 'vgg11' ? vggSpec(net) : resnet20Spec(net);
}

/** MNIST rows [N, 784] as images [N, 1, 28, 28] (a view, no copy). */
function asImages(x: NDArray): NDArray {
  return x.reshape([x.shape[0]!, 1, 28, 28]);
}

/** The data a CNN experiment reads: a training subset, curve batches and statistics batches. */
export interface CnnData {
  trainImages: NDArray;
  trainLabels: NDArray;
  evalTrain: Batch[];
  evalTest: Batch[];
  stats: Batch[];
}

export function cnnData(cfg: CnnConfig, data: MnistData): CnnData {
  const n = Math.min(cfg.trainSize, data.train.images.shape[0]!);
  const trainImages = asImages(data.train.images.slice(0, 0, n).contiguous());
  const trainLabels = data.train.labels.slice(0, 0, n).contiguous();
  const nt = Math.min(cfg.evalTrain, n);
  const te = Math.min(cfg.evalTest, data.test.images.shape[0]!);
  const evalTrain = toBatches(trainImages.slice(0, 0, nt), trainLabels.slice(0, 0, nt), 500);
  const evalTest = toBatches(asImages(data.test.images.slice(0, 0, te).contiguous()), data.test.labels.slice(0, 0, te), 500);
  // statistics batches from a different part of the training subset than the curve's train loss:
  // its last `statsBatches` batches of 100 (only those rows are copied)
  const from = Math.max(0, Math.ceil(n / 100) - cfg.statsBatches) * 100;
  const stats = toBatches(trainImages.slice(0, from, n), trainLabels.slice(0, from, n), 100);
  return { trainImages, trainLabels, evalTrain, evalTest, stats };
}

/** One CNN trained with Adam from `seed` (init and data order). */
export function trainCnn(arch: CnnArch, seed: number, cfg: CnnConfig, d: CnnData, label: string): { sd: StateDict; seconds: number; finalLoss: number } {
  const model = cnnModel(arch, cfg.width, seed);
  const opt = new Adam(model.parameters(), { lr: cfg.lr });
  const perEpoch = Math.ceil(d.trainImages.shape[0]! / cfg.batchSize);
  const progress = new Progress(cfg.epochs * perEpoch, { label, itemsPerStep: cfg.batchSize, itemName: 'ex' });
  const t0 = Date.now();
  let step = 0;
  let finalLoss = NaN;
  model.train(true);
  for (let epoch = 0; epoch < cfg.epochs; epoch++) {
    for (const b of epochBatches(d.trainImages, d.trainLabels, cfg.batchSize, seed, epoch)) {
      const loss = crossEntropy(model.call(new Tensor(b.input)), b.target);
      loss.backward();
      opt.step();
      opt.zeroGrad();
      finalLoss = loss.item();
      if (!Number.isFinite(finalLoss)) throw new Error(`${label}: loss is ${finalLoss} at step ${step + 1}`);
      progress.update(++step, { loss: finalLoss, epoch: epoch + 1 });
    }
  }
  progress.stop();
  model.train(false);
  return { sd: model.stateDict({ clone: true }), seconds: (Date.now() - t0) / 1000, finalLoss };
}

/**
 * Every 2-D weight and every conv kernel read as a matrix, with the spec that permutes those
 * matrices: a kernel's input axis becomes blocks of kh * kw columns (see the file comment).
 */
export function matricize(spec: PermutationSpec, sd: StateDict): { spec: PermutationSpec; sd: StateDict; keys: string[] } {
  const axes: Record<string, readonly AxisPerm[]> = {};
  const out: StateDict = {};
  for (const [key, perms] of Object.entries(spec.axesToPerm)) {
    const w = sd[key];
    if (w === undefined || (w.ndim !== 2 && w.ndim !== 4)) continue;
    if (w.ndim === 2) {
      axes[key] = perms;
      out[key] = w;
      continue;
    }
    const [o, i, kh, kw] = w.shape as [number, number, number, number];
    const inAxis = axisEntry(perms[1] ?? null);
    axes[key] = [perms[0] ?? null, inAxis === null ? null : { id: inAxis.id, group: inAxis.group * kh * kw }];
    out[key] = w.contiguous().reshape([o, i * kh * kw]);
  }
  return { spec: permutationSpec(axes), sd: out, keys: Object.keys(axes) };
}

export interface CnnPairResult {
  endpoints: { testAcc: number[]; testLoss: number[] };
  /** Curves with BatchNorm statistics reset at every point (git-re-basin's protocol). */
  curves: Record<'naive' | 'wm', InterpolationCurve>;
  /** The WM curve without the reset: how much the statistics matter. */
  wmNoReset: InterpolationCurve;
  l2Ratio: number;
  /** R(cross) overall per gamma, without permutation and after WM. */
  R: Record<'naive' | 'wm', number[]>;
  RPerLayer: Record<'naive' | 'wm', Record<string, number[]>>;
  wmSweeps: number;
  invarianceMaxAbsDiff: number;
}

/** WM of one independent CNN pair, with BatchNorm-reset interpolation curves, L2 and R. */
export function analyseCnnPair(arch: CnnArch, cfg: CnnConfig, d: CnnData, a: StateDict, b: StateDict, pair: number): CnnPairResult {
  const net = cnnModel(arch, cfg.width, 0);
  net.train(false);
  const spec = cnnSpec(arch, net);
  const res = weightMatching(spec, a, b, { seed: pair });
  const bAligned = applyPermutation(spec, res.perm, b);
  net.loadStateDict(b);
  const probe = d.evalTest[0]!.input.slice(0, 0, 16).contiguous();
  const inv = assertInvariance(net, bAligned, probe, { what: `${arch} WM permutation of pair ${pair}'s b` });
  const lambdas = linspace01(cfg.lambdas);
  const curve = (x: StateDict, y: StateDict, what: string, method: 'reset' | 'none') => {
    const progress = new Progress(lambdas.length, { label: `${arch} pair ${pair} ${what}` });
    const out = correctedInterpolation(net, x, y, { train: d.evalTrain, test: d.evalTest, stats: d.stats, method, lambdas, onPoint: (i) => progress.update(i + 1) });
    progress.stop();
    return out;
  };
  const curves = { naive: curve(a, b, 'naive', 'reset'), wm: curve(a, bAligned, 'wm', 'reset') };
  const wmNoReset = curve(a, bAligned, 'wm without BN reset', 'none');
  const flatA = matricize(spec, a);
  const flatB = matricize(spec, b);
  const svdA = layerSVDs(flatA.sd, flatA.keys);
  const svdB = layerSVDs(flatB.sd, flatB.keys);
  const naiveR = alignmentR(flatA.spec, svdA, svdB, null, GAMMAS);
  const wmR = alignmentR(flatA.spec, svdA, svdB, res.perm, GAMMAS);
  // endpoints as the curves see them (statistics reset on the same batches)
  const ends = [curves.naive.testAcc[0]!, curves.naive.testAcc.at(-1)!];
  return {
    endpoints: { testAcc: ends, testLoss: [curves.naive.testLoss[0]!, curves.naive.testLoss.at(-1)!] },
    curves,
    wmNoReset,
    l2Ratio: l2Distance(a, bAligned, flatA.keys) / l2Distance(a, b, flatA.keys),
    R: { naive: naiveR.overall, wm: wmR.overall },
    RPerLayer: { naive: naiveR.perLayer, wm: wmR.perLayer },
    wmSweeps: res.sweeps,
    invarianceMaxAbsDiff: inv.maxAbsDiff,
  };
}
