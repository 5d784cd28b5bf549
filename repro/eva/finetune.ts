/**
 * One LoRA fine-tuning run: fresh copy of the pretrained model, LoRA with the chosen
 * init (EVA runs its incremental PCA on the task's fine-tuning data first), then a
 * fixed budget of AdamW steps on batches that depend only on (seed, step), so every
 * init sees exactly the same data in the same order.
 */
import { applyLora, computeEva, initializeLoraEvaWeights, loraParameters, trainableParameters, type EvaStateDict } from '@tsgrad/eva';
import { AdamW, LRScheduler, warmupLinearDecay, type AnyModule } from '@tsgrad/nn';
import { Progress } from '../lib/progress.ts';
import { minorComponents, permuteAcrossLayers, rotateComponents, type EvaTransform } from './ablations.ts';
import type { Task } from './tasks.ts';

/** An init to compare (or an ablation of EVA's). */
export interface Method {
  /** Name in the results (`eva`, `eva_rho1`, `default_evaranks`, `eva_minor`, ...). */
  name: string;
  /** The LoRA init. */
  init: 'default' | 'gaussian' | 'pissa' | 'olora' | 'eva';
  /** EVA's rho (only for `eva`; default 2). */
  rho?: number;
  /** EVA's tau (default: the preset's). */
  tau?: number;
  /** EVA's whitening (default off, PEFT's default). */
  whiten?: boolean;
  /** Parameter-matched control: this init with EVA (rho 2)'s ranks and alphas of the same seed. */
  evaRanks?: boolean;
  /** An ablation of EVA's A (see ablations.ts). */
  transform?: EvaTransform;
  /** Whose learning rate it trains at (its own init's by default; `eva` for the ablations). */
  lrOf?: string;
}

/** The inits compared at the same uniform rank budget, plus uniform-rank EVA. */
export const METHODS: readonly Method[] = [
  { name: 'default', init: 'default' },
  { name: 'gaussian', init: 'gaussian' },
  { name: 'pissa', init: 'pissa' },
  { name: 'olora', init: 'olora' },
  { name: 'eva', init: 'eva', rho: 2 },
  { name: 'eva_rho1', init: 'eva', rho: 1 },
];

/** Parameter-matched controls: the init and the rank redistribution measured separately. */
export const MATCHED: readonly Method[] = [
  { name: 'default_evaranks', init: 'default', evaRanks: true, lrOf: 'default' },
  { name: 'pissa_evaranks', init: 'pissa', evaRanks: true, lrOf: 'pissa' },
];

/** The paper's ablations (rho 1 and 2 are `eva_rho1` and `eva`). */
export const ABLATIONS: readonly Method[] = [
  { name: 'eva_rotated', init: 'eva', transform: 'rotate', lrOf: 'eva' },
  { name: 'eva_permuted', init: 'eva', transform: 'permute', lrOf: 'eva' },
  { name: 'eva_minor', init: 'eva', transform: 'minor', lrOf: 'eva' },
  { name: 'eva_rho1.5', init: 'eva', rho: 1.5, lrOf: 'eva' },
  { name: 'eva_rho3', init: 'eva', rho: 3, lrOf: 'eva' },
  { name: 'eva_whiten', init: 'eva', whiten: true, lrOf: 'eva' },
  { name: 'eva_tau0.9', init: 'eva', tau: 0.9, lrOf: 'eva' },
  { name: 'eva_tau0.999', init: 'eva', tau: 0.999, lrOf: 'eva' },
];

export interface FinetuneConfig {
  steps: number;
  /** The learning rate every init uses when it is not swept; the sweep is lr × `lrFactors`. */
  lr: number;
  warmupFraction: number;
  evalEvery: number;
  r: number;
  alpha: number;
  tau: number;
  maxEvaBatches: number;
  /** Batches the minor-components ablation reads for its exact covariance. */
  minorBatches: number;
}

export interface RunResult {
  method: string;
  seed: number;
  /** The learning rate this run trained at. */
  lr: number;
  /** Test loss at step 0 (after init) and every `evalEvery` steps. */
  curve: { step: number; evalLoss: number }[];
  /** Validation loss after the last step (chooses the learning rate). */
  finalValLoss: number;
  trainLoss: number[];
  /** L2 norm of the gradient of the LoRA parameters (all A and B) at step 0. */
  gradNormAtStep0: number;
  /** Init wall time: LoRA injection + init (SVD/QR for PiSSA/OLoRA, incremental PCA for EVA). */
  initSeconds: number;
  /** Wall time of the training steps (evaluations excluded). */
  trainSeconds: number;
  /** Trainable LoRA parameters (A and B; after EVA's redistribution). */
  loraParams: number;
  /** EVA only: rank per layer, forward passes used, rank budget. */
  ranks?: Record<string, number>;
  evaBatches?: number;
  rankBudget?: number;
}

