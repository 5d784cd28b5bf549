/**
 * The fast backend's sliding-window kernels, `im2col` and `col2im` (the data movement of
 * convolution and pooling; ops/conv.ts defines them and the reference backend composes
 * them from `assign` and `binary`).
 *
 * Both walk the [N, C, KH, KW, OH, OW] column layout in order and compute, for each run
 * of OW outputs, which input row it reads and which of its columns fall inside the input:
 * padding is a bounds check (the columns outside are filled with the pad value, or skipped
 * by col2im), never a padded copy of the input. One call per run of OW elements does the
 * per-element work in a loop specialised to one typed-array type, so the engine compiles
 * each to a monomorphic loop (float32 and float64 get their own; int32 and bool share one).
 *
 * col2im adds each column element into the input position it was read from, visiting the
 * kernel offsets (i, j) in order for every position, which is the order of the reference's
 * sequence of adds: both round the same sums the same way.
 */
import { allocate, castScalar, type DType, type TypedArray } from '../../dtype.ts';
import { NDArray } from '../../ndarray.ts';
import type { Window2d } from '../../ops/conv.ts';
import { windowOutputSize } from '../../ops/conv.ts';

/**
 * Writes one run of `len` window outputs at `dst[o]`: those before `lo` and from `hi` on
 * are padding (`pad`), those in between read `src[q]`, `src[q + step]`, ...
 */
type CopyRun = (dst: TypedArray, o: number, len: number, pad: number, lo: number, hi: number, src: TypedArray, q: number, step: number) => void;
/** Adds `len` elements read every `step` from `src[q]` into `dst[o]`, `dst[o + dstStep]`, ... */
type AddRun = (dst: TypedArray, o: number, dstStep: number, src: TypedArray, q: number, step: number, len: number) => void;

// (TypedArray.fill is a call into the runtime: slower than a loop for runs this short)
function copyF32(dst: TypedArray, o: number, len: number, pad: number, lo: number, hi: number, src: TypedArray, q: number, step: number): void {
  const d = dst as Float32Array;
  const s = src as Float32Array;
  let k = 0;
  for (; k < lo; k++) d[o + k] = pad;
  for (; k < hi; k++, q += step) d[o + k] = s[q]!;
  for (; k < len; k++) d[o + k] = pad;
}
function copyF64(dst: TypedArray, o: number, len: number, pad: number, lo: number, hi: number, src: TypedArray, q: number, step: number): void {
  const d = dst as Float64Array;
  const s = src as Float64Array;
  let k = 0;
  for (; k < lo; k++) d[o + k] = pad;
  for (; k < hi; k++, q += step) d[o + k] = s[q]!;
  for (; k < len; k++) d[o + k] = pad;
}
function copyOther(dst: TypedArray, o: number, len: number, pad: number, lo: number, hi: number, src: TypedArray, q: number, step: number): void {
  let k = 0;
  for (; k < lo; k++) dst[o + k] = pad;
  for (; k < hi; k++, q += step) dst[o + k] = src[q]!;
  for (; k < len; k++) dst[o + k] = pad;
}
function addF32(dst: TypedArray, o: number, dstStep: number, src: TypedArray, q: number, step: number, len: number): void {
  const d = dst as Float32Array;
  const s = src as Float32Array;
  for (let k = 0; k < len; k++, o += dstStep, q += step) d[o] += s[q]!;
}
function addF64(dst: TypedArray, o: number, dstStep: number, src: TypedArray, q: number, step: number, len: number): void {
  const d = dst as Float64Array;
  const s = src as Float64Array;
  for (let k = 0; k < len; k++, o += dstStep, q += step) d[o] += s[q]!;
}
function addInt32(dst: TypedArray, o: number, dstStep: number, src: TypedArray, q: number, step: number, len: number): void {
  for (let k = 0; k < len; k++, o += dstStep, q += step) dst[o] += src[q]!; // wraps, as int32 add does
}
// a bool sum is 1 when any term is (the reference stores a + b as a bool)
function addBool(dst: TypedArray, o: number, dstStep: number, src: TypedArray, q: number, step: number, len: number): void {
  for (let k = 0; k < len; k++, o += dstStep, q += step) dst[o] = dst[o]! || src[q]! ? 1 : 0;
}

