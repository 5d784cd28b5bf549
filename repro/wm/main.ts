/**
 * `pnpm repro wm`: a small-scale reproduction of the linear-mode-connectivity analysis of Ito,
 * Yamada and Kumagai (ICLR 2025) on top of Git Re-Basin's weight matching.
 *
 * MNIST ReLU MLPs from independent seeds; for the pair (a, b): interpolation curves for naive,
 * WM, AM and STE; the three barrier definitions; L2 distances before and after WM and after a
 * random permutation; singular values of pi(B) against B; R(gamma). Then the three-model test
 * (b and c each matched to a, barrier between pi_b(b) and pi_c(c), WM vs STE), MergeMany of all
 * models, and a first look at two character GPTs with the GPT spec.
 */
import { join } from 'node:path';
import { MLP } from '@tsgrad/nn';
import type { NDArray } from '@tsgrad/tensor';
import { loadMnist } from '@tsgrad/nn';
import {
  activationMatching,
  alignmentR,
  applyPermutation,
  assertInvariance,
  evaluate,
  gptPermutationSpec,
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
  type AlignmentResult,
  type ArrayBatch as Batch,
  type InterpolationCurve,
  type Permutation,
  type PermutationSpec,
  type StateDict,
} from '@tsgrad/wm';
import { presetOf, seedList, type RunOptions } from '../lib/experiment.ts';
import { barChart, lineChart, writeSvg } from '../lib/plot.ts';
import { Progress } from '../lib/progress.ts';
import { runInfo, writeJson, writeReport } from '../lib/results.ts';
import { writeWmReport } from './report.ts';
import type { GptSection } from './types.ts';
import { charData, epochBatches, trainGpt, trainMlp, windowBatches, type GptTrainConfig, type MlpTrainConfig } from './train.ts';

export const PRESETS = {
  quick: {
    // 640 Adam steps, about Ito et al.'s 600 (5 epochs of 60k at batch 500); batch 100 because
    // the split has only 8,000 training digits and the machine 2 cores.
    mlp: { widths: [784, 128, 128, 128, 10], epochs: 8, batchSize: 100, lr: 1e-3 } as MlpTrainConfig,
    models: 3,
    /** Train examples used for the interpolation curves (the test set is always all 2,000). */
    evalTrain: 2000,
    ste: { epochs: 3, batchSize: 100, lr: 3e-3 },
    gpt: { dModel: 32, nHeads: 4, nLayers: 2, contextLength: 32, batchSize: 16, steps: 150, lr: 3e-3, evalWindows: 64 } as GptTrainConfig,
  },
  full: {
    // Ito et al.'s MLP and optimizer; 40 epochs of 8,000 at batch 500 = 640 steps (theirs: 600).
    mlp: { widths: [784, 512, 512, 512, 10], epochs: 40, batchSize: 500, lr: 1e-3 } as MlpTrainConfig,
    models: 4,
    evalTrain: 8000,
    // STE-MM's defaults (Adam 1e-3, batch 256, 10 epochs).
    ste: { epochs: 10, batchSize: 256, lr: 1e-3 },
    gpt: { dModel: 64, nHeads: 4, nLayers: 2, contextLength: 32, batchSize: 32, steps: 600, lr: 3e-3, evalWindows: 256 } as GptTrainConfig,
  },
} as const;

export const GAMMAS = [0, 0.3, 0.5, 0.7];
const METHODS = ['naive', 'wm', 'am', 'ste'] as const;
type Method = (typeof METHODS)[number];

function log(msg: string): void {
  console.error(`[wm] ${msg}`);
}

function timed<T>(fn: () => T): [T, number] {
  const t = performance.now();
  const r = fn();
  return [r, (performance.now() - t) / 1000];
}

/** pi(B) must compute exactly B's function; refuse to go on otherwise. */
function checkPerm(net: MLP, spec: PermutationSpec, perm: Permutation, sd: StateDict, probe: NDArray, what: string): void {
  const held = net.stateDict({ clone: true });
  net.loadStateDict(sd);
  try {
    assertInvariance(net, applyPermutation(spec, perm, sd), probe, { what });
  } finally {
    net.loadStateDict(held);
  }
}

function rByGamma(r: AlignmentResult): Record<string, number> {
  return Object.fromEntries(r.gammas.map((g, i) => [String(g), r.overall[i]!]));
}

