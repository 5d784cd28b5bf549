/**
 * Indexing ops and selection by mask. Each index op's backward is its adjoint:
 * gather <-> scatterAdd, indexSelect <-> indexAdd, where -> where with zeros.
 */
import * as nd from '@tsgrad/tensor';
import { unbroadcast } from '../broadcast.ts';
import { record } from '../graph.ts';
import { embedSlice } from './shape.ts';
import { lift, type TensorLike } from '../lift.ts';
import { constant, Tensor } from '../tensor.ts';

function indexData(index: Tensor | nd.NDArray): nd.NDArray {
  return index instanceof Tensor ? index.data : index;
}

/** torch.gather. Backward: scatter-add the gradient into zeros at the same indices. */
export function gather(x: Tensor, axis: number, index: Tensor | nd.NDArray): Tensor {
  const idx = indexData(index);
  const ax = nd.normalizeAxis(axis, x.ndim, 'gather');
  return record('gather', nd.gather(x.data, ax, idx), [x], (g) => [scatterAdd(constant(nd.zeros(x.shape, g.dtype)), ax, idx, g)]);
}

/**
 * A copy of `x` plus `src` scattered along `axis` (torch.scatter_add). Backward: x gets g,
 * src gets gather(g), zero-padded to src's shape where src is larger than the index
 * (those elements of src are never read).
 */
export function scatterAdd(x: Tensor, axis: number, index: Tensor | nd.NDArray, src: Tensor): Tensor {
  const idx = indexData(index);
  const ax = nd.normalizeAxis(axis, x.ndim, 'scatterAdd');
  return record('scatterAdd', nd.scatterAdd(x.data, ax, idx, src.data), [x, src], (g) => [g, padTo(gather(g, ax, idx), src.shape)]);
}

/** Zero-pads `t` at the end of each axis up to `shape` (differentiably, via embedSlice). */
function padTo(t: Tensor, shape: readonly number[]): Tensor {
  let out = t;
  shape.forEach((d, i) => {
    if (out.shape[i] !== d) out = embedSlice(out, out.shape.map((e, j) => (j === i ? d : e)), i, 0, 1);
  });
  return out;
}

/** torch.index_select. Backward: index-add the gradient's slices into zeros. */
export function indexSelect(x: Tensor, axis: number, index: Tensor | nd.NDArray): Tensor {
  const idx = indexData(index);
  const ax = nd.normalizeAxis(axis, x.ndim, 'indexSelect');
  return record('indexSelect', nd.indexSelect(x.data, ax, idx), [x], (g) => [indexAdd(constant(nd.zeros(x.shape, g.dtype)), ax, idx, g)]);
}

/** A copy of `x` with slices of `src` added at `index` along `axis`. Backward: x gets g, src gets indexSelect(g). */
export function indexAdd(x: Tensor, axis: number, index: Tensor | nd.NDArray, src: Tensor): Tensor {
  const idx = indexData(index);
  const ax = nd.normalizeAxis(axis, x.ndim, 'indexAdd');
  return record('indexAdd', nd.indexAdd(x.data, ax, idx, src.data), [x, src], (g) => [g, indexSelect(g, ax, idx)]);
}

/**
 * `cond ? a : b`, broadcasting all three. The gradient flows to a where cond holds
 * and to b elsewhere; the condition itself gets none.
 */
export function where(cond: Tensor | nd.NDArray, a: TensorLike, b: TensorLike): Tensor {
  const c = indexData(cond);
  const [x, y] = lift(a, b, 'where');
  return record('where', nd.where(c, x.data, y.data), [x, y], (g) => {
    const m = constant(c);
    return [
      x.requiresGrad ? unbroadcast(where(m, g, 0), x.shape) : null,
      y.requiresGrad ? unbroadcast(where(m, 0, g), y.shape) : null,
    ];
  });
}

/** Replaces elements where `mask` is true by `value` (torch.masked_fill). */
export function maskedFill(x: Tensor, mask: Tensor | nd.NDArray, value: number): Tensor {
  const m = indexData(mask);
  if (m.dtype !== 'bool') throw new TypeError(`maskedFill: mask must be bool, got ${m.dtype}`);
  return where(m, value, x);
}
