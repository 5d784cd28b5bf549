/**
 * Learning-rate schedules. A schedule is a function from the step (0, 1, ...) to a
 * factor that multiplies each group's base learning rate; `LRScheduler` applies one
 * to an optimizer, like torch.optim.lr_scheduler.LambdaLR.
 */
import type { Optimizer } from './optimizer.ts';

/** Step -> multiplier of the base learning rate. */
export type Schedule = (step: number) => number;

/** The factor 1 at every step. */
export const constantSchedule: Schedule = () => 1;

/**
 * Linear warm-up from 0 to 1 over `warmupSteps`, then 1: factor = min(1, step / warmupSteps).
 * @example linearWarmup(100)(50) // 0.5
 */
export function linearWarmup(warmupSteps: number): Schedule {
  return (step) => (warmupSteps > 0 && step < warmupSteps ? step / warmupSteps : 1);
}

/**
 * Linear warm-up, then linear decay from 1 at `warmupSteps` to `minFactor` at
 * `totalSteps` (held there afterwards).
 * @example warmupLinearDecay({ warmupSteps: 10, totalSteps: 100 })(55) // 0.5
 */
export function warmupLinearDecay(opts: { warmupSteps?: number; totalSteps: number; minFactor?: number }): Schedule {
  const { warmupSteps = 0, totalSteps, minFactor = 0 } = opts;
  return (step) => {
    if (step < warmupSteps) return step / warmupSteps;
    const progress = Math.min(1, (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
    return minFactor + (1 - minFactor) * (1 - progress);
  };
}

/**
 * Linear warm-up, then cosine decay (Loshchilov & Hutter 2017, without restarts)
 * from 1 to `minFactor` at `totalSteps`:
 * factor = minFactor + (1 - minFactor) (1 + cos(pi progress)) / 2.
 * @example warmupCosine({ warmupSteps: 100, totalSteps: 1000, minFactor: 0.1 })
 */
export function warmupCosine(opts: { warmupSteps?: number; totalSteps: number; minFactor?: number }): Schedule {
  const { warmupSteps = 0, totalSteps, minFactor = 0 } = opts;
  return (step) => {
    if (step < warmupSteps) return step / warmupSteps;
    const progress = Math.min(1, (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
    return minFactor + (1 - minFactor) * 0.5 * (1 + Math.cos(Math.PI * progress));
  };
}

/**
 * Sets `group.lr = baseLr * schedule(step)` for every group: at construction for
 * step 0, then after each `step()` call for the next step (call it once per
 * optimizer step, after `optimizer.step()`, as in PyTorch).
 * @example
 * const sched = new LRScheduler(opt, warmupCosine({ warmupSteps: 100, totalSteps: 2000 }));
 * for (...) { loss.backward(); opt.step(); opt.zeroGrad(); sched.step(); }
 */
export class LRScheduler {
  readonly baseLrs: number[];
  /** The step whose factor is currently applied. */
  lastStep = 0;

  constructor(
    readonly optimizer: Optimizer<{ lr: number }>,
    readonly schedule: Schedule,
  ) {
    this.baseLrs = optimizer.paramGroups.map((g) => g.lr);
    this.apply();
  }

  /** Advances one step and updates the learning rates. */
  step(): void {
    this.lastStep++;
    this.apply();
  }

  /** The current learning rate of each group. */
  getLastLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  private apply(): void {
    const f = this.schedule(this.lastStep);
    this.optimizer.paramGroups.forEach((g, i) => (g.lr = this.baseLrs[i]! * f));
  }
}