export async function run(opts: RunOptions): Promise<string> {
  const cfg = presetOf(PRESETS, opts.preset, 'wm');
  const t0 = Date.now();
  const seeds = seedList(opts, cfg.models);
  if (seeds.length < 3) throw new Error(`wm: the three-model test needs at least 3 seeds, got ${seeds.length}`);
  const lambdas = linspace01(25);

  // ---------------------------------------------------------------- data and endpoints
  const { train, test } = loadMnist({ seed: 0 });
  const nTrain = train.images.shape[0]!;
  const evalTrain = toBatches(train.images.slice(0, 0, cfg.evalTrain), train.labels.slice(0, 0, cfg.evalTrain), 1000);
  const evalTest = toBatches(test.images, test.labels, 1000);
  const fullTrain = toBatches(train.images, train.labels, 500);
  const probe = test.images.slice(0, 0, 64).contiguous();
  log(`MNIST split: ${nTrain} train, ${test.images.shape[0]} test; MLP ${cfg.mlp.widths.join('-')}, ${seeds.length} models`);

  const trained = seeds.map((s) => trainMlp(s, cfg.mlp, train.images, train.labels, `wm mlp seed ${s}`));
  const models = trained.map((t) => t.model);
  const sds = models.map((m) => m.stateDict({ clone: true }));
  const endpointEval = models.map((m, i) => ({
    seed: seeds[i]!,
    seconds: trained[i]!.seconds,
    train: evaluate(m, fullTrain),
    test: evaluate(m, evalTest),
  }));
  for (const e of endpointEval) {
    log(`model seed ${e.seed}: train acc ${e.train.acc.toFixed(4)} loss ${e.train.loss.toFixed(4)}, test acc ${e.test.acc.toFixed(4)} loss ${e.test.loss.toFixed(4)}`);
  }

  const spec = mlpPermutationSpec(models[0]!);
  const scratch = new MLP(cfg.mlp.widths, { seed: 999 });
  // The spec must be a symmetry of the model before anything else is trusted.
  for (let i = 0; i < models.length; i++) {
    checkPerm(scratch, spec, randomPermutation(spec, sds[i]!, 100 + i), sds[i]!, probe, `random permutation of model ${i}`);
  }
  log('invariance: random permutations leave every model\'s outputs unchanged');

  // ---------------------------------------------------------------- pair (a, b)
  const [a, b, c] = [sds[0]!, sds[1]!, sds[2]!];
  const [wmRes, wmSeconds] = timed(() => weightMatching(spec, a, b, { seed: 0 }));
  log(`WM: ${wmRes.sweeps} sweeps in ${wmSeconds.toFixed(2)} s, objective ${wmRes.objective[0]!.toFixed(3)} -> ${wmRes.objective.at(-1)!.toFixed(3)}`);
  const [amRes, amSeconds] = timed(() => activationMatching(spec, models[0]!, models[1]!, fullTrain, { features: mlpFeatureSources(spec) }));
  log(`AM: ${amRes.rows} rows in ${amSeconds.toFixed(2)} s`);

  const steRun = (target: StateDict, source: StateDict, label: string) => {
    const steps = cfg.ste.epochs * Math.ceil(nTrain / cfg.ste.batchSize);
    const progress = new Progress(steps, { label });
    const [res, seconds] = timed(() =>
      steMatching(spec, scratch, target, source, (epoch) => epochBatches(train.images, train.labels, cfg.ste.batchSize, 77, epoch), {
        epochs: cfg.ste.epochs,
        lr: cfg.ste.lr,
        optimizer: 'adam',
        seed: 0,
        onStep: (s) => progress.update(s.step, { loss: s.loss, best: s.bestLoss, wmSweeps: s.wmSweeps }),
      }),
    );
    progress.stop();
    return { res, seconds };
  };
  const steAB = steRun(a, b, 'wm STE b->a');

  const perms: Record<Exclude<Method, 'naive'>, Permutation> = { wm: wmRes.perm, am: amRes.perm, ste: steAB.res.perm };
  for (const [m, p] of Object.entries(perms)) checkPerm(scratch, spec, p, b, probe, `${m} permutation of model b`);
  log('invariance: the WM, AM and STE permutations leave model b\'s outputs unchanged');

  const curves = {} as Record<Method, InterpolationCurve>;
  const curve = (x: StateDict, y: StateDict, label: string) => {
    const progress = new Progress(lambdas.length, { label });
    const out = interpolate(x, y, lambdas, { train: evalTrain, test: evalTest, net: scratch, onPoint: (i) => progress.update(i + 1) });
    progress.stop();
    return out;
  };
  curves.naive = curve(a, b, 'interp naive');
  for (const m of ['wm', 'am', 'ste'] as const) curves[m] = curve(a, applyPermutation(spec, perms[m], b), `interp ${m}`);

  // ---------------------------------------------------------------- distances and spectra
  const randomPerm = randomPermutation(spec, b, 12345);
  const l2 = {
    before: l2Distance(a, b),
    afterWm: l2Distance(a, applyPermutation(spec, perms.wm, b)),
    afterRandom: l2Distance(a, applyPermutation(spec, randomPerm, b)),
    afterAm: l2Distance(a, applyPermutation(spec, perms.am, b)),
    afterSte: l2Distance(a, applyPermutation(spec, perms.ste, b)),
  };
  const l2Ratio = { wm: l2.afterWm / l2.before, random: l2.afterRandom / l2.before, am: l2.afterAm / l2.before, ste: l2.afterSte / l2.before };
  log(`L2: before ${l2.before.toFixed(3)}, WM ${l2.afterWm.toFixed(3)} (x${l2Ratio.wm.toFixed(3)}), random ${l2.afterRandom.toFixed(3)} (x${l2Ratio.random.toFixed(3)})`);

  const keys = weightMatrixKeys(spec, a);
  const [spectra, svdSeconds] = timed(() => {
    const svA = layerSVDs(a, keys);
    const svB = layerSVDs(b, keys);
    const permutedB = singularValues(applyPermutation(spec, perms.wm, b), keys);
    return { svA, svB, permutedB };
  });
  const sB = Object.fromEntries(keys.map((k) => [k, spectra.svB[k]!.s]));
  const singularValuesMaxAbsDiff = maxAbsSpectrumDiff(sB, spectra.permutedB);
  const sA = Object.fromEntries(keys.map((k) => [k, spectra.svA[k]!.s]));
  log(`SVDs in ${svdSeconds.toFixed(1)} s; max |sigma(B) - sigma(pi_WM(B))| = ${singularValuesMaxAbsDiff.toExponential(2)}`);

  const rResults: Record<Method, AlignmentResult> = {
    naive: alignmentR(spec, spectra.svA, spectra.svB, null, GAMMAS),
    wm: alignmentR(spec, spectra.svA, spectra.svB, perms.wm, GAMMAS),
    am: alignmentR(spec, spectra.svA, spectra.svB, perms.am, GAMMAS),
    ste: alignmentR(spec, spectra.svA, spectra.svB, perms.ste, GAMMAS),
  };
  for (const m of METHODS) log(`R ${m}: ${rResults[m].overall.map((v, i) => `g=${GAMMAS[i]} ${v.toFixed(3)}`).join(', ')}`);

  // ---------------------------------------------------------------- three models
  const wmAC = weightMatching(spec, a, c, { seed: 1 });
  const steAC = steRun(a, c, 'wm STE c->a');
  checkPerm(scratch, spec, wmAC.perm, c, probe, 'WM permutation of model c');
  checkPerm(scratch, spec, steAC.res.perm, c, probe, 'STE permutation of model c');
  const threeModel = {
    wm: curve(applyPermutation(spec, perms.wm, b), applyPermutation(spec, wmAC.perm, c), 'three-model wm'),
    ste: curve(applyPermutation(spec, perms.ste, b), applyPermutation(spec, steAC.res.perm, c), 'three-model ste'),
  };
  const threeModelNaive = curve(b, c, 'three-model naive');

  // ---------------------------------------------------------------- MergeMany
  const [merge, mergeSeconds] = timed(() =>
    mergeMany(spec, sds, { seed: 0, onSweep: (s, d) => log(`MergeMany sweep ${s}: summed distance to the others' mean ${d.toFixed(3)}`) }),
  );
  const evalSd = (sd: StateDict) => {
    const held = scratch.stateDict({ clone: true });
    scratch.loadStateDict(sd);
    try {
      return { train: evaluate(scratch, evalTrain), test: evaluate(scratch, evalTest) };
    } finally {
      scratch.loadStateDict(held);
    }
  };
  const mergeMetrics = {
    models: sds.length,
    sweeps: merge.sweeps,
    seconds: mergeSeconds,
    distances: merge.distances,
    merged: evalSd(merge.merged),
    naiveMean: evalSd(meanStateDicts(sds)),
    endpointsTestAcc: endpointEval.map((e) => e.test.acc),
    endpointsTestLoss: endpointEval.map((e) => e.test.loss),
  };
  log(`MergeMany of ${sds.length}: test acc ${mergeMetrics.merged.test.acc.toFixed(4)} (naive mean ${mergeMetrics.naiveMean.test.acc.toFixed(4)})`);

  // ---------------------------------------------------------------- GPT, a first look
  const gpt = runGpt(cfg.gpt, lambdas);

  // ---------------------------------------------------------------- outputs
  const R = Object.fromEntries(METHODS.map((m) => [m, rByGamma(rResults[m])]));
  const RPerLayer = Object.fromEntries(METHODS.map((m) => [m, rResults[m].perLayer]));
  const RCounts = rResults.naive.counts;
  const metrics = {
    experiment: 'wm',
    preset: opts.preset,
    config: { ...cfg, seeds, gammas: GAMMAS, lambdas: lambdas.length },
    run: runInfo(),
    wallSeconds: 0,
    data: { train: nTrain, test: test.images.shape[0], curveTrainExamples: cfg.evalTrain },
    endpoints: endpointEval,
    naive: curves.naive,
    wm: curves.wm,
    am: curves.am,
    ste: curves.ste,
    l2: { ...l2, ratio: l2Ratio },
    singularValuesMaxAbsDiff,
    singularValues: { a: sA, b: sB },
    R,
    RPerLayer,
    RCounts,
    threeModel: { ...threeModel, naive: threeModelNaive },
    mergeMany: mergeMetrics,
    permAgreement: { steWm: agreement(perms.ste, perms.wm), amWm: agreement(perms.am, perms.wm) },
    wmSweeps: wmRes.sweeps,
    wmSeconds,
    wmObjective: wmRes.objective,
    amSeconds,
    steRuns: {
      ab: { seconds: steAB.seconds, steps: steAB.res.steps, bestLoss: steAB.res.bestLoss, drift: steAB.res.drift, losses: steAB.res.losses, meanWmSweeps: mean(steAB.res.wmSweeps) },
      ac: { seconds: steAC.seconds, steps: steAC.res.steps, bestLoss: steAC.res.bestLoss, drift: steAC.res.drift, meanWmSweeps: mean(steAC.res.wmSweeps) },
    },
    gpt,
  };
  metrics.wallSeconds = (Date.now() - t0) / 1000;
  writeJson(join(opts.outDir, 'metrics.json'), metrics);

  await writePlots(opts.outDir, curves, threeModel, threeModelNaive, rResults, sA, sB, gpt);
  return writeReport(opts.outDir, writeWmReport({ preset: opts.preset, cfg, metrics }));
  log(`wrote ${join(opts.outDir, 'metrics.json')}, report.md and plots in ${metrics.wallSeconds.toFixed(0)} s`);
}

