/**
 * `pnpm repro wm`: the linear-mode-connectivity analysis of Ito, Yamada and Kumagai (ICLR 2025)
 * on top of Git Re-Basin's weight matching, with independent model pairs and paired statistics.
 *
 * MLPs: 2 * pairs models from independent seeds; for each pair (a, b) = models (2p, 2p + 1):
 * naive / WM / AM / STE interpolation, barriers, L2 ratios, singular values, R(gamma) over several
 * WM searches, STE's training trace; the three-model test with c = model (2p + 2) mod n; MergeMany
 * over groups of 4 and 8. GPTs: pairs trained to early stopping, WM with whole-head permutations,
 * identity vs shared residual. Every trained model and every pair is a phase (models as
 * safetensors under outDir/models), so `--resume` continues an interrupted run.
 * CNNs (VGG / ResNet20 on MNIST) wait for the convolution branch: `cnn` is null in metrics.json.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadSafetensors, saveSafetensors } from '@tsgrad/nn';
import type { StateDict } from '@tsgrad/wm';
import { presetOf, type RunOptions } from '../lib/experiment.ts';
import { PhasePlan } from '../lib/phases.ts';
import { runInfo, writeJson, writeReport } from '../lib/results.ts';
import { analyseGptPair, type GptPairResult } from './gpt.ts';
import { analysePair, mergeGroup, MlpContext, mnistData, type PairResult } from './mlp.ts';
import { writeWmPlots } from './plots.ts';
import { PRESETS } from './presets.ts';
import { writeWmReport } from './report.ts';
import { summarise } from './summary.ts';
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
  const nModels = Math.max(3, 2 * pairs);
  const t0 = performance.now();
  const plan = new PhasePlan({ outDir: opts.outDir, resume: opts.resume ?? false, settings: { ...cfg, pairs } });
  const data = mnistData();
  const ctx = new MlpContext(cfg, data);
  const nTrain = data.train.images.shape[0]!;
  const mlpSteps = cfg.mlp.epochs * Math.ceil(nTrain / cfg.mlp.batchSize);
  const steSteps = cfg.ste.epochs * Math.ceil(nTrain / cfg.ste.batchSize);
  for (let s = 0; s < nModels; s++) plan.expect(`mlp/model/seed${s}`, mlpSteps);
  for (let p = 0; p < pairs; p++) plan.expect(`mlp/pair${p}`, 2 * steSteps + 6 * cfg.lambdas);
  for (let p = 0; p < 2 * cfg.gpt.pairs; p++) plan.expect(`gpt/model/seed${p}`, cfg.gpt.maxSteps / 2);
  log(`${data.name}: ${nTrain} train, ${data.test.images.shape[0]} test; MLP ${cfg.mlp.widths.join('-')}, ${pairs} pairs (${nModels} models)`);

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
    const [a, b, c] = [sds[2 * p]!, sds[2 * p + 1]!, sds[(2 * p + 2) % nModels]!];
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

  // ---------------------------------------------------------------- outputs
  const wallSeconds = (performance.now() - t0) / 1000;
  const summary = summarise(pairResults, merges, gptPairs);
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
    cnn: null as null,
    perPair: pairResults,
    gptPerPair: gptPairs,
  };
  writeJson(join(opts.outDir, 'metrics.json'), metrics);
  await writeWmPlots(opts.outDir, pairResults, gptPairs, gptModels.map((m) => m.info.curve));
  log(`done in ${wallSeconds.toFixed(0)} s`);
  return writeReport(opts.outDir, writeWmReport({ preset: opts.preset, cfg, metrics }));
}
