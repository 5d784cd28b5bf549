/**
 * `pnpm repro wm`: the linear-mode-connectivity analysis of Ito, Yamada and Kumagai (ICLR 2025)
 * on top of Git Re-Basin's weight matching, with independent model pairs and paired statistics.
 *
 * MLPs: 3 * pairs models from independent seeds, in independent triplets (a, b, c) = models
 * (3p, 3p + 1, 3p + 2): for each pair (a, b), naive / WM / AM / STE interpolation, barriers, L2
 * ratios, singular values, R(gamma) over several WM searches, STE's training trace; the
 * three-model test with the triplet's c; MergeMany over groups of 4 and 8. GPTs: pairs trained to
 * early stopping, WM with whole-head permutations, identity vs shared residual. CNNs: VGG-11 and
 * ResNet-20 pairs on MNIST, WM with BatchNorm statistics reset along the path. Every trained
 * model and every pair is a phase (models as safetensors under outDir/models), so `--resume`
 * continues an interrupted run.
 */
import { join } from 'node:path';
import { presetOf, type RunOptions } from '../lib/experiment.ts';
import { PhasePlan } from '../lib/phases.ts';
import { runInfo, writeJson, writeReport } from '../lib/results.ts';
import { analyseCnnPair, type CnnPairResult } from './cnn.ts';
import { analyseGptPair, type GptPairResult } from './gpt.ts';
import { mergeGroup, type PairResult } from './mlp.ts';
import { childArgs, modelPhases, WmPhaseEnv } from './phase-env.ts';
import { writeWmPlots } from './plots.ts';
import { PRESETS } from './presets.ts';
import { writeWmReport } from './report.ts';
import { summarise, summariseCnn } from './summary.ts';
import type { ValPoint } from './train.ts';

export { PRESETS };

function log(msg: string): void {
  console.error(`[wm] ${msg}`);
}

