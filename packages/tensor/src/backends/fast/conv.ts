/**
 * The fast backend's convolution kernels: conv2d's forward and the two products of its
 * backward (ops/conv2d.ts defines them and composes them from im2col, matmul and col2im
 * for the other backends). With K = C/G KH KW and L = OH OW, per sample n and group g:
 *
 *   forward       out[n, g]  = W[g] (Cout/G x K) @ cols[n, g] (K x L)
 *   input grad    dcols[n, g] = W[g]^T @ dOut[n, g],   dx[n] = col2im(dcols[n])
 *   weight grad   dW[g]     = sum_n dOut[n, g] @ cols[n, g]^T
 *
 * (with stride 1 the input gradient is a convolution instead, see `transposedWindow`).
 * The composed form lays out the columns of the whole batch at once: K times the input,
 * 58 MB for a [64, 32, 28, 28] input and a 3x3 kernel, and on the machines we measured
 * writing a freshly allocated buffer that large costs several times the copy itself (the
 * pages are new to the process each time). Here one sample's columns at a time go into
 * one scratch buffer that lives as long as the module, so the columns stay in cache
 * between im2col and the product, and nothing of that size is allocated per call. The
 * products run on the same kernels as `matmul` (the wasm SIMD one for float32), on this
 * thread: each is one sample's, below the worker pool's threshold.
 */
import { allocate, type DType } from '../../dtype.ts';
import { NDArray } from '../../ndarray.ts';
import type { Window2d } from '../../ops/conv.ts';
import { matmulStrided, newScratch, type StridedMatrix } from './matmul-kernel.ts';
import { f32Kernel } from './wasm/gemm.ts';
import { addFor, col2imImage, copyFor, im2colImage, windowWalk, type Image } from './window.ts';

type Floats = Float32Array | Float64Array;

const gemmScratch = newScratch();
/** One sample's columns ([C KH KW, OH OW]) and one group's weight gradient, per float type, grown as needed. */
const scratch = { cols: { float32: new Float32Array(0), float64: new Float64Array(0) }, part: { float32: new Float32Array(0), float64: new Float64Array(0) } };

function buffer(kind: 'cols' | 'part', dtype: DType, size: number): Floats {
  const f64 = dtype === 'float64';
  const cur: Floats = f64 ? scratch[kind].float64 : scratch[kind].float32;
  if (cur.length >= size) return cur;
  if (f64) return (scratch[kind].float64 = new Float64Array(size));
  return (scratch[kind].float32 = new Float32Array(size));
}

/** C (rows `ldc` apart from `c[o]`) = A (m x k) @ B (k x n), on the kernel `matmul` would use. */
function gemm(a: StridedMatrix, b: StridedMatrix, c: Floats, o: number, ldc: number, m: number, k: number, n: number): void {
  const f32 = c instanceof Float32Array && a.data instanceof Float32Array && b.data instanceof Float32Array ? f32Kernel() : undefined;
  if (f32) f32(a, b, { data: c as Float32Array, offset: o, rowStride: ldc }, m, k, n);
  else matmulStrided(a, b, { data: c, offset: o, rowStride: ldc }, m, k, n, gemmScratch);
}

/** Sample `b` of an [N, C, H, W] array. */
function sample(x: NDArray, b: number): Image {
  const [s0, s1, s2, s3] = x.strides as [number, number, number, number];
  return { data: x.data, offset: x.offset + b * s0, strides: [s1, s2, s3] };
}

/**
 * One stride that steps through the OH x OW positions of an [N, Cout, OH, OW] array in
 * order, or null when the two axes do not merge (the caller then makes it contiguous).
 */
function positionStride(g: NDArray): number | null {
  const [, , oh, ow] = g.shape as [number, number, number, number];
  const [, , s2, s3] = g.strides as [number, number, number, number];
  if (oh === 1) return s3;
  if (ow === 1) return s2;
  return s2 === s3 * ow ? s3 : null;
}

