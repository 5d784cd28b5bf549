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
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadSafetensors, saveSafetensors } from '@tsgrad/nn';
import type { StateDict } from '@tsgrad/wm';
import { presetOf, type RunOptions } from '../lib/experiment.ts';
import { PhasePlan } from '../lib/phases.ts';
import { runInfo, writeJson, writeReport } from '../lib/results.ts';
import { analyseCnnPair, cnnData, trainCnn, type CnnPairResult } from './cnn.ts';
import { analyseGptPair, type GptPairResult } from './gpt.ts';
import { analysePair, mergeGroup, MlpContext, mnistData, type PairResult } from './mlp.ts';
import { writeWmPlots } from './plots.ts';
import { PRESETS } from './presets.ts';
import { writeWmReport } from './report.ts';
import { summarise, summariseCnn } from './summary.ts';
import { charData, trainGpt, trainMlp, type ValPoint } from './train.ts';

export { PRESETS };

function log(msg: string): void {
  console.error(`[wm] ${msg}`);
}

/** A trained model as a phase: trained once, stored as safetensors, loaded back on --resume. */
async function modelPhase<T extends object>(plan: PhasePlan, outDir: string, key: string, train: () => { sd: StateDict; info: T }): Promise<{ sd: StateDict; info: T }> {
  const path = join(outDir, 'models', `${key.replace(/[^A-Za-z0-9._-]+/g, '_')}.safetensors`);
  let fresh: StateDict | undefined;
  const info = await plan.run(key, () => {
    const t = train();
    mkdirSync(dirname(path), { recursive: true });
    saveSafetensors(path, t.sd);
    fresh = t.sd;
    return t.info;
  });
  if (fresh !== undefined) return { sd: fresh, info };
  if (!existsSync(path)) throw new Error(`wm: phase '${key}' is stored but its weights '${path}' are missing; rerun without --resume`);
  return { sd: loadSafetensors(path).tensors, info };
}

export async function run(opts: RunOptions): Promise<string> {
  const cfg = presetOf(PRESETS, opts.preset, 'wm');
  const pairs = opts.seeds !== undefined ? Math.max(1, Math.floor(opts.seeds / 2)) : cfg.pairs;
  const nModels = 3 * pairs;
  const t0 = performance.now();
  const plan = new PhasePlan({ outDir: opts.outDir, resume: opts.resume ?? false, settings: { ...cfg, pairs } });
  const data = mnistData(cfg.data);
  const ctx = new MlpContext(cfg, data);
  const nTrain = data.train.images.shape[0]!;
  const mlpSteps = cfg.mlp.epochs * Math.ceil(nTrain / cfg.mlp.batchSize);
  const steSteps = cfg.ste.epochs * Math.ceil(nTrain / cfg.ste.batchSize);
  for (let s = 0; s < nModels; s++) plan.expect(`mlp/model/seed${s}`, mlpSteps);
  for (let p = 0; p < pairs; p++) plan.expect(`mlp/pair${p}`, 2 * steSteps + 6 * cfg.lambdas);
  for (let p = 0; p < 2 * cfg.gpt.pairs; p++) plan.expect(`gpt/model/seed${p}`, cfg.gpt.maxSteps / 2);
  log(`${data.name}: ${nTrain} train, ${data.test.images.shape[0]} test; MLP ${cfg.mlp.widths.join('-')}, ${pairs} triplets (${nModels} models)`);

  // ---------------------------------------------------------------- MLPs
  const sds: StateDict[] = [];
  const modelInfo: { seed: number; seconds: number }[] = [];
  for (let s = 0; s < nModels; s++) {
    const m = await modelPhase(plan, opts.outDir, `mlp/model/seed${s}`, () => {
      const t = trainMlp(s, cfg.mlp, data.train.images, data.train.labels, `wm mlp seed ${s}`);
      return { sd: t.model.stateDict({ clone: true }), info: { seed: s, seconds: t.seconds } };
    });
    sds.push(m.sd);
    modelInfo.push(m.info);
  }
  const pairResults: PairResult[] = [];
  for (let p = 0; p < pairs; p++) {
    const [a, b, c] = [sds[3 * p]!, sds[3 * p + 1]!, sds[3 * p + 2]!];
    pairResults.push(await plan.run(`mlp/pair${p}`, () => analysePair(ctx, a, b, c, p, log)));
  }
  const merges = [];
  for (const k of cfg.mergeMany.filter((k) => k <= nModels)) {
    merges.push(await plan.run(`mlp/mergemany${k}`, () => mergeGroup(ctx, sds.slice(0, k))));
  }

  // ---------------------------------------------------------------- GPTs
  const text = charData(0);
  const gptModels: { sd: StateDict; info: { seed: number; seconds: number; curve: ValPoint[]; bestStep: number; stoppedEarly: boolean } }[] = [];
  for (let s = 0; s < 2 * cfg.gpt.pairs; s++) {
    gptModels.push(
      await modelPhase(plan, opts.outDir, `gpt/model/seed${s}`, () => {
        const t = trainGpt(s, cfg.gpt, text, `wm gpt seed ${s}`);
        log(`gpt seed ${s}: best val loss ${Math.min(...t.curve.map((c) => c.valLoss)).toFixed(4)} at step ${t.bestStep}${t.stoppedEarly ? ' (early stop)' : ' (max steps)'}`);
        return { sd: t.model.stateDict({ clone: true }), info: { seed: s, seconds: t.seconds, curve: t.curve, bestStep: t.bestStep, stoppedEarly: t.stoppedEarly } };
      }),
    );
  }
  const gptPairs: GptPairResult[] = [];
  for (let p = 0; p < cfg.gpt.pairs; p++) {
    gptPairs.push(await plan.run(`gpt/pair${p}`, () => analyseGptPair(cfg.gpt, text, gptModels[2 * p]!.sd, gptModels[2 * p + 1]!.sd, p, cfg.lambdas)));
  }

  // ---------------------------------------------------------------- CNNs
  const cd = cnnData(cfg.cnn, data);
  const cnnRuns: Record<string, { training: { seed: number; seconds: number; finalLoss: number }[]; pairs: CnnPairResult[] }> = {};
  for (const arch of cfg.cnn.archs) {
    const models: StateDict[] = [];
    const training: { seed: number; seconds: number; finalLoss: number }[] = [];
    for (let s = 0; s < 2 * cfg.cnn.pairs; s++) {
      const m = await modelPhase(plan, opts.outDir, `cnn/${arch}/seed${s}`, () => {
        const t = trainCnn(arch, s, cfg.cnn, cd, `wm ${arch} seed ${s}`);
        return { sd: t.sd, info: { seed: s, seconds: t.seconds, finalLoss: t.finalLoss } };
      });
      models.push(m.sd);
      training.push(m.info);
    }
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
