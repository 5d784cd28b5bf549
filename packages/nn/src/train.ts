/**
 * `fit`: a small, explicit training loop. Per step it computes the loss, checks it
 * is finite, runs backward, checks every gradient is finite, optionally clips the
 * gradient norm, steps the optimizer (and scheduler) and clears the gradients.
 * Progress goes to stderr (the console in a browser); in Node, metrics can be appended to a
 * JSON-lines file.
 */
import type { Tensor } from '@tsgrad/autograd';
import * as nd from '@tsgrad/tensor';
import { checkedBatches } from './data/batch.ts';
import type { AnyModule } from './module.ts';
import { clipGradNorm } from './optim/clip.ts';
import { denseValues, type Optimizer } from './optim/optimizer.ts';
import type { LRScheduler } from './optim/schedule.ts';
import { formatDuration } from './duration.ts';

export interface FitOptions<B> {
  model: AnyModule;
  optimizer: Optimizer<{ lr: number }>;
  /**
   * Batches of one epoch (any format your `loss` reads; nn's `Batch` `{ input, target }` from
   * `toBatches` or a DataLoader over an `InputTargetDataset`, or `[x, y]` pairs from one over a
   * `TensorDataset`). A function is called again at the start of every epoch.
   */
  data: Iterable<B> | (() => Iterable<B>);
  /** The scalar loss of one batch (the model is in training mode). */
  loss: (batch: B, step: number) => Tensor;
  /** Passes over `data` (default 1). */
  epochs?: number;
  /** Stop after this many steps in total. */
  maxSteps?: number;
  /** Steps expected in total, for the ETA (guessed from `data.length` when absent). */
  totalSteps?: number;
  /** Examples in a batch, for the throughput (default: size of axis 0 of the first tensor found). */
  batchSize?: (batch: B) => number;
  scheduler?: LRScheduler;
  /** Clip the gradient norm to this value before each step. */
  clipGradNorm?: number;
  /** Re-seeds the global generator (`manualSeed`) before training. */
  seed?: number;
  /** Log every n steps (default 50); 0 turns progress lines off. */
  logEvery?: number;
  /** Append a JSON line with the metrics at every log step (and each evaluation); Node only. */
  metricsFile?: string;
  /** Runs every `evaluate.every` steps and after the last one; its numbers are logged. */
  evaluate?: { every: number; fn: (step: number) => Record<string, number> };
  /** Prefix of progress lines. */
  label?: string;
  /** Check loss and gradients for NaN/Inf every step (default true). */
  checkFinite?: boolean;
}

export interface FitResult {
  steps: number;
  /** Loss of every step. */
  losses: number[];
  seconds: number;
  /** Results of each evaluation, with its step. */
  evaluations: ({ step: number } & Record<string, number>)[];
}

/** Thrown when the loss or a gradient stops being finite. */
export class NonFiniteError extends Error {}

function guessBatchSize(batch: unknown): number {
  const seen = new Set<unknown>();
  const find = (x: unknown): number => {
    if (x === null || typeof x !== 'object' || seen.has(x)) return 0;
    seen.add(x);
    const shape = (x as { shape?: unknown }).shape;
    if (Array.isArray(shape) && shape.length > 0 && typeof shape[0] === 'number') return shape[0];
    for (const v of Array.isArray(x) ? x : Object.values(x)) {
      const n = find(v);
      if (n > 0) return n;
    }
    return 0;
  };
  return find(batch) || 1;
}

/** The first parameter whose gradient has a NaN or infinity, with a count of them. */
export function findNonFiniteGrad(model: AnyModule): { name: string; count: number; size: number } | null {
  for (const [name, p] of model.namedParameters()) {
    if (p.grad === null) continue;
    const bad = countNonFinite(p.grad.data);
    if (bad > 0) return { name, count: bad, size: p.grad.size };
  }
  return null;
}

/** Where a parameter stops being finite: in its value or in its gradient. */
export interface NonFiniteParameter {
  name: string;
  /** `value` when the parameter itself holds NaN/Inf, `gradient` when only its gradient does. */
  kind: 'value' | 'gradient';
  /** How many of its `size` values are NaN or infinite. */
  count: number;
  size: number;
}

function countNonFinite(x: nd.NDArray): number {
  const d = denseValues(x);
  let bad = 0;
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    if (v - v !== 0) bad++; // NaN or +-Infinity
  }
  return bad;
}

