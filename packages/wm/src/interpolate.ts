/**
 * Linear mode connectivity: loss and accuracy along theta(lambda) = (1 - lambda) theta_A + lambda
 * theta_B (git-re-basin's `lerp` over all parameters, 25 lambdas), with all three barriers.
 */
import { asBatches, type LabelledBatchLike } from '@tsgrad/nn';
import { barriers, linspace01, type Barriers } from './barrier.ts';
import { evaluate, withWeights, type Net } from './model.ts';
import { stateDictOf, type HasStateDict } from './spec.ts';
import { lerpStateDicts } from './state.ts';

export interface BarrierSet {
  loss: { train: Barriers; test: Barriers };
  acc: { train: Barriers; test: Barriers };
}

export interface InterpolationCurve {
  lambdas: number[];
  trainLoss: number[];
  testLoss: number[];
  trainAcc: number[];
  testAcc: number[];
  barrier: BarrierSet;
}

export interface InterpolateOptions {
  /** `{ input, target }` batches or `[input, target]` pairs (an array, a DataLoader, `toBatches(x, y, n)`); read once. */
  train: Iterable<LabelledBatchLike>;
  test: Iterable<LabelledBatchLike>;
  /**
   * The network the interpolated weights are loaded into; default `modelA` itself when it is a
   * module (its weights are restored afterwards).
   */
  net?: Net;
  /** Called after each lambda (for progress output). */
  onPoint?: (index: number, lambda: number) => void;
}

/**
 * Evaluates train and test loss and accuracy at each lambda (default 25 evenly spaced in [0, 1])
 * on the straight line from A to B, and the barriers of the four curves.
 * @example
 * const naive = interpolate(modelA, modelB, linspace01(25), { train, test });
 * const wm = interpolate(modelA, applyPermutation(spec, perm, modelB.stateDict()), undefined, { train, test });
 * wm.barrier.loss.test.maxMinusMean;
 */
export function interpolate(
  modelA: HasStateDict,
  modelB: HasStateDict,
  lambdas: readonly number[] | undefined,
  opts: InterpolateOptions,
): InterpolationCurve {
  const lam = lambdas ? [...lambdas] : linspace01(25);
  // read once, so every lambda sees the same batches (and a generator can be passed)
  const train = asBatches(opts?.train, 'interpolate: opts.train', { target: true });
  const test = asBatches(opts?.test, 'interpolate: opts.test', { target: true });
  const net = opts.net ?? (isNet(modelA) ? modelA : undefined);
  if (net === undefined) throw new Error('interpolate: modelA is a state dict, so pass opts.net to evaluate with');
  const a = isNet(modelA) ? modelA.stateDict({ clone: true }) : stateDictOf(modelA);
  const b = isNet(modelB) ? modelB.stateDict({ clone: true }) : stateDictOf(modelB);
  const out: Omit<InterpolationCurve, 'barrier'> = { lambdas: lam, trainLoss: [], testLoss: [], trainAcc: [], testAcc: [] };
  lam.forEach((l, i) => {
    const { tr, te } = withWeights(net, lerpStateDicts(l, a, b), () => ({
      tr: evaluate(net, train),
      te: evaluate(net, test),
    }));
    out.trainLoss.push(tr.loss);
    out.trainAcc.push(tr.acc);
    out.testLoss.push(te.loss);
    out.testAcc.push(te.acc);
    opts.onPoint?.(i, l);
  });
  return { ...out, barrier: curveBarriers(out) };
}

/**
 * The three barrier definitions for each of the four curves.
 * @example curveBarriers(curve).acc.test.midpoint;
 */
export function curveBarriers(c: Omit<InterpolationCurve, 'barrier'>): BarrierSet {
  return {
    loss: { train: barriers(c.lambdas, c.trainLoss), test: barriers(c.lambdas, c.testLoss) },
    acc: {
      train: barriers(c.lambdas, c.trainAcc, { higherIsBetter: true }),
      test: barriers(c.lambdas, c.testAcc, { higherIsBetter: true }),
    },
  };
}

function isNet(m: HasStateDict | Net): m is Net {
  return typeof (m as { call?: unknown }).call === 'function' && typeof (m as { stateDict?: unknown }).stateDict === 'function';
}
