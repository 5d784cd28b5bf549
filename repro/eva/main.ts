/**
 * `pnpm repro eva`: a small-scale reproduction of EVA (Paischer et al., "Parameter
 * Efficient Fine-tuning via Explained Variance Adaptation", arXiv:2410.07170) against the
 * LoRA baselines default (random A), gaussian, PiSSA and OLoRA, on two tasks (see
 * tasks.ts), three seeds each, with the same fine-tuning budget for every init.
 *
 * Writes metrics.json, loss curves with mean ± std bands, the EVA rank allocation per
 * layer, the gradient norm at step 0, the init-time share, and report.md, which checks
 * four of the paper's claims against the numbers.
 */
import { join } from 'node:path';
import { presetOf, seedList, type RunOptions } from '../lib/experiment.ts';
import { PhasePlan } from '../lib/phases.ts';
import { barChart, lineChart, writeSvg } from '../lib/plot.ts';
import { meanStd, runInfo, writeJson, writeReport } from '../lib/results.ts';
import { finetune, METHODS, type FinetuneConfig, type RunResult } from './finetune.ts';
import { buildReport, taskVerdicts, type TaskSummary } from './report.ts';
import { languageTask, visionTask, type LanguageConfig, type Task, type VisionConfig } from './tasks.ts';

interface Preset {
  seeds: number;
  language: LanguageConfig;
  languageFt: FinetuneConfig;
  vision: VisionConfig;
  visionFt: FinetuneConfig;
}

const PRESETS: Record<'quick' | 'full', Preset> = {
  quick: {
    seeds: 3,
    language: { dModel: 32, nHeads: 4, nLayers: 2, contextLength: 32, pretrainSteps: 300, pretrainBatch: 16, pretrainLr: 3e-3, batchSize: 8, evalBatches: 4, evaBatchSize: 8, evaBatches: 30 },
    languageFt: { steps: 60, lr: 3e-3, warmupFraction: 0.03, evalEvery: 10, r: 8, alpha: 8, tau: 0.99, maxEvaBatches: 300 },
    vision: { hidden: [256, 128, 64], pretrainEpochs: 2, pretrainBatch: 64, pretrainLr: 2e-3, batchSize: 64, evaBatchSize: 128, evaBatches: 30 },
    visionFt: { steps: 100, lr: 3e-3, warmupFraction: 0.03, evalEvery: 10, r: 8, alpha: 8, tau: 0.99, maxEvaBatches: 300 },
  },
  full: {
    seeds: 3,
    language: { dModel: 48, nHeads: 4, nLayers: 3, contextLength: 64, pretrainSteps: 2000, pretrainBatch: 16, pretrainLr: 2e-3, batchSize: 16, evalBatches: 8, evaBatchSize: 8, evaBatches: 60 },
    languageFt: { steps: 400, lr: 2e-3, warmupFraction: 0.03, evalEvery: 25, r: 8, alpha: 8, tau: 0.99, maxEvaBatches: 1000 },
    vision: { hidden: [512, 256, 128], pretrainEpochs: 5, pretrainBatch: 64, pretrainLr: 1e-3, batchSize: 64, evaBatchSize: 128, evaBatches: 60 },
    visionFt: { steps: 600, lr: 2e-3, warmupFraction: 0.03, evalEvery: 25, r: 8, alpha: 8, tau: 0.99, maxEvaBatches: 1000 },
  },
};

function summarise(task: Task, runs: RunResult[], ft: FinetuneConfig): TaskSummary {
  const methods: TaskSummary['methods'] = {};
  for (const m of METHODS) {
    const rs = runs.filter((r) => r.method === m.name);
    const steps = rs[0]!.curve.map((c) => c.step);
    const stat = (f: (r: RunResult) => number) => {
      const values = rs.map(f);
      const s = meanStd(values);
      return { mean: s.mean, std: s.std, values };
    };
    methods[m.name] = {
      curve: steps.map((step, i) => {
        const s = meanStd(rs.map((r) => r.curve[i]!.evalLoss));
        return { step, evalLossMean: s.mean, evalLossStd: s.std };
      }),
      finalEvalLoss: (({ mean, std }) => ({ mean, std }))(meanStd(rs.map((r) => r.curve.at(-1)!.evalLoss))),
      gradNormAtStep0: stat((r) => r.gradNormAtStep0),
      initSeconds: stat((r) => r.initSeconds),
      trainSeconds: stat((r) => r.trainSeconds),
      loraParams: stat((r) => r.loraParams),
      runs: rs,
    };
  }
  const evaRuns = runs.filter((r) => r.method === 'eva');
  const layers = Object.keys(evaRuns[0]!.ranks!);
  const ranksMean = Object.fromEntries(layers.map((l) => [l, meanStd(evaRuns.map((r) => r.ranks![l]!)).mean]));
  return {
    task: task.name,
    pretrainSummary: task.pretrainSummary,
    dataSummary: task.dataSummary,
    targets: task.targets,
    finetune: ft,
    methods,
    eva: {
      ranks: evaRuns[0]!.ranks!,
      ranksMean,
      ranksBySeed: evaRuns.map((r) => ({ seed: r.seed, ranks: r.ranks! })),
      rankBudget: evaRuns[0]!.rankBudget!,
      evaBatches: evaRuns.map((r) => r.evaBatches!),
    },
  };
}