/** Fraction of hidden units that two permutations map to the same unit. */
function agreement(p: Permutation, q: Permutation): number {
  let same = 0;
  let total = 0;
  for (const id of Object.keys(p)) {
    const a = p[id]!;
    const b = q[id]!;
    for (let i = 0; i < a.length; i++) {
      total++;
      if (a[i] === b[i]) same++;
    }
  }
  return total > 0 ? same / total : NaN;
}

function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : NaN;
}

/** Two GPTs from different seeds, naive vs WM (residual identity or shared) interpolation. */
function runGpt(cfg: GptTrainConfig, lambdas: number[]): GptSection {
  const data = charData(0);
  const a = trainGpt(0, cfg, data, 'wm gpt seed 0');
  const b = trainGpt(1, cfg, data, 'wm gpt seed 1');
  const evalTrain: Batch[] = windowBatches(data.train, cfg.contextLength, cfg.evalWindows, 32);
  const evalVal: Batch[] = windowBatches(data.val, cfg.contextLength, cfg.evalWindows, 32);
  const endpoints = [a, b].map((t, i) => ({
    seed: i,
    seconds: t.seconds,
    train: evaluate(t.model, evalTrain),
    val: evaluate(t.model, evalVal),
  }));
  for (const e of endpoints) log(`gpt seed ${e.seed}: val loss ${e.val.loss.toFixed(4)} acc ${e.val.acc.toFixed(4)}`);
  const sdA = a.model.stateDict({ clone: true });
  const sdB = b.model.stateDict({ clone: true });
  const probe = evalVal[0]!.input.slice(0, 0, 4).contiguous();
  const invariance: Record<string, number> = {};
  const curves: Record<string, InterpolationCurve> = {};
  const l2: Record<string, number> = { before: l2Distance(sdA, sdB) };
  const wm: Record<string, { sweeps: number; seconds: number }> = {};
  const interp = (x: StateDict, y: StateDict, label: string) => {
    const progress = new Progress(lambdas.length, { label });
    const out = interpolate(x, y, lambdas, { train: evalTrain, test: evalVal, net: a.model, onPoint: (i) => progress.update(i + 1) });
    progress.stop();
    return out;
  };
  curves.naive = interp(sdA, sdB, 'gpt interp naive');
  for (const residual of ['identity', 'shared'] as const) {
    const spec = gptPermutationSpec(a.model, { residual, heads: true });
    // Refuse to continue unless a random permutation keeps the logits.
    const r = assertInvariance(a.model, applyPermutation(spec, randomPermutation(spec, sdA, 5), sdA), probe, { what: `GPT spec, residual ${residual}` });
    invariance[residual] = r.maxAbsDiff;
    const [res, seconds] = timed(() => weightMatching(spec, sdA, sdB, { seed: 0 }));
    wm[residual] = { sweeps: res.sweeps, seconds };
    const held = a.model.stateDict({ clone: true });
    a.model.loadStateDict(sdB);
    try {
      assertInvariance(a.model, applyPermutation(spec, res.perm, sdB), probe, { what: `GPT WM permutation, residual ${residual}` });
    } finally {
      a.model.loadStateDict(held);
    }
    const permuted = applyPermutation(spec, res.perm, sdB);
    l2[`afterWm_${residual}`] = l2Distance(sdA, permuted);
    l2[`afterRandom_${residual}`] = l2Distance(sdA, applyPermutation(spec, randomPermutation(spec, sdB, 7), sdB));
    log(`gpt WM (residual ${residual}): ${res.sweeps} sweeps, L2 ${l2.before.toFixed(3)} -> ${l2[`afterWm_${residual}`]!.toFixed(3)}`);
    curves[`wm_${residual}`] = interp(sdA, permuted, `gpt interp wm ${residual}`);
  }
  return { config: cfg, vocabSize: data.tokenizer.vocabSize, endpoints, invariance, curves, l2, wm };
}

