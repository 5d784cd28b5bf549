/**
 * Index-based ops: gather / scatter-add (torch semantics), index-select / index-add,
 * one-hot, and joining arrays with cat / stack.
 */
import { getBackend } from '../backends/registry.ts';
import { promoteTypes } from '../dtype.ts';
import { NDArray } from '../ndarray.ts';
import { normalizeAxis, shapeToString } from '../shape.ts';
import { castIfNeeded } from './elementwise.ts';

function checkIndex(index: NDArray, op: string): void {
  if (index.dtype !== 'int32') throw new TypeError(`${op}: index must be an int32 array, got ${index.dtype}`);
}

/**
 * Every index must lie in [0, size): as torch.gather and torch.index_select, negative
 * indices are refused rather than counted from the end (a stray -1 would otherwise
 * read the last row without a word). Checked here, once, for every backend.
 */
function checkIndexRange(index: NDArray, axis: number, size: number, op: string): void {
  if (index.size === 0) return;
  const all = index.shape.map((_, i) => i);
  const lo = getBackend().reduce('min', index, all).item();
  const hi = getBackend().reduce('max', index, all).item();
  if (lo >= 0 && hi < size) return;
  const bad = lo < 0 ? lo : hi;
  const why = bad < 0 ? ' (negative indices are not counted from the end)' : '';
  throw new RangeError(`${op}: index ${bad} is out of range for axis ${axis} of size ${size}${why}`);
}

/**
 * `out[i][j] = x[i][index[i][j]]` for `axis = 1` (torch.gather). `index` has the same
 * rank as `x`; its other axes must not exceed x's; its entries lie in [0, x.shape[axis]).
 * @example gather(logProbs, 1, targets.unsqueeze(1)) // pick each row's target
 */
export function gather(x: NDArray, axis: number, index: NDArray): NDArray {
  checkIndex(index, 'gather');
  const ax = normalizeAxis(axis, x.ndim, 'gather');
  if (index.ndim !== x.ndim || index.shape.some((d, i) => i !== ax && d > x.shape[i]!)) {
    throw new Error(`gather: index of shape ${shapeToString(index.shape)} does not fit input ${shapeToString(x.shape)} along axis ${axis}`);
  }
  checkIndexRange(index, ax, x.shape[ax]!, 'gather');
  return getBackend().gather(x, ax, index);
}

/**
 * Returns a copy of `x` with `src` added at the positions `index` names along `axis`
 * (the adjoint of `gather`; torch's `scatter_add`).
 */
export function scatterAdd(x: NDArray, axis: number, index: NDArray, src: NDArray): NDArray {
  checkIndex(index, 'scatterAdd');
  const ax = normalizeAxis(axis, x.ndim, 'scatterAdd');
  if (index.ndim !== x.ndim || src.ndim !== x.ndim || index.shape.some((d, i) => d > src.shape[i]! || (i !== ax && d > x.shape[i]!))) {
    throw new Error(`scatterAdd: index ${shapeToString(index.shape)}, src ${shapeToString(src.shape)} and input ${shapeToString(x.shape)} do not fit along axis ${axis}`);
  }
  checkIndexRange(index, ax, x.shape[ax]!, 'scatterAdd');
  const out = x.contiguous() === x ? copy(x) : x.contiguous();
  const s = src.shape.every((d, i) => d === index.shape[i]) ? src : sliceTo(src, index.shape);
  getBackend().scatterAdd(out, ax, index, castIfNeeded(s, out.dtype));
  return out;
}

function sliceTo(x: NDArray, shape: readonly number[]): NDArray {
  let v = x;
  shape.forEach((d, i) => {
    v = v.slice(i, 0, d);
  });
  return v;
}

/** A contiguous copy that never shares storage with `x`. */
export function copy(x: NDArray): NDArray {
  return new NDArray(x.toTyped(), x.shape, undefined, 0, x.dtype);
}

/**
 * Whole slices of `axis` picked by a 1-D int32 `index` (torch.index_select); entries
 * lie in [0, x.shape[axis]) (negative ones throw, as in PyTorch).
 * @example indexSelect(embeddingTable, 0, tokenIds)
 */