/**
 * The first parameter (in `namedParameters` order) whose value, or else whose
 * gradient, holds a NaN or an infinity; null when all are finite.
 * @example findNonFiniteParameter(model) // { name: 'fc.weight', kind: 'value', count: 3, size: 12 }
 */
export function findNonFiniteParameter(model: AnyModule): NonFiniteParameter | null {
  for (const [name, p] of model.namedParameters()) {
    const inValue = countNonFinite(p.data);
    if (inValue > 0) return { name, kind: 'value', count: inValue, size: p.size };
    const inGrad = p.grad === null ? 0 : countNonFinite(p.grad.data);
    if (inGrad > 0) return { name, kind: 'gradient', count: inGrad, size: p.size };
  }
  return null;
}

function describe(bad: NonFiniteParameter | null): string {
  if (!bad) return 'every parameter and gradient is finite (look at the inputs and the loss function)';
  return `first non-finite parameter: '${bad.name}' (its ${bad.kind}: ${bad.count} of ${bad.size} values)`;
}

function checkFitOptions<B>(opts: FitOptions<B>): void {
  const need = (field: string, v: number | undefined, ok: (v: number) => boolean, what: string) => {
    if (v !== undefined && !(typeof v === 'number' && ok(v))) throw new RangeError(`fit: ${field} must be ${what}, got ${String(v)}`);
  };
  const count = (v: number) => Number.isInteger(v) && v >= 0;
  need('epochs', opts.epochs, count, 'an integer >= 0');
  need('maxSteps', opts.maxSteps, count, 'an integer >= 0');
  need('logEvery', opts.logEvery, count, 'an integer >= 0');
  need('totalSteps', opts.totalSteps, count, 'an integer >= 0');
  need('clipGradNorm', opts.clipGradNorm, (v) => v > 0 && Number.isFinite(v), 'a finite number > 0');
  need('evaluate.every', opts.evaluate?.every, (v) => Number.isInteger(v) && v > 0, 'an integer > 0');
}

/**
 * Trains `model` and returns the per-step losses. With `checkFinite` (the default) it
 * stops with a `NonFiniteError` as soon as the loss or a gradient is NaN or infinite,
 * naming the first parameter whose value or gradient is not finite (and which).
 * Numeric options that are NaN, negative or fractional where counts are expected throw.
 * @example
 * const res = fit({
 *   model, optimizer: new Adam(model.parameters()), data: () => loader, epochs: 2,
 *   loss: ([x, y]) => crossEntropy(model.call(x), y), metricsFile: 'runs/mlp.jsonl',
 * });
 */