export async function run(opts: RunOptions): Promise<string> {
  const cfg = presetOf(PRESETS, opts.preset, 'wm');
  const pairs = opts.seeds !== undefined ? Math.max(1, Math.floor(opts.seeds / 2)) : cfg.pairs;
  const nModels = 3 * pairs;
  const t0 = performance.now();
  const plan = new PhasePlan({ outDir: opts.outDir, resume: opts.resume ?? false, settings: { ...cfg, pairs } });
  const jobs = opts.jobs ?? 1;
  const child = childArgs({ preset: opts.preset, outDir: opts.outDir, pairs });
  const env = new WmPhaseEnv(cfg, pairs, opts.outDir, log);
  const data = env.data;
  const ctx = env.ctx;
  const nTrain = data.train.images.shape[0]!;
  const mlpSteps = cfg.mlp.epochs * Math.ceil(nTrain / cfg.mlp.batchSize);
  const steSteps = cfg.ste.epochs * Math.ceil(nTrain / cfg.ste.batchSize);
  for (let s = 0; s < nModels; s++) plan.expect(`mlp/model/seed${s}`, mlpSteps);
  for (let p = 0; p < pairs; p++) plan.expect(`mlp/pair${p}`, 2 * steSteps + 6 * cfg.lambdas);
  for (let p = 0; p < 2 * cfg.gpt.pairs; p++) plan.expect(`gpt/model/seed${p}`, cfg.gpt.maxSteps / 2);
  log(`${data.name}: ${nTrain} train, ${data.test.images.shape[0]} test; MLP ${cfg.mlp.widths.join('-')}, ${pairs} triplets (${nModels} models)`);

  // ---------------------------------------------------------------- MLPs
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  const mlpModels = await modelPhases<{ seed: number; seconds: number }>(plan, env, range(nModels).map((s) => `mlp/model/seed${s}`), jobs, child);
  const sds = mlpModels.map((m) => m.sd);
  const modelInfo = mlpModels.map((m) => m.info);
  const pairResults = await plan.runParallel(range(pairs).map((p) => `mlp/pair${p}`), jobs, (k) => env.computePhase(k) as PairResult, child);
  const merges = [];
  for (const k of cfg.mergeMany.filter((k) => k <= nModels)) {
    merges.push(await plan.run(`mlp/mergemany${k}`, () => mergeGroup(ctx, sds.slice(0, k))));
  }

  // ---------------------------------------------------------------- GPTs
  const text = env.text;
  type GptInfo = { seed: number; seconds: number; curve: ValPoint[]; bestStep: number; stoppedEarly: boolean };
  const gptModels = await modelPhases<GptInfo>(plan, env, range(2 * cfg.gpt.pairs).map((s) => `gpt/model/seed${s}`), jobs, child);
  const gptPairs: GptPairResult[] = [];
  for (let p = 0; p < cfg.gpt.pairs; p++) {
    gptPairs.push(await plan.run(`gpt/pair${p}`, () => analyseGptPair(cfg.gpt, text, gptModels[2 * p]!.sd, gptModels[2 * p + 1]!.sd, p, cfg.lambdas)));
  }

  // ---------------------------------------------------------------- CNNs
  const cd = env.cnn;
  const cnnRuns: Record<string, { training: { seed: number; seconds: number; finalLoss: number }[]; pairs: CnnPairResult[] }> = {};
  for (const arch of cfg.cnn.archs) {
    const trained = await modelPhases<{ seed: number; seconds: number; finalLoss: number }>(plan, env, range(2 * cfg.cnn.pairs).map((s) => `cnn/${arch}/seed${s}`), jobs, child);
    const models = trained.map((m) => m.sd);
    const training = trained.map((m) => m.info);
    const cnnPairs: CnnPairResult[] = [];
    for (let p = 0; p < cfg.cnn.pairs; p++) {
      cnnPairs.push(await plan.run(`cnn/${arch}/pair${p}`, () => analyseCnnPair(arch, cfg.cnn, cd, models[2 * p]!, models[2 * p + 1]!, p)));
      const last = cnnPairs.at(-1)!;
      log(`${arch} pair ${p}: barrier naive ${last.curves.naive.barrier.loss.test.maxGapToLinear.toFixed(3)}, wm ${last.curves.wm.barrier.loss.test.maxGapToLinear.toFixed(3)}, L2 ratio ${last.l2Ratio.toFixed(3)}`);
    }
    cnnRuns[arch] = { training, pairs: cnnPairs };
  }

  // ---------------------------------------------------------------- outputs
  const wallSeconds = (performance.now() - t0) / 1000;
  const summary = summarise(pairResults, merges, gptPairs);
  const cnn = summariseCnn(cnnRuns, cfg.cnn, cd.trainImages.shape[0]!);
  const metrics = {
    experiment: 'wm',
    preset: opts.preset,
    config: { ...cfg, pairs },
    run: runInfo(),
    wallSeconds,
    resumedPhases: plan.resumed,
    dataset: { name: data.name, train: nTrain, test: data.test.images.shape[0]!, curveTrainExamples: Math.min(cfg.evalTrain, nTrain) },
    pairs,
    models: modelInfo,
    ...summary,
    gpt: { ...summary.gpt, pairs: cfg.gpt.pairs, training: gptModels.map((m) => m.info) },
    cnn,
    verdicts: [...summary.verdicts, ...cnn.verdicts],
    perPair: pairResults,
    gptPerPair: gptPairs,
    cnnPerPair: Object.fromEntries(Object.entries(cnnRuns).map(([k, v]) => [k, v.pairs])),
  };
  writeJson(join(opts.outDir, 'metrics.json'), metrics);
  await writeWmPlots(opts.outDir, pairResults, gptPairs, gptModels.map((m) => m.info.curve), Object.fromEntries(Object.entries(cnnRuns).map(([k, v]) => [k, v.pairs])));
  log(`done in ${wallSeconds.toFixed(0)} s`);
  return writeReport(opts.outDir, writeWmReport({ preset: opts.preset, cfg, metrics }));
}