export function indexSelect(x: NDArray, axis: number, index: NDArray): NDArray {
  checkIndex(index, 'indexSelect');
  if (index.ndim !== 1) throw new Error(`indexSelect: index must be 1-D, got shape ${shapeToString(index.shape)}`);
  const ax = normalizeAxis(axis, x.ndim, 'indexSelect');
  checkIndexRange(index, ax, x.shape[ax]!, 'indexSelect');
  return getBackend().indexSelect(x, ax, index);
}

/** A copy of `x` with slice k of `src` added to slice `index[k]` along `axis` (torch.index_add). */
export function indexAdd(x: NDArray, axis: number, index: NDArray, src: NDArray): NDArray {
  checkIndex(index, 'indexAdd');
  const ax = normalizeAxis(axis, x.ndim, 'indexAdd');
  const expected = [...x.shape];
  expected[ax] = index.size;
  if (index.ndim !== 1 || src.ndim !== x.ndim || src.shape.some((d, i) => d !== expected[i])) {
    throw new Error(`indexAdd: src of shape ${shapeToString(src.shape)} does not match ${shapeToString(expected)} for index ${shapeToString(index.shape)}`);
  }
  checkIndexRange(index, ax, x.shape[ax]!, 'indexAdd');
  const out = copy(x);
  getBackend().indexAdd(out, ax, index, castIfNeeded(src, out.dtype));
  return out;
}

/**
 * One-hot encoding of int32 class ids: shape `[...ids.shape, numClasses]`.
 * @example oneHot(labels, 10, 'float32')
 */
export function oneHot(ids: NDArray, numClasses: number, dtype: 'float32' | 'float64' | 'int32' = 'int32'): NDArray {
  checkIndex(ids, 'oneHot');
  const out = NDArray.zeros([...ids.shape, numClasses], dtype);
  const flat = ids.toTyped();
  for (let i = 0; i < flat.length; i++) {
    const c = flat[i]!;
    if (c < 0 || c >= numClasses) throw new RangeError(`oneHot: class ${c} is out of range for ${numClasses} classes`);
    out.data[i * numClasses + c] = 1;
  }
  return out;
}

/**
 * Concatenates along `axis`; all other axes must agree. Dtypes promote.
 * @example cat([a, b], 0)
 */
export function cat(arrays: readonly NDArray[], axis = 0): NDArray {
  if (arrays.length === 0) throw new Error('cat: expected at least one array');
  const first = arrays[0]!;
  const ax = normalizeAxis(axis, first.ndim, 'cat');
  for (const a of arrays) {
    if (a.ndim !== first.ndim || a.shape.some((d, i) => i !== ax && d !== first.shape[i])) {
      throw new Error(`cat: shapes ${arrays.map((x) => shapeToString(x.shape)).join(', ')} differ outside axis ${axis}`);
    }
  }
  const dtype = arrays.map((a) => a.dtype).reduce(promoteTypes);
  const shape = [...first.shape];
  shape[ax] = arrays.reduce((n, a) => n + a.shape[ax]!, 0);
  const out = NDArray.zeros(shape, dtype);
  let start = 0;
  for (const a of arrays) {
    const len = a.shape[ax]!;
    getBackend().assign(out.narrow(ax, start, len), castIfNeeded(a, dtype));
    start += len;
  }
  return out;
}

/** Stacks equal-shaped arrays along a new axis. @example stack([a, b], 0) */
export function stack(arrays: readonly NDArray[], axis = 0): NDArray {
  if (arrays.length === 0) throw new Error('stack: expected at least one array');
  const first = arrays[0]!;
  for (const a of arrays) {
    if (a.ndim !== first.ndim || a.shape.some((d, i) => d !== first.shape[i])) {
      throw new Error(`stack: shapes ${arrays.map((x) => shapeToString(x.shape)).join(', ')} are not all equal`);
    }
  }
  const ax = normalizeAxis(axis, first.ndim + 1, 'stack');
  return cat(arrays.map((a) => a.unsqueeze(ax)), ax);
}
