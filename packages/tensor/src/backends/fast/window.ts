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
 * each to a monomorphic loop (float32 and float64 get their own; int32 and bool share the
 * copy and differ in how they add).
 *
 * The per-image walks (`im2colImage`, `col2imImage`) are also what the convolution kernels
 * (conv.ts) run, one sample at a time.
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
export type CopyRun = (dst: TypedArray, o: number, len: number, pad: number, lo: number, hi: number, src: TypedArray, q: number, step: number) => void;
/** Adds `len` elements read every `step` from `src[q]` into `dst[o]`, `dst[o + dstStep]`, ... */
export type AddRun = (dst: TypedArray, o: number, dstStep: number, src: TypedArray, q: number, step: number, len: number) => void;

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
  for (let k = 0; k < len; k++, o += dstStep, q += step) d[o] = d[o]! + s[q]!;
}
function addF64(dst: TypedArray, o: number, dstStep: number, src: TypedArray, q: number, step: number, len: number): void {
  const d = dst as Float64Array;
  const s = src as Float64Array;
  for (let k = 0; k < len; k++, o += dstStep, q += step) d[o] = d[o]! + s[q]!;
}
function addInt32(dst: TypedArray, o: number, dstStep: number, src: TypedArray, q: number, step: number, len: number): void {
  for (let k = 0; k < len; k++, o += dstStep, q += step) dst[o] = dst[o]! + src[q]!; // wraps, as int32 add does
}
// a bool sum is 1 when any term is (the reference stores a + b as a bool)
function addBool(dst: TypedArray, o: number, dstStep: number, src: TypedArray, q: number, step: number, len: number): void {
  for (let k = 0; k < len; k++, o += dstStep, q += step) dst[o] = dst[o]! || src[q]! ? 1 : 0;
}

export const copyFor = (dtype: DType): CopyRun => (dtype === 'float32' ? copyF32 : dtype === 'float64' ? copyF64 : copyOther);
export const addFor = (dtype: DType): AddRun => (dtype === 'float32' ? addF32 : dtype === 'float64' ? addF64 : dtype === 'int32' ? addInt32 : addBool);

/**
 * The window outputs `ox` in [lo, hi) whose input column `ox * stride + offset` lies in
 * [0, size): the rest read padding.
 */
function insideRange(outSize: number, size: number, stride: number, offset: number): [number, number] {
  const lo = offset >= 0 ? 0 : Math.ceil(-offset / stride);
  const hi = Math.min(outSize, Math.floor((size - 1 - offset) / stride) + 1);
  return [Math.min(lo, outSize), Math.max(hi, Math.min(lo, outSize))];
}

/** The sizes and offsets a window walk needs, read once from the window and the input's [H, W]. */
export interface WindowWalk {
  readonly h: number;
  readonly w: number;
  readonly kh: number;
  readonly kw: number;
  readonly oh: number;
  readonly ow: number;
  readonly sh: number;
  readonly sw: number;
  readonly dh: number;
  readonly dw: number;
  readonly pt: number;
  readonly pl: number;
}

export function windowWalk(h: number, w: number, win: Window2d): WindowWalk {
  const [oh, ow] = windowOutputSize(h, w, win);
  return { h, w, kh: win.kernel[0], kw: win.kernel[1], oh, ow, sh: win.stride[0], sw: win.stride[1], dh: win.dilation[0], dw: win.dilation[1], pt: win.padding[0], pl: win.padding[2] };
}

/** A strided [C, H, W] image (one sample of an NCHW array). */
export interface Image {
  readonly data: TypedArray;
  readonly offset: number;
  /** Strides of the channel, row and column axes. */
  readonly strides: readonly [number, number, number];
}

/**
 * Writes the windows of one [C, H, W] image, `c` channels, densely as [C, KH, KW, OH, OW]
 * at `out[o]` on: a [C KH KW, OH OW] matrix, the columns of one sample.
 */
export function im2colImage(x: Image, c: number, g: WindowWalk, pad: number, copy: CopyRun, out: TypedArray, o: number): void {
  const { h, w, kh, kw, oh, ow, sh, sw, dh, dw, pt, pl } = g;
  const [xs1, xs2, xs3] = x.strides;
  const src = x.data;
  const step = sw * xs3;
  for (let ch = 0; ch < c; ch++) {
    const plane = x.offset + ch * xs1;
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

/**
 * Adds the columns of one sample, [C, KH, KW, OH, OW] with strides `cs` read from
 * `src[from]`, into the dense [C, H, W] image at `out[o]`.
 */
export function col2imImage(src: TypedArray, from: number, cs: readonly number[], c: number, g: WindowWalk, add: AddRun, out: TypedArray, o: number): void {
  const { h, w, kh, kw, oh, ow, sh, sw, dh, dw, pt, pl } = g;
  const [cs1, cs2, cs3, cs4, cs5] = cs as [number, number, number, number, number];
  for (let ch = 0; ch < c; ch++) {
    const plane = o + ch * h * w;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const colOffset = j * dw - pl;
        const [lo, hi] = insideRange(ow, w, sw, colOffset);
        if (hi === lo) continue;
        const tap = from + ch * cs1 + i * cs2 + j * cs3;
        for (let oy = 0; oy < oh; oy++) {
          const y = oy * sh + i * dh - pt;
          if (y < 0 || y >= h) continue;
          add(out, plane + y * w + lo * sw + colOffset, sw, src, tap + oy * cs4 + lo * cs5, cs5, hi - lo);
        }
      }
    }
  }
}

/**
 * Every window of `x` ([N, C, H, W], any strides) as a dense [N, C, KH, KW, OH, OW] array;
 * positions in the padding read `padValue` (already valid for x's dtype). The op layer
 * (ops/conv.ts) has checked the window and that OH, OW >= 1.
 */
export function im2col(x: NDArray, win: Window2d, padValue: number): NDArray {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const g = windowWalk(h, w, win);
  const per = c * g.kh * g.kw * g.oh * g.ow;
  const out = allocate(x.dtype, n * per);
  const copy = copyFor(x.dtype);
  const pad = castScalar(padValue, x.dtype);
  const [xs0, xs1, xs2, xs3] = x.strides as [number, number, number, number];
  for (let b = 0; b < n; b++) im2colImage({ data: x.data, offset: x.offset + b * xs0, strides: [xs1, xs2, xs3] }, c, g, pad, copy, out, b * per);
  return new NDArray(out, [n, c, g.kh, g.kw, g.oh, g.ow], undefined, 0, x.dtype);
}

/**
 * The adjoint of `im2col`: adds every element of `cols` ([N, C, KH, KW, OH, OW], any
 * strides) into the [N, C, height, width] position it was read from; what falls into the
 * padding is dropped. The op layer has checked that the shapes match the window.
 */
export function col2im(cols: NDArray, height: number, width: number, win: Window2d): NDArray {
  const [n, c] = cols.shape as [number, number];
  const g = windowWalk(height, width, win);
  const out = allocate(cols.dtype, n * c * height * width);
  const add = addFor(cols.dtype);
  const [cs0, ...cs] = cols.strides;
  for (let b = 0; b < n; b++) col2imImage(cols.data, cols.offset + b * cs0!, cs, c, g, add, out, b * c * height * width);
  return new NDArray(out, [n, c, height, width], undefined, 0, cols.dtype);
}