/** Dense weights, [Cout, C/G KH KW] rows K apart. */
const dense = (w: NDArray): NDArray => (w.isContiguous() ? w : w.contiguous());

/**
 * conv2d's forward: x [N, C, H, W] and weight [Cout, C/G, KH, KW] (same float dtype) give
 * [N, Cout, OH, OW], plus `bias` ([Cout]) per channel when given.
 */
export function conv2d(x: NDArray, weight: NDArray, win: Window2d, groups: number, bias: NDArray | null = null): NDArray {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [cout, cg] = weight.shape as [number, number];
  const walk = windowWalk(h, w, win);
  const [l, k, cog] = [walk.oh * walk.ow, cg * walk.kh * walk.kw, cout / groups];
  const wm = dense(weight);
  const out = allocate(x.dtype, n * cout * l) as Floats;
  const cols = buffer('cols', x.dtype, c * walk.kh * walk.kw * l);
  const copy = copyFor(x.dtype);
  for (let b = 0; b < n; b++) {
    im2colImage(sample(x, b), c, walk, 0, copy, cols, 0);
    for (let gi = 0; gi < groups; gi++) {
      const a = { data: wm.data, offset: wm.offset + gi * cog * k, rowStride: k, colStride: 1 };
      gemm(a, { data: cols, offset: gi * k * l, rowStride: l, colStride: 1 }, out, (b * cout + gi * cog) * l, l, cog, k, l);
    }
    if (bias) addBias(out, b * cout * l, bias, cout, l);
  }
  return new NDArray(out, [n, cout, walk.oh, walk.ow], undefined, 0, x.dtype);
}

/** Adds bias[co] to the `l` outputs of each channel co of one sample (at out[o]), while they are still in cache. */
function addBias(out: Floats, o: number, bias: NDArray, cout: number, l: number): void {
  const bd = bias.data;
  const step = bias.strides[0]!;
  for (let co = 0; co < cout; co++) {
    const v = bd[bias.offset + co * step]!;
    for (let q = o + co * l, end = q + l; q < end; q++) out[q] = out[q]! + v;
  }
}

/**
 * With stride 1 and no side padded by more than the dilated kernel's extent, the input
 * gradient is itself a convolution: of the output gradient, padded by what the forward's
 * padding leaves of that extent, with the weight flipped in both kernel axes and its two
 * channel axes swapped per group. That product has the forward's shape (K rows summed,
 * L columns out) and needs no col2im; the window here is that convolution's, or null.
 */
function transposedWindow(win: Window2d): Window2d | null {
  const eh = win.dilation[0] * (win.kernel[0] - 1);
  const ew = win.dilation[1] * (win.kernel[1] - 1);
  const [pt, pb, pl, pr] = win.padding;
  if (win.stride[0] !== 1 || win.stride[1] !== 1 || pt > eh || pb > eh || pl > ew || pr > ew) return null;
  return { kernel: win.kernel, stride: [1, 1], dilation: win.dilation, padding: [eh - pt, eh - pb, ew - pl, ew - pr] };
}

/** W'[g C/G + c, co, i, j] = W[g Cout/G + co, c, KH-1-i, KW-1-j]: [C, Cout/G, KH, KW] (see `transposedWindow`). */
function flippedWeight(weight: NDArray, groups: number): NDArray {
  const [cout, cg, kh, kw] = weight.shape as [number, number, number, number];
  const cog = cout / groups;
  const taps = kh * kw;
  const wm = dense(weight);
  const src = wm.data;
  const out = allocate(weight.dtype, weight.size);
  for (let gi = 0; gi < groups; gi++) {
    for (let co = 0; co < cog; co++) {
      for (let c = 0; c < cg; c++) {
        const from = wm.offset + ((gi * cog + co) * cg + c) * taps;
        const to = ((gi * cg + c) * cog + co) * taps;
        // reversing the flattened KH x KW taps reverses both kernel axes
        for (let t = 0; t < taps; t++) out[to + t] = src[from + taps - 1 - t]!;
      }
    }
  }
  return new NDArray(out, [cg * groups, cog, kh, kw], undefined, 0, weight.dtype);
}

