/**
 * Reductions over any set of axes, with `keepdim` as in PyTorch.
 * `axes` may be a number, a list, or undefined for all axes.
 */
import { getBackend } from '../backends/registry.ts';
import { INT32_MAX, INT32_MIN, isFloat } from '../dtype.ts';
import type { NDArray } from '../ndarray.ts';
import { normalizeAxes, normalizeAxis, sizeOf } from '../shape.ts';
import { full } from './creation.ts';
import { castIfNeeded, div, exp, log, add, sub, mul, where, isfinite } from './elementwise.ts';

export type Axes = number | readonly number[] | undefined;

function finish(out: NDArray, axes: number[], keepdim: boolean): NDArray {
  return keepdim ? out : out.squeeze(axes);
}

/**
 * Sum over `axes` (all if omitted). Integer and bool inputs give int32; the sum is
 * accumulated exactly (in float64) and a result outside the int32 range throws a
 * RangeError naming the op, where PyTorch would return int64.
 * @example sum(x, 1, true)
 */
export function sum(x: NDArray, axes?: Axes, keepdim = false): NDArray {
  const ax = normalizeAxes(axes, x.ndim, 'sum');
  return finish(integerReduce('sum', x, ax) ?? getBackend().reduce('sum', x, ax), ax, keepdim);
}

/** Product over `axes` (int32 and bool as in `sum`: exact, or a RangeError). */
export function prod(x: NDArray, axes?: Axes, keepdim = false): NDArray {
  const ax = normalizeAxes(axes, x.ndim, 'prod');
  return finish(integerReduce('prod', x, ax) ?? getBackend().reduce('prod', x, ax), ax, keepdim);
}

/**
 * For int32/bool input, the sum or product computed in float64 and checked to fit int32
 * (null for float input). Exact while partial sums stay below 2^53, i.e. for fewer
 * than 2^22 int32 terms per result; a product that fits int32 never has a larger
 * partial product unless a factor is 0, and the NaN an overflowed partial product
 * times 0 gives is that 0.
 */
function integerReduce(op: 'sum' | 'prod', x: NDArray, ax: number[]): NDArray | null {
  if (isFloat(x.dtype)) return null;
  const exact = getBackend().reduce(op, castIfNeeded(x, 'float64'), ax).contiguous();
  const d = exact.data;
  for (let i = 0; i < exact.size; i++) {
    const v = Number.isNaN(d[i]!) ? 0 : d[i]!;
    if (!(v >= INT32_MIN && v <= INT32_MAX)) {
      throw new RangeError(`${op}: int32 result ${v} overflows the int32 range [${INT32_MIN}, ${INT32_MAX}]; cast to float64 first`);
    }
    d[i] = v;
  }
  return castIfNeeded(exact, 'int32');
}

/** Mean over `axes`; integers are averaged as float32. */
export function mean(x: NDArray, axes?: Axes, keepdim = false): NDArray {
  const ax = normalizeAxes(axes, x.ndim, 'mean');
  const count = sizeOf(ax.map((a) => x.shape[a]!));
  const s = sum(isFloat(x.dtype) ? x : castIfNeeded(x, 'float32'), ax, keepdim);
  return div(s, count);
}

/** Maximum over `axes`. Throws on an empty axis. */
export function max(x: NDArray, axes?: Axes, keepdim = false): NDArray {
  const ax = normalizeAxes(axes, x.ndim, 'max');
  return finish(getBackend().reduce('max', x, ax), ax, keepdim);
}

/** Minimum over `axes`. Throws on an empty axis. */
export function min(x: NDArray, axes?: Axes, keepdim = false): NDArray {
  const ax = normalizeAxes(axes, x.ndim, 'min');
  return finish(getBackend().reduce('min', x, ax), ax, keepdim);
}

/**
 * Index of the maximum along `axis` (int32); without an axis, the index into the
 * flattened array. The first occurrence wins ties, as in NumPy.
 */
export function argmax(x: NDArray, axis?: number, keepdim = false): NDArray {
  return argReduce('argmax', x, axis, keepdim);
}

/** Index of the minimum along `axis` (see `argmax`). */
export function argmin(x: NDArray, axis?: number, keepdim = false): NDArray {
  return argReduce('argmin', x, axis, keepdim);
}

function argReduce(op: 'argmax' | 'argmin', x: NDArray, axis: number | undefined, keepdim: boolean): NDArray {
  if (axis === undefined) {
    const flat = x.reshape([x.size]);
    const r = getBackend().argReduce(op, flat, 0);
    return keepdim ? r.reshape(x.shape.map(() => 1)) : r.reshape([]);
  }
  const ax = normalizeAxis(axis, x.ndim, op);
  const r = getBackend().argReduce(op, x, ax);
  return keepdim ? r : r.squeeze(ax);
}

/**
 * Variance over `axes`. `unbiased` (default true, like torch.var) divides by N - 1.
 * @example variance(x, -1, { unbiased: false, keepdim: true })
 */
export function variance(x: NDArray, axes?: Axes, opts: { unbiased?: boolean; keepdim?: boolean } = {}): NDArray {
  const { unbiased = true, keepdim = false } = opts;
  const ax = normalizeAxes(axes, x.ndim, 'var');
  const n = sizeOf(ax.map((a) => x.shape[a]!));
  const centred = sub(x, mean(x, ax, true));
  const ss = sum(mul(centred, centred), ax, keepdim);
  return div(ss, Math.max(n - (unbiased ? 1 : 0), 0));
}

/**
 * log(sum(exp(x))) over `axes`, computed stably as m + log(sum(exp(x - m))) with
 * m the maximum (treated as 0 where it is infinite, so all -inf rows give -inf).
 */
export function logsumexp(x: NDArray, axes?: Axes, keepdim = false): NDArray {
  const ax = normalizeAxes(axes, x.ndim, 'logsumexp');
  if (ax.some((a) => x.shape[a] === 0)) {
    // an empty sum is 0, and log 0 = -inf (as torch.logsumexp)
    const shape = x.shape.map((d, i) => (ax.includes(i) ? 1 : d));
    const out = full(shape, -Infinity, isFloat(x.dtype) ? x.dtype : 'float32');
    return keepdim ? out : out.squeeze(ax);
  }
  const m = max(x, ax, true);
  const safeM = where(isfinite(m), m, 0);
  const s = sum(exp(sub(x, safeM)), ax, true);
  const out = add(log(s), safeM);
  return keepdim ? out : out.squeeze(ax);
}

/** Softmax along `axis`, stable (subtracts the row maximum). */
export function softmax(x: NDArray, axis: number): NDArray {
  const ax = normalizeAxis(axis, x.ndim, 'softmax');
  if (x.size === 0) return castIfNeeded(x, isFloat(x.dtype) ? x.dtype : 'float32').contiguous();
  const fused = getBackend().softmax;
  if (fused) return fused(x, ax, false);
  const e = exp(sub(x, max(x, ax, true)));
  return div(e, sum(e, ax, true));
}

/** log(softmax(x)) along `axis`, computed as x - logsumexp(x) (no log of small numbers). */
export function logSoftmax(x: NDArray, axis: number): NDArray {
  const ax = normalizeAxis(axis, x.ndim, 'logSoftmax');
  if (x.size === 0) return castIfNeeded(x, isFloat(x.dtype) ? x.dtype : 'float32').contiguous();
  const fused = getBackend().softmax;
  if (fused) return fused(x, ax, true);
  return sub(x, logsumexp(x, ax, true));
}
