/**
 * The fused softmax / log-softmax kernel of the fast backend: float32 on the wasm SIMD
 * kernel (softmax-wasm.ts), float64 (and float32 where wasm is off) on the loop below.
 */
import { allocate, type DType } from '../../dtype.ts';
import { NDArray } from '../../ndarray.ts';
import { contiguousStrides } from '../../shape.ts';
import { stridedRows } from '../../strided.ts';
import { softmaxF32 } from './softmax-wasm.ts';

/**
 * Fused softmax (or log-softmax) along `axis`, one pass per line instead of the five
 * array ops of the composed form: the line's maximum m, then s = sum exp(x - m) in
 * float64, then exp(x - m) / s (or x - (m + log s)). Where m is infinite the shift is
 * taken as 0 for log-softmax and left as m for softmax, exactly as the composed ops
 * in ops/reduce.ts do, so both give the same NaN/infinity results.
 */
export function softmax(x: NDArray, axis: number, log: boolean): NDArray {
  const dtype: DType = x.dtype === 'float64' ? 'float64' : 'float32';
  // float32 runs on the WebAssembly SIMD kernel (softmax-wasm.ts) unless it is off
  const fast = dtype === 'float32' ? softmaxF32(x, axis, log) : undefined;
  if (fast) return fast;
  const out = allocate(dtype, x.size);
  const d = x.shape[axis]!;
  const outStrides = contiguousStrides(x.shape);
  const drop = <T,>(list: readonly T[]) => list.filter((_, i) => i !== axis);
  // one "line" per index of the other axes; within a line, element t is t strides along `axis`
  const lines = stridedRows(drop(x.shape), [
    { strides: drop(x.strides), offset: x.offset },
    { strides: drop(outStrides), offset: 0 },
  ]);
  const src = x.data;
  const sx = x.strides[axis]!;
  const so = outStrides[axis]!;
  const exps = new Float64Array(d); // exp(x - m) of the current line
  for (let r = 0; r < lines.count; r++) {
    for (let j = 0; j < lines.length; j++) {
      const px = lines.start[0]![r]! + j * lines.step[0]!;
      const po = lines.start[1]![r]! + j * lines.step[1]!;
      let m = -Infinity;
      for (let t = 0, q = px; t < d; t++, q += sx) {
        const v = src[q]!;
        if (v > m || v !== v) m = v;
      }
      const shift = log && !Number.isFinite(m) ? 0 : m;
      let sum = 0;
      for (let t = 0, q = px; t < d; t++, q += sx) {
        const e = Math.exp(src[q]! - shift);
        exps[t] = e;
        sum += e;
      }
      if (log) {
        const lse = Math.log(sum) + shift;
        for (let t = 0, q = px, o = po; t < d; t++, q += sx, o += so) out[o] = src[q]! - lse;
      } else {
        const inv = 1 / sum;
        for (let t = 0, o = po; t < d; t++, o += so) out[o] = exps[t]! * inv;
      }
    }
  }
  return new NDArray(out, x.shape, undefined, 0, dtype);
}
