/**
 * `pnpm repro eva`: a reproduction of EVA (Paischer et al., "Parameter Efficient
 * Fine-tuning via Explained Variance Adaptation", arXiv:2410.07170) against the LoRA
 * baselines default (random A), gaussian, PiSSA and OLoRA, with the controls a reviewer
 * asks for: each init at its best learning rate (chosen on a validation split),
 * parameter-matched baselines (default and PiSSA with EVA's rank pattern), the paper's
 * ablations (rotated / permuted / minor components, rho, whitening, tau), EVA's batches to
 * converge against batch size, and paired 95% intervals for every verdict.
 *
 * Every fine-tuning run is a phase (repro/lib/phases.ts): stored under outDir/phases as
 * it finishes, so `--resume` continues an interrupted run, with an overall ETA.
 */
import { join } from 'node:path';
import { presetOf, seedList, type RunOptions } from '../lib/experiment.ts';
import { PhasePlan } from '../lib/phases.ts';
import { runInfo, writeJson, writeReport } from '../lib/results.ts';
import { stat } from '../lib/stats.ts';
import { evaConvergence } from './ablations.ts';
import { ABLATIONS, finetune, MATCHED, METHODS, type FinetuneConfig, type Method, type RunResult } from './finetune.ts';
import { summaryPlots, taskPlots } from './plots.ts';
import { PRESETS, type EvaPreset } from './presets.ts';
import { buildReport } from './report.ts';
import { taskVerdicts } from './claims.ts';
import { summariseEva, summariseMethod, summariseSweep, type TaskSummary } from './summary.ts';
import { languageTask, visionTask, type Task } from './tasks.ts';

const lrKey = (lr: number) => lr.toPrecision(3);

/** The tasks of a preset in run order, the first of each modality being the one with the sweep and ablations. */
function taskList(p: EvaPreset): { name: string; modality: 'language' | 'vision'; primary: boolean }[] {
  return [
    ...p.languageTasks.map((name, i) => ({ name, modality: 'language' as const, primary: i === 0 })),
    ...p.visionTasks.map((name, i) => ({ name, modality: 'vision' as const, primary: i === 0 })),
  ];
}

/** Ablations that can run on a task: permuting needs two layers of one input width. */
function ablationsFor(p: EvaPreset, modality: 'language' | 'vision'): Method[] {
  if (!p.ablationModalities.includes(modality)) return [];
  return ABLATIONS.filter((a) => p.ablations.includes(a.name) && !(a.transform === 'permute' && modality === 'vision'));
}

/** Declares every phase with its weight (its steps) so the overall ETA covers the whole preset. */
export function expectAll(plan: Pick<PhasePlan, 'expect'>, p: EvaPreset, seeds: number[]): void {
  for (const t of taskList(p)) {
    const ft = t.modality === 'language' ? p.languageFt : p.visionFt;
    const swept = new Set(t.primary ? p.sweepInits : []);
    if (t.primary) for (const init of p.sweepInits) for (const f of p.lrFactors) for (const s of seeds.slice(0, p.sweepSeeds)) plan.expect(`${t.name}/${init}/lr${lrKey(ft.lr * f)}/seed${s}`, ft.steps);
    for (const m of [...METHODS, ...MATCHED]) for (const s of seeds) if (!(swept.has(m.name) && s < p.sweepSeeds)) plan.expect(`${t.name}/${m.name}/best/seed${s}`, ft.steps);
    if (!t.primary) continue;
    for (const a of ablationsFor(p, t.modality)) for (const s of seeds.slice(0, p.ablationSeeds)) plan.expect(`${t.name}/${a.name}/best/seed${s}`, ft.steps);
    for (const bs of p.convergenceBatchSizes[t.modality]) for (let s = 0; s < p.convergenceSeeds; s++) plan.expect(`${t.name}/convergence/bs${bs}/seed${s}`, ft.steps / 10);
  }
}

