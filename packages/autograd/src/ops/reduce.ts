/**
 * Reductions and the softmax family. Reduced axes are restored as size 1 in the
 * backward pass and the gradient is broadcast back over them.
 */
import * as nd from '@tsgrad/tensor';
import { record } from '../graph.ts';
import { constant, type Tensor } from '../tensor.ts';

type Axes = number | readonly number[] | undefined;

/** Re-inserts reduced axes as size 1 so `g` broadcasts against the input. */
function keepShape(g: Tensor, x: Tensor, axes: number[], keepdim: boolean): Tensor {
  if (keepdim) return g;
  return g.reshape(x.shape.map((d, i) => (axes.includes(i) ? 1 : d)));
}

/** Sum over `axes`. The gradient is g copied to every summed element. */
export function sum(x: Tensor, axes?: Axes, keepdim = false): Tensor {
  const ax = nd.normalizeAxes(axes, x.ndim, 'sum');
  const data = nd.sum(x.data, ax, keepdim);
  return record('sum', data, [x], (g) => [keepShape(g, x, ax, keepdim).expand(x.shape)]);
}

/** Mean over `axes`: the sum divided by the count (its gradient follows from sum's). */
export function mean(x: Tensor, axes?: Axes, keepdim = false): Tensor {
  const ax = nd.normalizeAxes(axes, x.ndim, 'mean');
  const count = ax.reduce((n, a) => n * x.shape[a]!, 1);
  return sum(x, ax, keepdim).div(count);
}

/**
 * Max (or min) over `axes`. The gradient goes to the elements equal to the result;
 * when several tie, it is split evenly among them (like torch.amax), so the rule
 * does not depend on which index happens to come first.
 */
export function max(x: Tensor, axes?: Axes, keepdim = false): Tensor {
  return extreme('max', x, axes, keepdim);
}

/** Min over `axes`; ties share the gradient evenly (see `max`). */
export function min(x: Tensor, axes?: Axes, keepdim = false): Tensor {
  return extreme('min', x, axes, keepdim);
}

function extreme(op: 'max' | 'min', x: Tensor, axes: Axes, keepdim: boolean): Tensor {
  const ax = nd.normalizeAxes(axes, x.ndim, op);
  const kept = op === 'max' ? nd.max(x.data, ax, true) : nd.min(x.data, ax, true);
  const data = keepdim ? kept : kept.squeeze(ax);
  return record(op, data, [x], (g) => {
    const hits = nd.cast(nd.eq(x.data, kept), g.dtype);
    const share = nd.div(hits, nd.sum(hits, ax, true));
    return [keepShape(g, x, ax, keepdim).mul(constant(share))];
  });
}

/**
 * Variance with `unbiased` (default true: divide by N - 1), composed from mean and
 * sum so that its gradient 2 (x - mean) / (N - 1) comes from the chain rule.
 */
export function variance(x: Tensor, axes?: Axes, opts: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
  const { unbiased = true, keepdim = false } = opts;
  const ax = nd.normalizeAxes(axes, x.ndim, 'var');
  const n = ax.reduce((k, a) => k * x.shape[a]!, 1);
  const centred = x.sub(mean(x, ax, true));
  return sum(centred.mul(centred), ax, keepdim).div(Math.max(n - (unbiased ? 1 : 0), 0));
}

/**
 * log sum exp over `axes`, stable. d/dx = softmax(x) along the reduced axes,
 * written as exp(x - out) so the rule is itself differentiable.
 */
export function logsumexp(x: Tensor, axes?: Axes, keepdim = false): Tensor {
  const ax = nd.normalizeAxes(axes, x.ndim, 'logsumexp');
  const out = record('logsumexp', nd.logsumexp(x.data, ax, keepdim), [x], (g) => {
    const o = keepShape(out, x, ax, keepdim);
    return [keepShape(g, x, ax, keepdim).mul(x.sub(o).exp())];
  });
  return out;
}

/** softmax along `axis`. With y = softmax(x): dx = y (g - sum(g y)). */
export function softmax(x: Tensor, axis: number): Tensor {
  const ax = nd.normalizeAxis(axis, x.ndim, 'softmax');
  const y = record('softmax', nd.softmax(x.data, ax), [x], (g) => [y.mul(g.sub(g.mul(y).sum(ax, true)))]);
  return y;
}

/** log softmax along `axis`. With y = logSoftmax(x): dx = g - exp(y) sum(g). */
export function logSoftmax(x: Tensor, axis: number): Tensor {
  const ax = nd.normalizeAxis(axis, x.ndim, 'logSoftmax');
  const y = record('logSoftmax', nd.logSoftmax(x.data, ax), [x], (g) => [g.sub(y.exp().mul(g.sum(ax, true)))]);
  return y;
}
