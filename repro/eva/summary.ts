/**
 * What one task's runs add up to, as metrics.json stores it: every seed-dependent scalar
 * as `{ mean, std, values }` (stat), the learning-rate sweep, the parameter-matched
 * controls, the ablations and EVA's convergence study.
 */
import { stat, type Stat } from '../lib/stats.ts';
import type { FinetuneConfig, RunResult } from './finetune.ts';

/** One init (or control, or ablation) over its seeds. */
export interface MethodSummary {
  /** The learning rate it trained at (its init's best on validation, or the preset's). */
  lr: number;
  /** Test loss at each evaluation step, over seeds. */
  curve: { step: number; evalLoss: Stat }[];
  finalEvalLoss: Stat;
  finalValLoss: Stat;
  gradNormAtStep0: Stat;
  initSeconds: Stat;
  trainSeconds: Stat;
  /** Init seconds / seconds per training step. */
  initStepEquivalents: Stat;
  /** Init seconds as a percentage of training seconds. */
  initSharePercent: Stat;
  loraParams: Stat;
  runs: RunResult[];
}

/** The learning-rate sweep of one init: mean validation (and test) loss per rate. */
export interface SweepSummary {
  byLr: { lr: number; finalValLoss: Stat; finalEvalLoss: Stat }[];
  /** The rate with the lowest mean final validation loss. */
  bestLr: number;
  /** Max minus min of the mean final validation loss over the rates. */
  sensitivity: number;
}

/** Everything one task produced (also what metrics.json holds per task). */
export interface TaskSummary {
  task: string;
  modality: 'language' | 'vision';
  pretrainSummary: string;
  dataSummary: string;
  targets: string[];
  finetune: FinetuneConfig;
  wallSeconds?: number;
  /** Which names in `methods` are the inits, the parameter-matched controls and the ablations. */
  groups: { inits: string[]; matched: string[]; ablations: string[] };
  methods: Record<string, MethodSummary>;
  /** The sweep, on this task, or `chosenOn` naming the task whose best rates were reused. */
  lrSweep: { lrs: number[]; seeds: number[]; inits: Record<string, SweepSummary>; chosenOn: string; notSwept: string[] };
  eva: {
    /** Seed 0's ranks. */
    ranks: Record<string, number>;
    ranksMean: Record<string, number>;
    ranksBySeed: { seed: number; ranks: Record<string, number> }[];
    rankBudget: number;
    evaBatches: Stat;
  };
  /** EVA's batches to converge (and seconds) per EVA batch size; only on the first task of a modality. */
  convergence: { batchSize: number; batches: Stat; seconds: Stat }[];
  notes: string[];
}

/** Summarises one method's runs (all at one learning rate). */
export function summariseMethod(rs: RunResult[], steps: number): MethodSummary {
  if (rs.length === 0) throw new Error('summariseMethod: no runs');
  const s = (f: (r: RunResult) => number) => stat(rs.map(f));
  return {
    lr: rs[0]!.lr,
    curve: rs[0]!.curve.map((c, i) => ({ step: c.step, evalLoss: stat(rs.map((r) => r.curve[i]!.evalLoss)) })),
    finalEvalLoss: s((r) => r.curve.at(-1)!.evalLoss),
    finalValLoss: s((r) => r.finalValLoss),
    gradNormAtStep0: s((r) => r.gradNormAtStep0),
    initSeconds: s((r) => r.initSeconds),
    trainSeconds: s((r) => r.trainSeconds),
    initStepEquivalents: s((r) => r.initSeconds / (r.trainSeconds / steps)),
    initSharePercent: s((r) => (100 * r.initSeconds) / r.trainSeconds),
    loraParams: s((r) => r.loraParams),
    runs: rs,
  };
}

/** The sweep of one init from its runs at every rate (runs of the sweep seeds only). */
export function summariseSweep(byLr: { lr: number; runs: RunResult[] }[]): SweepSummary {
  const rows = byLr.map(({ lr, runs }) => ({ lr, finalValLoss: stat(runs.map((r) => r.finalValLoss)), finalEvalLoss: stat(runs.map((r) => r.curve.at(-1)!.evalLoss)) }));
  const means = rows.map((r) => r.finalValLoss.mean);
  const best = rows[means.indexOf(Math.min(...means))]!;
  return { byLr: rows, bestLr: best.lr, sensitivity: Math.max(...means) - Math.min(...means) };
}

/** EVA (rho 2)'s ranks over seeds. */
export function summariseEva(evaRuns: RunResult[]): TaskSummary['eva'] {
  const layers = Object.keys(evaRuns[0]!.ranks!);
  return {
    ranks: evaRuns[0]!.ranks!,
    ranksMean: Object.fromEntries(layers.map((l) => [l, stat(evaRuns.map((r) => r.ranks![l]!)).mean])),
    ranksBySeed: evaRuns.map((r) => ({ seed: r.seed, ranks: r.ranks! })),
    rankBudget: evaRuns[0]!.rankBudget!,
    evaBatches: stat(evaRuns.map((r) => r.evaBatches!)),
  };
}