async function plots(outDir: string, s: TaskSummary): Promise<void> {
  writeSvg(
    join(outDir, `loss-${s.task}.svg`),
    await lineChart({
      title: `${s.task}: held-out loss during LoRA fine-tuning (mean ± std, ${s.methods['eva']!.runs.length} seeds)`,
      xLabel: 'step',
      yLabel: 'held-out cross-entropy',
      series: METHODS.map((m) => {
        const c = s.methods[m.name]!.curve;
        return {
          name: m.name,
          x: c.map((p) => p.step),
          y: c.map((p) => p.evalLossMean),
          lower: c.map((p) => p.evalLossMean - p.evalLossStd),
          upper: c.map((p) => p.evalLossMean + p.evalLossStd),
        };
      }),
    }),
  );
  const layers = Object.keys(s.eva.ranks);
  const uniform = s.eva.rankBudget / layers.length;
  writeSvg(
    join(outDir, `ranks-${s.task}.svg`),
    await barChart({
      title: `${s.task}: EVA rank per layer (rho 2, mean ± std over seeds; budget ${s.eva.rankBudget})`,
      xLabel: 'layer',
      yLabel: 'rank',
      width: Math.max(480, 75 * layers.length),
      categories: layers.map(shortName),
      series: [
        {
          name: 'EVA rho=2',
          values: layers.map((l) => s.eva.ranksMean[l]!),
          errors: layers.map((l) => meanStd(s.eva.ranksBySeed.map((r) => r.ranks[l]!)).std),
        },
        { name: 'uniform r', values: layers.map(() => uniform) },
      ],
    }),
  );
}

/** `blocks.0.attn.q_proj` -> `0.q_proj` so bar labels stay short. */
function shortName(layer: string): string {
  return layer.replace(/^blocks\./, '').replace(/\.(attn|mlp)\./, '.');
}

export async function run(opts: RunOptions): Promise<string> {
  const preset = presetOf(PRESETS, opts.preset, 'eva');
  const seeds = seedList(opts, preset.seeds);
  const started = performance.now();
  const summaries: TaskSummary[] = [];
  // one phase per fine-tuning run, weighted by its steps, so the overall ETA covers the
  // whole preset and an interrupted run resumes (--resume) after its last finished run
  const plan = new PhasePlan({ outDir: opts.outDir, resume: opts.resume ?? false, settings: { preset, seeds } });
  const key = (task: string, method: string, seed: number) => `${task}/${method}/seed${seed}`;
  for (const [task, ft] of [['language', preset.languageFt], ['vision', preset.visionFt]] as const) {
    for (const seed of seeds) for (const m of METHODS) plan.expect(key(task, m.name, seed), ft.steps);
  }
  for (const which of ['language', 'vision'] as const) {
    const t0 = performance.now();
    const task = which === 'language' ? languageTask(preset.language, opts.outDir) : visionTask(preset.vision, opts.outDir);
    const ft = which === 'language' ? preset.languageFt : preset.visionFt;
    const runs: RunResult[] = [];
    for (const seed of seeds) for (const m of METHODS) runs.push(await plan.run(key(which, m.name, seed), () => finetune(task, m, seed, ft)));
    const s = summarise(task, runs, ft);
    s.wallSeconds = (performance.now() - t0) / 1000;
    summaries.push(s);
    // partial results as each task finishes: a long run shows its first numbers early
    await plots(opts.outDir, s);
    writeMetrics(opts, preset, seeds, summaries, (performance.now() - started) / 1000, plan.resumed);
  }
  await summaryPlots(opts.outDir, summaries);
  const totalSeconds = (performance.now() - started) / 1000;
  writeMetrics(opts, preset, seeds, summaries, totalSeconds, plan.resumed);
  return writeReport(opts.outDir, buildReport({ preset: opts.preset, seeds, summaries, totalSeconds }));
}

function writeMetrics(opts: RunOptions, preset: Preset, seeds: number[], summaries: TaskSummary[], wallSeconds: number, resumedPhases: number): void {
  writeJson(join(opts.outDir, 'metrics.json'), {
    experiment: 'eva',
    preset: opts.preset,
    complete: summaries.length === 2,
    seeds,
    methods: METHODS,
    config: preset,
    wallSeconds,
    resumedPhases,
    run: runInfo(),
    tasks: Object.fromEntries(summaries.map((s) => [s.task, s])),
    verdicts: summaries.flatMap((s) => taskVerdicts(s).map((v) => ({ task: s.task, ...v }))),
  });
}

/** The plots across both tasks: init-time share and gradient norm at step 0. */
async function summaryPlots(outDir: string, summaries: TaskSummary[]): Promise<void> {
  const shares = summaries.map((s) => ({
    task: s.task,
    values: METHODS.map((m) => (100 * s.methods[m.name]!.initSeconds.mean) / s.methods[m.name]!.trainSeconds.mean),
  }));
  writeSvg(
    join(outDir, 'init-share.svg'),
    await barChart({
      title: 'Init time as % of fine-tuning time (mean over seeds)',
      xLabel: 'init',
      yLabel: '% of training time',
      categories: METHODS.map((m) => m.name),
      series: shares.map((x) => ({ name: x.task, values: x.values })),
    }),
  );
  writeSvg(
    join(outDir, 'grad-norm.svg'),
    await barChart({
      title: 'Gradient norm of the LoRA parameters at step 0 (mean ± std)',
      xLabel: 'init',
      yLabel: '||grad||',
      categories: METHODS.map((m) => m.name),
      series: summaries.map((s) => ({
        name: s.task,
        values: METHODS.map((m) => s.methods[m.name]!.gradNormAtStep0.mean),
        errors: METHODS.map((m) => s.methods[m.name]!.gradNormAtStep0.std),
      })),
    }),
  );
}
