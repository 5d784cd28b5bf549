/**
 * The functional-invariance check: a permutation that is a symmetry of the network must leave
 * its outputs unchanged (git-re-basin issue #3: a spec that does not match the architecture
 * silently breaks every later result, so check before trusting a permutation).
 */
import { noGrad, Tensor } from '@tsgrad/autograd';
import type { NDArray } from '@tsgrad/tensor';
import { withWeights, type Net } from './model.ts';
import type { StateDict } from '@tsgrad/nn';

export interface InvarianceResult {
  /** max |f_theta(x) - f_pi(theta)(x)| over all outputs. */
  maxAbsDiff: number;
  /** max |f_theta(x)|, the scale the tolerance is relative to. */
  scale: number;
  /** maxAbsDiff <= atol + rtol * scale. */
  ok: boolean;
}

/**
 * Compares `model`'s outputs on `input` with its outputs when `permuted` (a state dict, e.g.
 * `applyPermutation(spec, perm, model.stateDict())`) is loaded instead. The model's weights are
 * restored afterwards. Float32 sums in another order differ by rounding only, hence the
 * tolerance (default atol 1e-5, rtol 1e-4).
 * @example
 * const r = checkInvariance(model, applyPermutation(spec, randomPermutation(spec, sd, 0), sd), x);
 * if (!r.ok) throw new Error(`spec is wrong: ${r.maxAbsDiff}`);
 */
export function checkInvariance(
  model: Net,
  permuted: StateDict,
  input: NDArray,
  opts: { atol?: number; rtol?: number } = {},
): InvarianceResult {
  const atol = opts.atol ?? 1e-5;
  const rtol = opts.rtol ?? 1e-4;
  const wasTraining = model.training;
  model.train(false);
  try {
    const run = () => noGrad(() => model.call(new Tensor(input)).data.toFloat64Array());
    const before = run();
    const after = withWeights(model, permuted, run);
    let maxAbsDiff = 0;
    let scale = 0;
    for (let i = 0; i < before.length; i++) {
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs(before[i]! - after[i]!));
      scale = Math.max(scale, Math.abs(before[i]!));
    }
    if (!Number.isFinite(maxAbsDiff)) maxAbsDiff = Infinity;
    return { maxAbsDiff, scale, ok: maxAbsDiff <= atol + rtol * scale };
  } finally {
    model.train(wasTraining);
  }
}

/** {@link checkInvariance}, throwing with the numbers when the outputs differ. */
export function assertInvariance(
  model: Net,
  permuted: StateDict,
  input: NDArray,
  opts: { atol?: number; rtol?: number; what?: string } = {},
): InvarianceResult {
  const r = checkInvariance(model, permuted, input, opts);
  if (!r.ok) {
    throw new Error(
      `assertInvariance${opts.what ? ` (${opts.what})` : ''}: outputs changed by up to ${r.maxAbsDiff} (scale ${r.scale}) ` +
        `on input [${input.shape.join(', ')}]; the permutation spec does not match the model`,
    );
  }
  return r;
}
