/**
 * Shape ops. Forwards are views of the same storage; each backward moves the
 * gradient back through the inverse view (or, for slices, embeds it into zeros).
 */
import * as nd from '@tsgrad/tensor';
import { unbroadcast } from '../broadcast.ts';
import { record } from '../graph.ts';
import type { Tensor } from '../tensor.ts';

/** New shape, same elements (one -1 allowed). Backward: reshape back. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  return record('reshape', x.data.reshape(shape), [x], (g) => [g.reshape(x.shape)]);
}

/** Reorders axes. Backward: permute by the inverse permutation. */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  const data = x.data.permute(dims);
  const axes = dims.map((d) => nd.normalizeAxis(d, x.ndim, 'permute'));
  const inverse = new Array<number>(axes.length);
  axes.forEach((a, i) => (inverse[a] = i));
  return record('permute', data, [x], (g) => [g.permute(inverse)]);
}

/** Swaps two axes. */
export function transpose(x: Tensor, d0: number, d1: number): Tensor {
  const dims = Array.from({ length: x.ndim }, (_, i) => i);
  const a = nd.normalizeAxis(d0, x.ndim, 'transpose');
  const b = nd.normalizeAxis(d1, x.ndim, 'transpose');
  dims[a] = b;
  dims[b] = a;
  return permute(x, dims);
}

/** Broadcasts to `shape` as a view. Backward: sum over the broadcast axes. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  const data = x.data.expand(shape);
  return record('expand', data, [x], (g) => [unbroadcast(g, x.shape)]);
}

/** Inserts a size-1 axis. */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  return record('unsqueeze', x.data.unsqueeze(axis), [x], (g) => [g.reshape(x.shape)]);
}

/** Removes size-1 axes (the given ones, or all). */
export function squeeze(x: Tensor, axis?: number | readonly number[]): Tensor {
  return record('squeeze', x.data.squeeze(axis), [x], (g) => [g.reshape(x.shape)]);
}

/**
 * Python-style slice of one axis. Backward: the gradient is written into a zero
 * tensor of the input's shape at the sliced positions (`embedSlice`).
 */
export function slice(x: Tensor, axis: number, start = 0, end?: number, step = 1): Tensor {
  const ax = nd.normalizeAxis(axis, x.ndim, 'slice');
  const data = x.data.slice(ax, start, end, step);
  // the resolved start of the view, for the backward
  const d = x.shape[ax]!;
  const s = Math.min(Math.max(start < 0 ? start + d : start, 0), d);
  return record('slice', data, [x], (g) => [embedSlice(g, x.shape, ax, s, step)]);
}

/** `length` elements of `axis` from `start` (torch.narrow). */
export function narrow(x: Tensor, axis: number, start: number, length: number): Tensor {
  const ax = nd.normalizeAxis(axis, x.ndim, 'narrow');
  const d = x.shape[ax]!;
  if (!Number.isInteger(start) || !Number.isInteger(length)) throw new RangeError(`narrow: start ${start} and length ${length} must be integers`);
  const s = start < 0 ? start + d : start;
  if (s < 0 || length < 0 || s + length > d) {
    throw new RangeError(`narrow: [${start}, ${start}+${length}) is out of range for axis ${axis} of size ${d}`);
  }
  return slice(x, ax, s, s + length);
}

/**
 * The adjoint of `slice`: zeros of `shape` with `g` placed at positions
 * start, start + step, ... of `axis`. Its own backward is the slice again.
 */
export function embedSlice(g: Tensor, shape: readonly number[], axis: number, start: number, step: number): Tensor {
  const out = nd.zeros(shape, g.dtype);
  const len = g.shape[axis]!;
  nd.getBackend().assign(out.slice(axis, start, start + len * step, step), g.data);
  return record('embedSlice', out, [g], (gg) => [slice(gg, axis, start, start + len * step, step)]);
}

/** Concatenates along `axis`. Backward: each input gets its narrow of the gradient. */
export function cat(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new Error('cat: expected at least one tensor');
  const ax = nd.normalizeAxis(axis, tensors[0]!.ndim, 'cat');
  const data = nd.cat(tensors.map((t) => t.data), ax);
  return record('cat', data, tensors, (g) => {
    let start = 0;
    return tensors.map((t) => {
      const piece = t.requiresGrad ? narrow(g, ax, start, t.shape[ax]!) : null;
      start += t.shape[ax]!;
      return piece;
    });
  });
}

/** Stacks equal shapes along a new axis (unsqueeze each, then cat). */
export function stack(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new Error('stack: expected at least one tensor');
  const first = tensors[0]!;
  for (const t of tensors) {
    if (!nd.shapesEqual(t.shape, first.shape)) {
      throw new Error(`stack: shapes ${tensors.map((x) => nd.shapeToString(x.shape)).join(', ')} are not all equal`);
    }
  }
  const ax = nd.normalizeAxis(axis, first.ndim + 1, 'stack');
  return cat(tensors.map((t) => unsqueeze(t, ax)), ax);
}
