/**
 * Index primitives of the fast backend: gather / scatterAdd (one index per element) and
 * indexSelect / indexAdd (whole slices).
 */
import { allocate } from '../../dtype.ts';
import { NDArray } from '../../ndarray.ts';
import { sizeOf } from '../../shape.ts';
import { stridedRows } from '../../strided.ts';
import { assign, binary } from './elementwise.ts';

/**
 * Shared loop for gather and scatterAdd: for every element of `index` (row-major), calls
 * `fn` with the storage position in `target` obtained by replacing coordinate `axis`
 * with the index value, the element's row-major position, and its storage position in
 * `src` (an operand of index's shape; 0 when null). All three are walked together by
 * `stridedRows`, the target with stride 0 along `axis` (the index value supplies it).
 */
function forEachIndexed(
  target: NDArray,
  axis: number,
  index: NDArray,
  src: NDArray | null,
  op: string,
  fn: (targetPos: number, i: number, srcPos: number) => void,
): void {
  const size = target.shape[axis]!;
  const along = target.strides[axis]!;
  const layouts = [index, { strides: target.strides.map((s, d) => (d === axis ? 0 : s)), offset: target.offset }, src ?? index];
  const { length, count, step, start } = stridedRows(index.shape, layouts);
  const [si, st, ss] = step as [number, number, number];
  const idx = index.data;
  for (let r = 0, i = 0; r < count; r++) {
    let pi = start[0]![r]!;
    let pt = start[1]![r]!;
    let ps = start[2]![r]!;
    for (let j = 0; j < length; j++, i++, pi += si, pt += st, ps += ss) {
      let k = idx[pi]!;
      if (k < 0) k += size;
      if (k < 0 || k >= size) throw new RangeError(`${op}: index ${idx[pi]} is out of range for axis ${axis} of size ${size}`);
      fn(pt + k * along, i, src ? ps : 0);
    }
  }
}

export function gather(x: NDArray, axis: number, index: NDArray): NDArray {
  const out = allocate(x.dtype, index.size);
  const src = x.data;
  forEachIndexed(x, axis, index, null, 'gather', (p, i) => {
    out[i] = src[p]!;
  });
  return new NDArray(out, index.shape, undefined, 0, x.dtype);
}

export function scatterAdd(dst: NDArray, axis: number, index: NDArray, src: NDArray): void {
  const sd = src.data;
  const dd = dst.data;
  // a bool destination stores 0/1 (true + true is true), as on every backend
  if (dst.dtype === 'bool') {
    forEachIndexed(dst, axis, index, src, 'scatterAdd', (p, _i, q) => {
      dd[p] = dd[p]! + sd[q]! ? 1 : 0;
    });
    return;
  }
  forEachIndexed(dst, axis, index, src, 'scatterAdd', (p, _i, q) => {
    dd[p] = dd[p]! + sd[q]!;
  });
}

function readIndex(index: NDArray, size: number, op: string): Int32Array {
  const idx = Int32Array.from(index.toTyped());
  for (let k = 0; k < idx.length; k++) {
    const j = idx[k]! < 0 ? idx[k]! + size : idx[k]!;
    if (j < 0 || j >= size) throw new RangeError(`${op}: index ${idx[k]} is out of range for an axis of size ${size}`);
    idx[k] = j;
  }
  return idx;
}

export function indexSelect(x: NDArray, axis: number, index: NDArray): NDArray {
  const idx = readIndex(index, x.shape[axis]!, 'indexSelect');
  const outShape = [...x.shape];
  outShape[axis] = idx.length;
  const out = NDArray.zeros(outShape, x.dtype);
  const outer = sizeOf(x.shape.slice(0, axis));
  const inner = sizeOf(x.shape.slice(axis + 1));
  const xc = x.contiguous();
  const src = xc.data;
  const dst = out.data;
  const d = x.shape[axis]!;
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < idx.length; k++) {
      const from = (o * d + idx[k]!) * inner;
      const to = (o * idx.length + k) * inner;
      for (let j = 0; j < inner; j++) dst[to + j] = src[from + j]!;
    }
  }
  return out;
}

export function indexAdd(dst: NDArray, axis: number, index: NDArray, src: NDArray): void {
  const idx = readIndex(index, dst.shape[axis]!, 'indexAdd');
  for (let k = 0; k < idx.length; k++) {
    const target = dst.narrow(axis, idx[k]!, 1);
    const piece = src.narrow(axis, k, 1);
    assign(target, binary('add', target, piece, dst.dtype));
  }
}