/** The gradient of conv2d with respect to its input: grad [N, Cout, OH, OW] gives [N, C, height, width]. */
export function conv2dInputGrad(grad: NDArray, weight: NDArray, win: Window2d, groups: number, height: number, width: number): NDArray {
  const transposed = transposedWindow(win);
  if (transposed) return conv2d(grad, flippedWeight(weight, groups), transposed, groups);
  const [n, cout] = grad.shape as [number, number];
  const [, cg] = weight.shape as [number, number];
  const c = cg * groups;
  const walk = windowWalk(height, width, win);
  const [l, k, cog] = [walk.oh * walk.ow, cg * walk.kh * walk.kw, cout / groups];
  const wm = dense(weight);
  const gv = positionStride(grad) === null ? grad.contiguous() : grad;
  const step = positionStride(gv)!;
  const [gs0, gs1] = gv.strides as [number, number];
  const dx = allocate(grad.dtype, n * c * height * width) as Floats;
  const dcols = buffer('cols', grad.dtype, c * walk.kh * walk.kw * l);
  const add = addFor(grad.dtype);
  const colStrides = [walk.kh * walk.kw * l, walk.kw * l, l, walk.ow, 1];
  for (let b = 0; b < n; b++) {
    for (let gi = 0; gi < groups; gi++) {
      const wt = { data: wm.data, offset: wm.offset + gi * cog * k, rowStride: 1, colStride: k }; // W[g]^T, read in place
      const gb = { data: gv.data, offset: gv.offset + b * gs0 + gi * cog * gs1, rowStride: gs1, colStride: step };
      gemm(wt, gb, dcols, gi * k * l, l, k, cog, l);
    }
    col2imImage(dcols, 0, colStrides, c, walk, add, dx, b * c * height * width);
  }
  return new NDArray(dx, [n, c, height, width], undefined, 0, grad.dtype);
}

/**
 * The gradient of conv2d with respect to its weight: x [N, C, H, W] and grad
 * [N, Cout, OH, OW] give [Cout, C/G, KH, KW]. The per-sample products are summed in
 * float64 and rounded once.
 */
export function conv2dWeightGrad(x: NDArray, grad: NDArray, win: Window2d, groups: number): NDArray {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const cout = grad.shape[1]!;
  const cg = c / groups;
  const walk = windowWalk(h, w, win);
  const [l, k, cog] = [walk.oh * walk.ow, cg * walk.kh * walk.kw, cout / groups];
  const gv = positionStride(grad) === null ? grad.contiguous() : grad;
  const step = positionStride(gv)!;
  const [gs0, gs1] = gv.strides as [number, number];
  const acc = new Float64Array(cout * k);
  const cols = buffer('cols', x.dtype, c * walk.kh * walk.kw * l);
  const part = buffer('part', x.dtype, cog * k);
  const copy = copyFor(x.dtype);
  for (let b = 0; b < n; b++) {
    im2colImage(sample(x, b), c, walk, 0, copy, cols, 0);
    for (let gi = 0; gi < groups; gi++) {
      // dW[g]^T (K x Cout/G) = cols[g] (K x L) @ dOut[n, g]^T: the columns are A, packed
      // from whole rows; as B (cols^T) they would be read a column at a time
      const gt = { data: gv.data, offset: gv.offset + b * gs0 + gi * cog * gs1, rowStride: step, colStride: gs1 };
      gemm({ data: cols, offset: gi * k * l, rowStride: l, colStride: 1 }, gt, part, 0, cog, k, l, cog);
      const base = gi * cog * k;
      for (let kk = 0; kk < k; kk++) {
        for (let co = 0; co < cog; co++) acc[base + co * k + kk] = acc[base + co * k + kk]! + part[kk * cog + co]!;
      }
    }
  }
  const out = allocate(x.dtype, cout * k);
  out.set(acc);
  return new NDArray(out, [cout, cg, walk.kh, walk.kw], undefined, 0, x.dtype);
}