/** EVA's rank per layer for a parameter-matched control: a `rankPattern` / `alphaPattern` over full names. */
function matchedConfig(evaRanks: Record<string, number>, alpha: number, r: number) {
  const kept = Object.keys(evaRanks).filter((l) => evaRanks[l]! > 0);
  return {
    targetModules: kept,
    rankPattern: Object.fromEntries(kept.map((l) => [l, evaRanks[l]!])),
    // EVA keeps the scaling alpha / r with alpha_l = alpha r_l / r; so do the controls
    alphaPattern: Object.fromEntries(kept.map((l) => [l, (alpha * evaRanks[l]!) / r])),
  };
}

function transformed(task: Task, model: AnyModule, seed: number, method: Method, cfg: FinetuneConfig): EvaStateDict {
  const res = computeEva(model, task.evaBatches(seed), { maxBatches: cfg.maxEvaBatches });
  if (method.transform === 'rotate') return rotateComponents(res.stateDict, seed);
  if (method.transform === 'permute') return permuteAcrossLayers(res.stateDict, seed);
  return minorComponents(model, task.evaBatches(seed), cfg.minorBatches, res.stateDict);
}

/**
 * Runs one (task, method, seed, lr) fine-tuning. `evaRanks` (EVA rho 2's ranks for the
 * same seed) is needed by the parameter-matched controls.
 * @example const res = finetune(task, METHODS[4]!, 0, cfg, cfg.lr);
 */
export function finetune(task: Task, method: Method, seed: number, cfg: FinetuneConfig, lr: number, evaRanks?: Record<string, number>): RunResult {
  const model = task.makeModel(seed);
  const t0 = performance.now();
  if (method.evaRanks && !evaRanks) throw new Error(`finetune: ${method.name} needs EVA's ranks for seed ${seed}`);
  const targets = method.evaRanks ? matchedConfig(evaRanks!, cfg.alpha, cfg.r) : { targetModules: task.targets };
  applyLora(model, {
    ...targets,
    r: cfg.r,
    alpha: cfg.alpha,
    init: method.init,
    evaConfig: method.init === 'eva' ? { rho: method.rho ?? 2, tau: method.tau ?? cfg.tau, whiten: method.whiten ?? false } : undefined,
    modulesToSave: task.modulesToSave,
    seed: 7919 * seed + 1,
  });
  let ranks: Record<string, number> | undefined;
  let evaBatches: number | undefined;
  let rankBudget: number | undefined;
  if (method.init === 'eva') {
    const res = method.transform
      ? initializeLoraEvaWeights(model, { evaStateDict: transformed(task, model, seed, method, cfg) })
      : initializeLoraEvaWeights(model, { dataLoader: task.evaBatches(seed), maxBatches: cfg.maxEvaBatches });
    ranks = Object.fromEntries(res.ranks);
    evaBatches = res.eva?.batches;
    rankBudget = res.eva?.rankBudget;
  }
  const initSeconds = (performance.now() - t0) / 1000;

  const params = trainableParameters(model);
  const lora = loraParameters(model);
  const loraParams = lora.reduce((s, p) => s + p.size, 0);
  const opt = new AdamW(params, { lr, weightDecay: 0 });
  const sched = new LRScheduler(opt, warmupLinearDecay({ warmupSteps: Math.round(cfg.warmupFraction * cfg.steps), totalSteps: cfg.steps }));
  const curve = [{ step: 0, evalLoss: task.evalLoss(model) }];
  const trainLoss: number[] = [];
  let gradNormAtStep0 = NaN;
  let trainMs = 0;
  const progress = new Progress(cfg.steps, { label: `${task.name} ${method.name} lr ${Number(lr.toPrecision(6))} seed ${seed}` });
  model.train();
  for (let step = 0; step < cfg.steps; step++) {
    const s0 = performance.now();
    const batch = task.trainBatch(seed, step);
    const loss = task.loss(model, batch);
    opt.zeroGrad();
    loss.backward();
    if (step === 0) {
      let ss = 0;
      for (const p of lora) {
        if (!p.grad) continue;
        for (const v of p.grad.data.toFloat64Array()) ss += v * v;
      }
      gradNormAtStep0 = Math.sqrt(ss);
    }
    opt.step();
    sched.step();
    trainMs += performance.now() - s0;
    const l = loss.item();
    trainLoss.push(l);
    if ((step + 1) % cfg.evalEvery === 0 || step + 1 === cfg.steps) {
      const e = task.evalLoss(model);
      model.train();
      curve.push({ step: step + 1, evalLoss: e });
      progress.tick(1, { loss: l, eval: e });
    } else {
      progress.tick(1, { loss: l });
    }
  }
  progress.stop();
  const finalValLoss = task.valLoss(model);
  return { method: method.name, seed, lr, curve, finalValLoss, trainLoss, gradNormAtStep0, initSeconds, trainSeconds: trainMs / 1000, loraParams, ranks, evaBatches, rankBudget };
}