const copyFor = (dtype: DType): CopyRun => (dtype === 'float32' ? copyF32 : dtype === 'float64' ? copyF64 : copyOther);
const addFor = (dtype: DType): AddRun => (dtype === 'float32' ? addF32 : dtype === 'float64' ? addF64 : dtype === 'int32' ? addInt32 : addBool);

/**
 * The window outputs `ox` in [lo, hi) whose input column `ox * stride + offset` lies in
 * [0, size): the rest read padding.
 */
function insideRange(outSize: number, size: number, stride: number, offset: number): [number, number] {
  const lo = offset >= 0 ? 0 : Math.ceil(-offset / stride);
  const hi = Math.min(outSize, Math.floor((size - 1 - offset) / stride) + 1);
  return [Math.min(lo, outSize), Math.max(hi, Math.min(lo, outSize))];
}

/**
 * Every window of `x` ([N, C, H, W], any strides) as a dense [N, C, KH, KW, OH, OW] array;
 * positions in the padding read `padValue` (already valid for x's dtype). The op layer
 * (ops/conv.ts) has checked the window and that OH, OW >= 1.
 */
export function im2col(x: NDArray, win: Window2d, padValue: number): NDArray {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [kh, kw] = win.kernel;
  const [sh, sw] = win.stride;
  const [dh, dw] = win.dilation;
  const [pt, , pl] = win.padding;
  const [oh, ow] = windowOutputSize(h, w, win);
  const [xs0, xs1, xs2, xs3] = x.strides as [number, number, number, number];
  const out = allocate(x.dtype, n * c * kh * kw * oh * ow);
  const src = x.data;
  const copy = copyFor(x.dtype);
  const pad = castScalar(padValue, x.dtype);
  const step = sw * xs3;
  let o = 0;
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const plane = x.offset + b * xs0 + ch * xs1;
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          // columns ox in [lo, hi) read inside the input; the same for every output row
          const colOffset = j * dw - pl;
          const [lo, hi] = insideRange(ow, w, sw, colOffset);
          const first = plane + (lo * sw + colOffset) * xs3;
          for (let oy = 0; oy < oh; oy++, o += ow) {
            const y = oy * sh + i * dh - pt;
            // a row above or below the input is all padding (lo = hi = ow)
            if (y < 0 || y >= h) copy(out, o, ow, pad, ow, ow, src, 0, 0);
            else copy(out, o, ow, pad, lo, hi, src, first + y * xs2, step);
          }
        }
      }
    }
  }
  return new NDArray(out, [n, c, kh, kw, oh, ow], undefined, 0, x.dtype);
}

/**
 * The adjoint of `im2col`: adds every element of `cols` ([N, C, KH, KW, OH, OW], any
 * strides) into the [N, C, height, width] position it was read from; what falls into the
 * padding is dropped. The op layer has checked that the shapes match the window.
 */
export function col2im(cols: NDArray, height: number, width: number, win: Window2d): NDArray {
  const [n, c, kh, kw, oh, ow] = cols.shape as [number, number, number, number, number, number];
  const [sh, sw] = win.stride;
  const [dh, dw] = win.dilation;
  const [pt, , pl] = win.padding;
  const [cs0, cs1, cs2, cs3, cs4, cs5] = cols.strides as [number, number, number, number, number, number];
  const out = allocate(cols.dtype, n * c * height * width);
  const src = cols.data;
  const add = addFor(cols.dtype);
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const plane = (b * c + ch) * height * width;
      const from = cols.offset + b * cs0 + ch * cs1;
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          const colOffset = j * dw - pl;
          const [lo, hi] = insideRange(ow, width, sw, colOffset);
          if (hi === lo) continue;
          const tap = from + i * cs2 + j * cs3;
          for (let oy = 0; oy < oh; oy++) {
            const y = oy * sh + i * dh - pt;
            if (y < 0 || y >= height) continue;
            add(out, plane + y * width + lo * sw + colOffset, sw, src, tap + oy * cs4 + lo * cs5, cs5, hi - lo);
          }
        }
      }
    }
  }
  return new NDArray(out, [n, c, height, width], undefined, 0, cols.dtype);
}
