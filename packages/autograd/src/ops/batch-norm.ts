/**
 * Batch normalisation (Ioffe & Szegedy 2015), as torch.nn.functional.batch_norm: each
 * channel (axis 1) is normalised over the batch and every spatial position.
 *
 * Training mode uses the batch's mean and biased variance, and blends the batch mean and
 * the *unbiased* variance into the running statistics (in place, like PyTorch):
 *   running = (1 - momentum) running + momentum batchStatistic.
 * Its derivative rule is the one of normalisation over the reduced axes (as layer norm's,
 * over other axes): with xhat = (x - mean) rstd and dxhat = g weight,
 *   dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat)),
 *   dweight = sum(g xhat), dbias = sum(g).
 * When the backward is recorded (createGraph) xhat and rstd are recomputed from x in
 * tensor ops, so the second derivative includes their dependence on x.
 * Eval mode is an affine map with the running statistics as constants, composed from
 * differentiable ops.
 */
import * as nd from '@tsgrad/tensor';
import { isGradEnabled, record } from '../graph.ts';
import { constant, type Tensor } from '../tensor.ts';

/** Options of `batchNorm` (torch.nn.functional.batch_norm's keyword arguments). */
export interface BatchNormOptions {
  /** Normalise with batch statistics and update the running ones (default false, as PyTorch). */
  training?: boolean;
  /** Weight of the new batch statistic in the running average (default 0.1). */
  momentum?: number;
  /** Added to the variance inside the square root (default 1e-5). */
  eps?: number;
}

function asDtype(t: Tensor, dtype: nd.DType): Tensor {
  return t.dtype === dtype ? t : t.to(dtype);
}

function checkInputs(x: Tensor, stats: Record<string, Tensor | null>, opts: Required<BatchNormOptions>): number {
  if (x.ndim < 2) throw new Error(`batchNorm: expected an input [N, C, ...] with at least 2 dimensions, got shape ${nd.shapeToString(x.shape)}`);
  if (!nd.isFloat(x.dtype)) throw new TypeError(`batchNorm: expected a float input, got ${x.dtype}`);
  const c = x.shape[1]!;
  for (const [name, t] of Object.entries(stats)) {
    if (t && (t.ndim !== 1 || t.shape[0] !== c)) {
      throw new Error(`batchNorm: ${name} of shape ${nd.shapeToString(t.shape)} does not match the ${c} channels of input ${nd.shapeToString(x.shape)}`);
    }
  }
  if (!(opts.eps >= 0) || !(opts.momentum >= 0 && opts.momentum <= 1)) {
    throw new RangeError(`batchNorm: eps (${opts.eps}) must be >= 0 and momentum (${opts.momentum}) in [0, 1]`);
  }
  if ((stats.runningMean === null) !== (stats.runningVar === null)) throw new Error('batchNorm: runningMean and runningVar must be given together');
  if (!opts.training && !stats.runningMean) throw new Error('batchNorm: eval mode (training: false) needs runningMean and runningVar');
  const count = x.size / c;
  if (opts.training && count <= 1) {
    throw new Error(`batchNorm: expected more than 1 value per channel when training, got input of shape ${nd.shapeToString(x.shape)}`);
  }
  return count;
}

/**
 * Normalises each channel of `input` ([N, C], [N, C, L] or [N, C, H, W]), then scales by
 * `weight` and shifts by `bias` ([C] each, or null). In training mode (`training: true`)
 * the batch statistics are used and `runningMean` / `runningVar` (if given) are updated
 * in place; otherwise the running statistics are used.
 * @example
 * const x = randn([8, 3, 4, 4], { seed: 0 });
 * const mean = zeros([3]), variance = ones([3]);
 * const y = batchNorm(x, mean, variance, null, null, { training: true }); // mean, variance now moved 10% toward the batch's
 */
export function batchNorm(
  input: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  weight: Tensor | null = null,
  bias: Tensor | null = null,
  opts: BatchNormOptions = {},
): Tensor {
  const o: Required<BatchNormOptions> = { training: opts.training ?? false, momentum: opts.momentum ?? 0.1, eps: opts.eps ?? 1e-5 };
  const count = checkInputs(input, { runningMean, runningVar, weight, bias }, o);
  const c = input.shape[1]!;
  const axes = input.shape.map((_, i) => i).filter((i) => i !== 1);
  // [C] -> [1, C, 1, ...], broadcasting against the input
  const perChannel = input.shape.map((d, i) => (i === 1 ? c : 1));
  // parameters in another float type compute in the input's (as layerNorm); their
  // gradients come back through the cast in their own type
  const wb = weight ? asDtype(weight, input.dtype).reshape(perChannel) : null;
  const bb = bias ? asDtype(bias, input.dtype).reshape(perChannel) : null;

  if (!o.training) {
    const mean = nd.castIfNeeded(runningMean!.data, input.dtype).reshape(perChannel);
    const rstd = nd.rsqrt(nd.add(nd.castIfNeeded(runningVar!.data, input.dtype), o.eps)).reshape(perChannel);
    let y = input.sub(constant(mean)).mul(constant(rstd));
    if (wb) y = y.mul(wb);
    return bb ? y.add(bb) : y;
  }

  const x = input.data;
  const mean = nd.mean(x, axes, true);
  const xc = nd.sub(x, mean);
  const variance = nd.mean(nd.mul(xc, xc), axes, true);
  const rstd = nd.rsqrt(nd.add(variance, o.eps));
  const xhat = nd.mul(xc, rstd);
  let y = wb ? nd.mul(xhat, wb.data) : xhat;
  if (bb) y = nd.add(y, bb.data);
  const inputs = [input, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  const out = record('batchNorm', y, inputs, (g) => {
    // recorded backward: xhat and rstd as functions of x; otherwise the saved values
    let xh = constant(xhat);
    let rs = constant(rstd);
    if (isGradEnabled()) {
      const centred = input.sub(input.mean(axes, true));
      rs = centred.mul(centred).mean(axes, true).add(o.eps).sqrt().pow(-1);
      xh = centred.mul(rs);
    }
    const dxhat = wb ? g.mul(wb) : g;
    const dx = input.requiresGrad ? dxhat.sub(dxhat.mean(axes, true)).sub(xh.mul(dxhat.mul(xh).mean(axes, true))).mul(rs) : null;
    return [dx, ...(weight ? [weight.requiresGrad ? g.mul(xh).sum(axes) : null] : []), ...(bias ? [bias.requiresGrad ? g.sum(axes) : null] : [])];
  });

  if (runningMean && runningVar) {
    // after the forward succeeded, so a failing call leaves the statistics as they were
    const m = o.momentum;
    const blend = (running: Tensor, batch: nd.NDArray) => {
      const next = nd.add(nd.mul(running.data, 1 - m), nd.mul(nd.castIfNeeded(batch.reshape([c]), running.dtype), m));
      nd.getBackend().assign(running.data, nd.castIfNeeded(next, running.dtype));
    };
    blend(runningMean, mean);
    blend(runningVar, nd.mul(variance, count / (count - 1)));
  }
  return out;
}
