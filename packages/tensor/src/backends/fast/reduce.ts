/**
 * Reductions of the fast backend: sum / prod / max / min over any axes, and argmax /
 * argmin along one axis. Both walk x in its own layout with `stridedRows`
 * (../../strided.ts), so a permuted or sliced input is never copied.
 */
import type { ReduceOp } from '../../backend.ts';
import { allocate, type DType } from '../../dtype.ts';
import { NDArray } from '../../ndarray.ts';
import { contiguousStrides, sizeOf } from '../../shape.ts';
import { stridedRows } from '../../strided.ts';

/**
 * Reductions walk x row by row in its own layout (see strided.ts) and fold each element
 * into its output slot, treating the output as a second operand with stride 0 along the
 * reduced axes. Summing a batch axis thus adds whole contiguous rows into the output,
 * and summing the last axis runs one accumulator along each row; nothing is allocated
 * per element. Accumulators are float64 whatever the dtype.
 */
export function reduce(op: ReduceOp, x: NDArray, axes: readonly number[]): NDArray {
  const outShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const outDtype: DType = op === 'sum' || op === 'prod' ? (x.dtype === 'bool' ? 'int32' : x.dtype) : x.dtype;
  const outSize = sizeOf(outShape);
  if ((op === 'max' || op === 'min') && outSize > 0 && sizeOf(axes.map((a) => x.shape[a]!)) === 0) {
    throw new Error(`${op}: cannot reduce over an empty axis`);
  }
  const acc = new Float64Array(outSize).fill(op === 'sum' ? 0 : op === 'prod' ? 1 : op === 'max' ? -Infinity : Infinity);
  const accStrides = contiguousStrides(outShape).map((s, i) => (axes.includes(i) ? 0 : s));
  const { length, count, step, start } = stridedRows(x.shape, [x, { strides: accStrides, offset: 0 }]);
  const src = x.data;
  const sx = step[0]!;
  const sa = step[1]!;
  const rowX = start[0]!;
  const rowA = start[1]!;
  for (let r = 0; r < count; r++) {
    let px = rowX[r]!;
    const pa = rowA[r]!;
    if (sa === 0) {
      // the whole row folds into one output element
      let v = acc[pa]!;
      switch (op) {
        case 'sum':
          for (let j = 0; j < length; j++, px += sx) v += src[px]!;
          break;
        case 'prod':
          for (let j = 0; j < length; j++, px += sx) v *= src[px]!;
          break;
        case 'max':
          for (let j = 0; j < length; j++, px += sx) {
            const e = src[px]!;
            if (e > v || e !== e) v = e; // NaN wins, and stays
          }
          break;
        case 'min':
          for (let j = 0; j < length; j++, px += sx) {
            const e = src[px]!;
            if (e < v || e !== e) v = e;
          }
          break;
      }
      acc[pa] = v;
    } else {
      // the row runs along kept axes: fold it elementwise into a row of the output
      switch (op) {
        case 'sum':
          for (let j = 0, q = pa; j < length; j++, px += sx, q += sa) acc[q]! += src[px]!;
          break;
        case 'prod':
          for (let j = 0, q = pa; j < length; j++, px += sx, q += sa) acc[q]! *= src[px]!;
          break;
        case 'max':
          for (let j = 0, q = pa; j < length; j++, px += sx, q += sa) {
            const e = src[px]!;
            if (e > acc[q]! || e !== e) acc[q] = e;
          }
          break;
        case 'min':
          for (let j = 0, q = pa; j < length; j++, px += sx, q += sa) {
            const e = src[px]!;
            if (e < acc[q]! || e !== e) acc[q] = e;
          }
          break;
      }
    }
  }
  if (outDtype === 'float64') return new NDArray(acc, outShape, undefined, 0, outDtype);
  const out = allocate(outDtype, outSize);
  out.set(acc);
  return new NDArray(out, outShape, undefined, 0, outDtype);
}


/**
 * Index of the first maximum (or minimum) along `axis`; a NaN wins (the first one).
 * Walks one line per index of the other axes (rows of `stridedRows` over them) and
 * steps along `axis` with its stride.
 */
export function argReduce(op: 'argmax' | 'argmin', x: NDArray, axis: number): NDArray {
  const d = x.shape[axis]!;
  if (d === 0) throw new Error(`${op}: cannot reduce over an empty axis`);
  const drop = <T,>(list: readonly T[]) => list.filter((_, i) => i !== axis);
  const lines = stridedRows(drop(x.shape), [{ strides: drop(x.strides), offset: x.offset }]);
  const out = new Int32Array(lines.count * lines.length);
  const src = x.data;
  const sx = x.strides[axis]!;
  const sign = op === 'argmax' ? 1 : -1;
  for (let r = 0, o = 0; r < lines.count; r++) {
    for (let j = 0; j < lines.length; j++) {
      let q = lines.start[0]![r]! + j * lines.step[0]!;
      let best = 0;
      let bestVal = src[q]! * sign;
      for (let t = 1; t < d; t++) {
        q += sx;
        const v = src[q]! * sign;
        if (Number.isNaN(bestVal)) break;
        if (v > bestVal || Number.isNaN(v)) {
          bestVal = v;
          best = t;
        }
      }
      out[o++] = best;
    }
  }
  return new NDArray(out, x.shape.map((s, i) => (i === axis ? 1 : s)), undefined, 0, 'int32');
}
