/**
 * Learning-rate schedules. A schedule is a function from the step (0, 1, ...) to a
 * factor that multiplies each group's base learning rate; `LRScheduler` applies one
 * to an optimizer, like torch.optim.lr_scheduler.LambdaLR.
 */
import type { Optimizer } from './optimizer.ts';

/** Step -> multiplier of the base learning rate (finite and >= 0; `LRScheduler` refuses others). */
export type Schedule = (step: number) => number;

/** Throws a RangeError naming `op` and `field` unless `value` is a finite number >= `min`. */
function checkOption(op: string, field: string, value: unknown, min = 0): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new RangeError(`${op}: ${field} must be a finite number >= ${min}, got ${String(value)}`);
  }
}

/** The factor 1 at every step. */
export const constantSchedule: Schedule = () => 1;

/**
 * Linear warm-up from 0 to 1 over `warmupSteps`, then 1: factor = min(1, step / warmupSteps).
 * @example linearWarmup(100)(50) // 0.5
 */
export function linearWarmup(warmupSteps: number): Schedule {
  checkOption('linearWarmup', 'warmupSteps', warmupSteps);
  return (step) => (warmupSteps > 0 && step < warmupSteps ? step / warmupSteps : 1);
}

/**
 * Linear warm-up, then linear decay from 1 at `warmupSteps` to `minFactor` at
 * `totalSteps` (held there afterwards).
 * @example warmupLinearDecay({ warmupSteps: 10, totalSteps: 100 })(55) // 0.5
 */
export function warmupLinearDecay(opts: { warmupSteps?: number; totalSteps: number; minFactor?: number }): Schedule {
  const { warmupSteps = 0, totalSteps, minFactor = 0 } = opts;
  checkDecay('warmupLinearDecay', warmupSteps, totalSteps, minFactor);
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
  checkDecay('warmupCosine', warmupSteps, totalSteps, minFactor);
  return (step) => {
    if (step < warmupSteps) return step / warmupSteps;
    const progress = Math.min(1, (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
    return minFactor + (1 - minFactor) * 0.5 * (1 + Math.cos(Math.PI * progress));
  };
}

function checkDecay(op: string, warmupSteps: unknown, totalSteps: unknown, minFactor: unknown): void {
  checkOption(op, 'warmupSteps', warmupSteps);
  checkOption(op, 'totalSteps', totalSteps);
  checkOption(op, 'minFactor', minFactor);
}

/**
 * Sets `group.lr = baseLr * schedule(step)` for every group: at construction for
 * step 0, then after each `step()` call for the next step (call it once per
 * optimizer step, after `optimizer.step()`, as in PyTorch). A factor that is NaN,
 * infinite or negative throws a RangeError naming the step, and leaves every
 * learning rate as it was; so does a base learning rate that is not finite.
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
    this.baseLrs.forEach((lr, i) => checkOption('LRScheduler', `the learning rate of group ${i}`, lr));
    this.apply();
  }

  /** Advances one step and updates the learning rates (on a bad factor, neither happens). */
  step(): void {
    this.apply(this.lastStep + 1);
    this.lastStep++;
  }

  /** The current learning rate of each group. */
  getLastLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  private apply(step = this.lastStep): void {
    const f = this.schedule(step);
    if (typeof f !== 'number' || !Number.isFinite(f) || f < 0) {
      throw new RangeError(`LRScheduler: the schedule gave factor ${String(f)} at step ${step}; factors must be finite and >= 0`);
    }
    this.optimizer.paramGroups.forEach((g, i) => (g.lr = this.baseLrs[i]! * f));
  }
}