async function runTask(plan: PhasePlan, p: EvaPreset, seeds: number[], task: Task, ft: FinetuneConfig, primary: boolean, chosen: Record<string, number>, chosenOn: string): Promise<TaskSummary> {
  const t0 = performance.now();
  const byName = new Map<string, Method>([...METHODS, ...MATCHED, ...ABLATIONS].map((m) => [m.name, m]));
  const notes: string[] = [];
  // 1. the sweep (first task of a modality): each swept init at every rate, on the sweep seeds
  const sweepRuns = new Map<string, RunResult>();
  const sweepSeeds = seeds.slice(0, p.sweepSeeds);
  const lrs = p.lrFactors.map((f) => ft.lr * f);
  const sweep: TaskSummary['lrSweep'] = { lrs, seeds: sweepSeeds, inits: {}, chosenOn, notSwept: [] };
  if (primary) {
    for (const init of p.sweepInits) {
      for (const lr of lrs) {
        for (const s of sweepSeeds) {
          const key = `${task.name}/${init}/lr${lrKey(lr)}/seed${s}`;
          sweepRuns.set(key, await plan.run(key, () => finetune(task, byName.get(init)!, s, ft, lr)));
        }
      }
      sweep.inits[init] = summariseSweep(lrs.map((lr) => ({ lr, runs: sweepSeeds.map((s) => sweepRuns.get(`${task.name}/${init}/lr${lrKey(lr)}/seed${s}`)!) })));
      chosen[init] = sweep.inits[init]!.bestLr;
    }
  }
  sweep.notSwept = METHODS.map((m) => m.name).filter((n) => chosen[n] === undefined);
  const lrFor = (m: Method) => chosen[m.lrOf ?? m.name] ?? ft.lr;
  // 2. every init, control and ablation at its chosen rate (sweep runs reused)
  const runsOf: Record<string, RunResult[]> = {};
  const evaRanks = new Map<number, Record<string, number>>();
  const ablations = primary ? ablationsFor(p, task.modality) : [];
  if (primary && p.ablations.includes('eva_permuted') && p.ablationModalities.includes(task.modality) && task.modality === 'vision') notes.push('eva_permuted skipped: the MLP\'s LoRA layers all have different input widths, so there is nothing to permute between.');
  for (const m of [...METHODS, ...MATCHED, ...ablations]) {
    const mSeeds = ablations.includes(m) ? seeds.slice(0, p.ablationSeeds) : seeds;
    const lr = lrFor(m);
    runsOf[m.name] = [];
    for (const s of mSeeds) {
      const reused = sweepRuns.get(`${task.name}/${m.name}/lr${lrKey(lr)}/seed${s}`);
      const r = reused ?? (await plan.run(`${task.name}/${m.name}/best/seed${s}`, () => finetune(task, m, s, ft, lr, evaRanks.get(s))));
      if (m.name === 'eva') evaRanks.set(s, r.ranks!);
      runsOf[m.name]!.push(r);
    }
  }
  // 3. EVA's batches to converge against batch size
  const convergence: TaskSummary['convergence'] = [];
  if (primary) {
    for (const bs of p.convergenceBatchSizes[task.modality]) {
      const rs = [];
      for (let s = 0; s < p.convergenceSeeds; s++) rs.push(await plan.run(`${task.name}/convergence/bs${bs}/seed${s}`, () => evaConvergence(task, s, bs, ft)));
      convergence.push({ batchSize: bs, batches: stat(rs.map((r) => r.batches)), seconds: stat(rs.map((r) => r.seconds)) });
    }
  }
  const methods = Object.fromEntries(Object.entries(runsOf).map(([n, rs]) => [n, summariseMethod(rs, ft.steps)]));
  return {
    task: task.name,
    modality: task.modality,
    pretrainSummary: task.pretrainSummary,
    dataSummary: task.dataSummary,
    targets: task.targets,
    finetune: ft,
    wallSeconds: (performance.now() - t0) / 1000,
    groups: { inits: METHODS.map((m) => m.name), matched: MATCHED.map((m) => m.name), ablations: ablations.map((m) => m.name) },
    methods,
    lrSweep: sweep,
    eva: summariseEva(runsOf['eva']!),
    convergence,
    notes,
  };
}

export async function run(opts: RunOptions): Promise<string> {
  const preset = presetOf(PRESETS, opts.preset, 'eva');
  const seeds = seedList(opts, preset.seeds);
  // fewer seeds than the sweep or ablations ask for (--seeds): use what there is
  const p: EvaPreset = { ...preset, sweepSeeds: Math.min(preset.sweepSeeds, seeds.length), ablationSeeds: Math.min(preset.ablationSeeds, seeds.length) };
  const started = performance.now();
  const summaries: TaskSummary[] = [];
  const plan = new PhasePlan({ outDir: opts.outDir, resume: opts.resume ?? false, settings: { preset: p, seeds } });
  expectAll(plan, p, seeds);
  const chosen = { language: {} as Record<string, number>, vision: {} as Record<string, number> };
  const chosenOn = { language: p.languageTasks[0]!, vision: p.visionTasks[0]! as string };
  for (const t of taskList(p)) {
    const task = t.modality === 'language' ? languageTask(p.language, t.name as never, opts.outDir) : visionTask(p.vision, t.name as never, opts.outDir);
    const ft = t.modality === 'language' ? p.languageFt : p.visionFt;
    const s = await runTask(plan, p, seeds, task, ft, t.primary, chosen[t.modality], chosenOn[t.modality]);
    summaries.push(s);
    // partial results as each task finishes: a long run shows its first numbers early
    await taskPlots(opts.outDir, s);
    writeMetrics(opts, p, seeds, summaries, (performance.now() - started) / 1000, plan.resumed);
  }
  await summaryPlots(opts.outDir, summaries);
  const totalSeconds = (performance.now() - started) / 1000;
  writeMetrics(opts, p, seeds, summaries, totalSeconds, plan.resumed);
  return writeReport(opts.outDir, buildReport({ preset: opts.preset, config: p, seeds, summaries, totalSeconds }));
}

function writeMetrics(opts: RunOptions, preset: EvaPreset, seeds: number[], summaries: TaskSummary[], wallSeconds: number, resumedPhases: number): void {
  writeJson(join(opts.outDir, 'metrics.json'), {
    experiment: 'eva',
    preset: opts.preset,
    complete: summaries.length === taskList(preset).length,
    seeds,
    methods: [...METHODS, ...MATCHED, ...ABLATIONS],
    config: preset,
    wallSeconds,
    resumedPhases,
    run: runInfo(),
    tasks: Object.fromEntries(summaries.map((s) => [s.task, s])),
    verdicts: summaries.flatMap((s) => taskVerdicts(s).map((v) => ({ task: s.task, ...v }))),
  });
}