export function fit<B>(opts: FitOptions<B>): FitResult {
  checkFitOptions(opts);
  const { model, optimizer, epochs = 1, logEvery = 50, label = 'fit', checkFinite = true } = opts;
  if (opts.seed !== undefined) nd.manualSeed(opts.seed);
  const epochData = () => (typeof opts.data === 'function' ? opts.data() : opts.data);
  // Only a plain iterable is probed for its length: calling a data function here
  // could advance a shuffling generator.
  const probe = typeof opts.data === 'function' ? undefined : (opts.data as { length?: unknown }).length;
  const perEpoch = typeof probe === 'number' ? probe : undefined;
  const total = opts.totalSteps ?? Math.min(opts.maxSteps ?? Infinity, perEpoch !== undefined ? perEpoch * epochs : Infinity);
  const record = opts.metricsFile ? jsonLinesWriter(opts.metricsFile) : () => {};

  const result: FitResult = { steps: 0, losses: [], seconds: 0, evaluations: [] };
  const t0 = performance.now();
  let windowStart = t0;
  let windowLoss = 0;
  let windowSteps = 0;
  let windowSamples = 0;
  let step = 0;
  const wasTraining = model.training;
  model.train();

  const evaluate = () => {
    if (!opts.evaluate) return;
    const metrics = opts.evaluate.fn(step);
    model.train();
    result.evaluations.push({ step, ...metrics });
    record({ step, eval: true, time_s: (performance.now() - t0) / 1000, ...metrics });
    if (logEvery > 0) {
      const parts = Object.entries(metrics).map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toPrecision(4)}`);
      progress(`[${label}] step ${step} eval: ${parts.join(' | ')}\n`);
    }
  };

  try {
    outer: for (let epoch = 0; epoch < epochs; epoch++) {
      // checked: a non-iterable `data` or a generator used up by the previous epoch raises
      for (const batch of checkedBatches(epochData(), 'fit')) {
        if (opts.maxSteps !== undefined && step >= opts.maxSteps) break outer;
        const loss = opts.loss(batch, step);
        const value = loss.item();
        if (checkFinite && !Number.isFinite(value)) {
          throw new NonFiniteError(`fit: loss is ${value} at step ${step} (epoch ${epoch}); stopping; ${describe(findNonFiniteParameter(model))}`);
        }
        loss.backward();
        // per step only the gradients are scanned (as cheap as before); the values are
        // scanned too once something is wrong, to name the first culprit
        if (checkFinite && findNonFiniteGrad(model) !== null) {
          const bad = findNonFiniteParameter(model);
          if (bad) {
            throw new NonFiniteError(
              `fit: non-finite ${bad.kind} at step ${step} (epoch ${epoch}) in parameter '${bad.name}' (${bad.count} of ${bad.size} values); loss was ${value}`,
            );
          }
        }
        if (opts.clipGradNorm !== undefined) clipGradNorm(model.parameters(), opts.clipGradNorm);
        optimizer.step();
        optimizer.zeroGrad();
        model.zeroGrad();
        opts.scheduler?.step();
        result.losses.push(value);
        step++;
        windowLoss += value;
        windowSteps++;
        windowSamples += opts.batchSize ? opts.batchSize(batch) : guessBatchSize(batch);

        if (logEvery > 0 && (step % logEvery === 0 || step === total)) {
          const now = performance.now();
          const secs = (now - windowStart) / 1000;
          const elapsed = (now - t0) / 1000;
          const row = {
            step,
            epoch,
            loss: windowLoss / windowSteps,
            lr: optimizer.paramGroups[0]?.lr,
            ms_per_step: (1000 * secs) / windowSteps,
            samples_per_s: windowSamples / secs,
            time_s: elapsed,
          };
          record(row);
          const eta = Number.isFinite(total) ? formatDuration(((total - step) * elapsed) / step) : '?';
          progress(
            `[${label}] step ${step}${Number.isFinite(total) ? `/${total}` : ''} ep ${epoch + 1}/${epochs} | loss ${row.loss < 1e-3 ? row.loss.toExponential(3) : row.loss.toFixed(4)} | ` +
              `lr ${row.lr?.toExponential(2)} | ${row.samples_per_s.toFixed(0)} samples/s | ${row.ms_per_step.toFixed(1)} ms/step | ETA ${eta}\n`,
          );
          windowStart = now;
          windowLoss = 0;
          windowSteps = 0;
          windowSamples = 0;
        }
        if (opts.evaluate && step % opts.evaluate.every === 0) evaluate();
      }
    }
    if (opts.evaluate && step % opts.evaluate.every !== 0) evaluate();
  } finally {
    model.train(wasTraining);
    result.steps = step;
    result.seconds = (performance.now() - t0) / 1000;
  }
  return result;
}

type NodeProcess = { getBuiltinModule?: (name: string) => unknown; stderr?: { write(s: string): unknown } };
const nodeProcess = (globalThis as { process?: NodeProcess }).process;

/** A progress line to stderr in Node, to the console elsewhere (a browser). */
function progress(line: string): void {
  if (nodeProcess?.stderr) nodeProcess.stderr.write(line);
  else console.log(line.trimEnd());
}

/**
 * Appends one JSON line per row to `path` (its folder is created). Node's fs is looked up at
 * run time, so `fit` itself imports no `node:` module and bundles for a browser.
 */
function jsonLinesWriter(path: string): (row: Record<string, unknown>) => void {
  const fs = nodeProcess?.getBuiltinModule?.('node:fs') as typeof import('node:fs') | undefined;
  const paths = nodeProcess?.getBuiltinModule?.('node:path') as typeof import('node:path') | undefined;
  if (!fs || !paths) throw new Error(`fit: metricsFile '${path}' needs Node (20.16 or later) to write a file; elsewhere read the result's losses and evaluations`);
  fs.mkdirSync(paths.dirname(path), { recursive: true });
  return (row) => fs.appendFileSync(path, `${JSON.stringify(row)}\n`);
}
