/**
 * One LoRA fine-tuning run: fresh copy of the pretrained model, LoRA with the chosen
 * init (EVA runs its incremental PCA on the task's fine-tuning data first), then a
 * fixed budget of AdamW steps on batches that depend only on (seed, step), so every
 * init sees exactly the same data in the same order.
 */
import { applyLora, initializeLoraEvaWeights, loraParameters, trainableParameters } from '@tsgrad/eva';
import { AdamW, LRScheduler, warmupLinearDecay } from '@tsgrad/nn';
import { Progress } from '../lib/progress.ts';
import type { Task } from './tasks.ts';

/** An init to compare. */
export interface Method {
  /** Name in the results (`eva`, `eva_rho1`, ...). */
  name: string;
  /** The LoRA init. */
  init: 'default' | 'gaussian' | 'pissa' | 'olora' | 'eva';
  /** EVA's rho (only for `eva`). */
  rho?: number;
}

export const METHODS: readonly Method[] = [
  { name: 'default', init: 'default' },
  { name: 'gaussian', init: 'gaussian' },
  { name: 'pissa', init: 'pissa' },
  { name: 'olora', init: 'olora' },
  { name: 'eva', init: 'eva', rho: 2 },
  { name: 'eva_rho1', init: 'eva', rho: 1 },
];

export interface FinetuneConfig {
  steps: number;
  lr: number;
  warmupFraction: number;
  evalEvery: number;
  r: number;
  alpha: number;
  tau: number;
  maxEvaBatches: number;
}

export interface RunResult {
  method: string;
  seed: number;
  /** Held-out loss at step 0 (after init) and every `evalEvery` steps. */
  curve: { step: number; evalLoss: number }[];
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

/**
 * Runs one (task, method, seed) fine-tuning.
 * @example const res = finetune(task, METHODS[4]!, 0, cfg);
 */
export function finetune(task: Task, method: Method, seed: number, cfg: FinetuneConfig): RunResult {
  const model = task.makeModel(seed);
  const t0 = performance.now();
  applyLora(model, {
    targetModules: task.targets,
    r: cfg.r,
    alpha: cfg.alpha,
    init: method.init,
    evaConfig: method.init === 'eva' ? { rho: method.rho ?? 2, tau: cfg.tau } : undefined,
    modulesToSave: task.modulesToSave,
    seed: 7919 * seed + 1,
  });
  let ranks: Record<string, number> | undefined;
  let evaBatches: number | undefined;
  let rankBudget: number | undefined;
  if (method.init === 'eva') {
    const res = initializeLoraEvaWeights(model, { dataLoader: task.evaBatches(seed), maxBatches: cfg.maxEvaBatches });
    ranks = Object.fromEntries(res.ranks);
    evaBatches = res.eva!.batches;
    rankBudget = res.eva!.rankBudget;
  }
  const initSeconds = (performance.now() - t0) / 1000;

  const params = trainableParameters(model);
  const lora = loraParameters(model);
  const loraParams = lora.reduce((s, p) => s + p.size, 0);
  const opt = new AdamW(params, { lr: cfg.lr, weightDecay: 0 });
  const sched = new LRScheduler(opt, warmupLinearDecay({ warmupSteps: Math.round(cfg.warmupFraction * cfg.steps), totalSteps: cfg.steps }));
  const curve = [{ step: 0, evalLoss: task.evalLoss(model) }];
  const trainLoss: number[] = [];
  let gradNormAtStep0 = NaN;
  let trainMs = 0;
  const progress = new Progress(cfg.steps, { label: `${task.name} ${method.name} seed ${seed}` });
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
  return { method: method.name, seed, curve, trainLoss, gradNormAtStep0, initSeconds, trainSeconds: trainMs / 1000, loraParams, ranks, evaBatches, rankBudget };
}