async function writePlots(
  outDir: string,
  curves: Record<Method, InterpolationCurve>,
  threeModel: { wm: InterpolationCurve; ste: InterpolationCurve },
  threeModelNaive: InterpolationCurve,
  r: Record<Method, AlignmentResult>,
  sA: Record<string, Float64Array>,
  sB: Record<string, Float64Array>,
  gpt: GptSection,
): Promise<void> {
  const panels = [
    ['testLoss', 'test loss'],
    ['trainLoss', 'train loss'],
    ['testAcc', 'test accuracy'],
    ['trainAcc', 'train accuracy'],
  ] as const;
  for (const [field, name] of panels) {
    writeSvg(
      join(outDir, `interp_${field}.svg`),
      await lineChart({
        title: `MLP interpolation A -> pi(B): ${name}`,
        xLabel: 'lambda',
        yLabel: name,
        series: METHODS.map((m) => ({ name: m, x: curves[m].lambdas, y: curves[m][field] })),
      }),
    );
    writeSvg(
      join(outDir, `three_model_${field}.svg`),
      await lineChart({
        title: `pi_b(b) -> pi_c(c), both matched to a: ${name}`,
        xLabel: 'lambda',
        yLabel: name,
        series: [
          { name: 'naive (b -> c)', x: threeModelNaive.lambdas, y: threeModelNaive[field] },
          { name: 'wm', x: threeModel.wm.lambdas, y: threeModel.wm[field] },
          { name: 'ste', x: threeModel.ste.lambdas, y: threeModel.ste[field] },
        ],
      }),
    );
  }
  writeSvg(
    join(outDir, 'R_gamma.svg'),
    await barChart({
      title: 'Singular-vector alignment R(gamma) between A and pi(B)',
      xLabel: 'gamma',
      yLabel: 'R',
      categories: GAMMAS.map(String),
      series: METHODS.map((m) => ({ name: m, values: r[m].overall })),
    }),
  );
  for (const key of Object.keys(sA)) {
    const a = Array.from(sA[key]!);
    const b = Array.from(sB[key]!);
    writeSvg(
      join(outDir, `spectrum_${key.replace(/[^A-Za-z0-9]+/g, '_')}.svg`),
      await lineChart({
        title: `Singular values of ${key} (pi(B) has exactly B's)`,
        xLabel: 'index',
        yLabel: 'sigma',
        points: false,
        series: [
          { name: 'A', x: a.map((_, i) => i), y: a },
          { name: 'B = pi(B)', x: b.map((_, i) => i), y: b },
        ],
      }),
    );
  }
  for (const [field, name] of [['testLoss', 'validation loss'], ['testAcc', 'validation next-char accuracy']] as const) {
    writeSvg(
      join(outDir, `gpt_interp_${field}.svg`),
      await lineChart({
        title: `GPT interpolation A -> pi(B): ${name}`,
        xLabel: 'lambda',
        yLabel: name,
        series: Object.entries(gpt.curves).map(([n, cv]) => ({ name: n, x: cv.lambdas, y: cv[field] })),
      }),
    );
  }
}
