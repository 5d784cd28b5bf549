/**
 * Sliding windows over the last two axes of an NCHW array: the data movement that
 * convolution and pooling are built from (no arithmetic beyond the sums of `col2im`).
 *
 * `im2col` lays every window out as its own column, so that a convolution becomes one
 * matrix product (the fast backend then runs its GEMM) and a pool becomes a reduction.
 * It is a strided view of the padded input made dense: element
 * `[n, c, kh, kw, oh, ow]` is `padded[n, c, oh*sh + kh*dh, ow*sw + kw*dw]`, so the view
 * needs no index arithmetic at all, only strides. `col2im` is its adjoint: every column
 * element is added back to the input position it was read from (overlapping windows
 * sum), and the padding is cut off. Both are composed here from the backend primitives
 * `assign` and `binary`, so every backend runs them; a backend with its own window
 * kernels (`Backend.im2col` / `col2im`, the fast backend's are in backends/fast/window.ts)
 * runs those instead, after the checks here.
 */
import { getBackend } from '../backends/registry.ts';
import { checkedCast, type DType } from '../dtype.ts';
import { NDArray } from '../ndarray.ts';
import { shapeToString } from '../shape.ts';
import { full } from './creation.ts';

/** Geometry of a 2-D sliding window (all sizes in elements). */
export interface Window2d {
  /** Kernel height and width. */
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly dilation: readonly [number, number];
  /** Padding as [top, bottom, left, right]; may be asymmetric ('same' padding, ceil mode). */
  readonly padding: readonly [number, number, number, number];
}

/**
 * Output height and width of `win` sliding over an input of `height` x `width`:
 * floor((size + padding - dilation (kernel - 1) - 1) / stride) + 1 per axis.
 * Zero or negative means the padded input is smaller than the dilated kernel.
 * @example windowOutputSize(28, 28, { kernel: [3, 3], stride: [1, 1], dilation: [1, 1], padding: [1, 1, 1, 1] }) // [28, 28]
 */
export function windowOutputSize(height: number, width: number, win: Window2d): [number, number] {
  const [kh, kw] = win.kernel;
  const [sh, sw] = win.stride;
  const [dh, dw] = win.dilation;
  const [pt, pb, pl, pr] = win.padding;
  return [Math.floor((height + pt + pb - dh * (kh - 1) - 1) / sh) + 1, Math.floor((width + pl + pr - dw * (kw - 1) - 1) / sw) + 1];
}

/**
 * Throws, naming `op`, unless `win` is a valid window (positive integer kernel, stride and
 * dilation pairs, four non-negative paddings) and `shape` is 4-D.
 * @example checkWindow('myPool', x.shape, win)
 */
export function checkWindow(op: string, shape: readonly number[], win: Window2d): void {
  const all = [...win.kernel, ...win.stride, ...win.dilation];
  // a [h, w] padding (as conv2d's options take it) must be expanded to [top, bottom, left, right] first
  const lengths = win.kernel.length === 2 && win.stride.length === 2 && win.dilation.length === 2 && win.padding.length === 4;
  if (!lengths || all.some((v) => !Number.isInteger(v) || v < 1) || win.padding.some((v) => !Number.isInteger(v) || v < 0)) {
    throw new RangeError(
      `${op}: invalid window (kernel [${win.kernel.join(', ')}], stride [${win.stride.join(', ')}], dilation [${win.dilation.join(', ')}], padding [${win.padding.join(', ')}])`,
    );
  }
  if (shape.length !== 4) throw new Error(`${op}: expected a 4-D [N, C, H, W] array, got shape ${shapeToString(shape)}`);
}

/**
 * `x` with its last two axes padded by `value`: [top, bottom, left, right] rows and columns.
 * @example pad2d(x, [1, 1, 2, 2]) // [N, C, H, W] -> [N, C, H + 2, W + 4], zeros around
 */
export function pad2d(x: NDArray, padding: readonly [number, number, number, number], value = 0): NDArray {
  if (x.ndim < 2) throw new Error(`pad2d: expected at least 2 dimensions, got shape ${shapeToString(x.shape)}`);
  if (padding.some((p) => !Number.isInteger(p) || p < 0)) throw new RangeError(`pad2d: padding [${padding.join(', ')}] must be non-negative integers`);
  const [pt, pb, pl, pr] = padding;
  const n = x.ndim;
  const shape = [...x.shape];
  shape[n - 2] = shape[n - 2]! + pt + pb;
  shape[n - 1] = shape[n - 1]! + pl + pr;
  const out = full(shape, value, x.dtype);
  const inner = out.slice(n - 2, pt, pt + x.shape[n - 2]!).slice(n - 1, pl, pl + x.shape[n - 1]!);
  getBackend().assign(inner, x);
  return out;
}

/**
 * Every window of `x` ([N, C, H, W]) as a dense [N, C, KH, KW, OH, OW] array; positions in
 * the padding read `padValue` (0 for convolution and average pooling, -Infinity for max).
 * @example im2col(x, { kernel: [3, 3], stride: [1, 1], dilation: [1, 1], padding: [1, 1, 1, 1] })
 */
export function im2col(x: NDArray, win: Window2d, padValue = 0): NDArray {
  checkWindow('im2col', x.shape, win);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [oh, ow] = windowOutputSize(h, w, win);
  if (oh < 1 || ow < 1) {
    throw new Error(`im2col: kernel [${win.kernel.join(', ')}] (dilation [${win.dilation.join(', ')}]) does not fit input ${shapeToString(x.shape)} padded by [${win.padding.join(', ')}]`);
  }
  const padding = win.padding.some((p) => p > 0);
  // the pad value must be storable in x's dtype (no -Infinity in int32) when padding is read
  const fill = padding ? checkedCast(padValue, x.dtype, 'im2col') : 0;
  const backend = getBackend();
  if (backend.im2col) return backend.im2col(x, win, fill);
  const padded = padding ? pad2d(x, win.padding, fill) : x;
  const [s0, s1, s2, s3] = padded.strides as [number, number, number, number];
  const [kh, kw] = win.kernel;
  const view = new NDArray(
    padded.data,
    [n, c, kh, kw, oh, ow],
    [s0, s1, win.dilation[0] * s2, win.dilation[1] * s3, win.stride[0] * s2, win.stride[1] * s3],
    padded.offset,
    padded.dtype,
  );
  const out = NDArray.zeros(view.shape, x.dtype);
  backend.assign(out, view);
  return out;
}

/**
 * The adjoint of `im2col`: adds each element of `cols` ([N, C, KH, KW, OH, OW]) into the
 * position of an [N, C, height, width] input it was read from, summing where windows
 * overlap; what falls into the padding is dropped.
 * @example col2im(im2col(x, win), x.shape[2], x.shape[3], win) // x times how many windows cover each element
 */
export function col2im(cols: NDArray, height: number, width: number, win: Window2d): NDArray {
  const [n, c, kh, kw, oh, ow] = cols.shape as [number, number, number, number, number, number];
  checkWindow('col2im', [n, c, height, width], win);
  const [eh, ew] = windowOutputSize(height, width, win);
  if (cols.ndim !== 6 || kh !== win.kernel[0] || kw !== win.kernel[1] || oh !== eh || ow !== ew) {
    throw new Error(`col2im: columns of shape ${shapeToString(cols.shape)} do not match kernel [${win.kernel.join(', ')}] over a ${height} x ${width} input (expected ${eh} x ${ew} windows)`);
  }
  const backend = getBackend();
  if (backend.col2im) return backend.col2im(cols, height, width, win);
  const [pt, pb, pl, pr] = win.padding;
  const hp = height + pt + pb;
  const wp = width + pl + pr;
  const dtype: DType = cols.dtype;
  const out = NDArray.zeros([n, c, hp, wp], dtype);
  // When a window ends before the next one starts (pooling with stride = kernel), no
  // position is written twice and the columns can simply be copied in.
  const disjoint = (kh - 1) * win.dilation[0] < win.stride[0] && (kw - 1) * win.dilation[1] < win.stride[1];
  // One strided slice-add per kernel offset: within one offset the windows' positions
  // are distinct, so a plain add is right; offsets run one after another.
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const target = new NDArray(out.data, [n, c, oh, ow], [c * hp * wp, hp * wp, win.stride[0] * wp, win.stride[1]], i * win.dilation[0] * wp + j * win.dilation[1], dtype);
      const piece = cols.slice(2, i, i + 1).slice(3, j, j + 1).reshape([n, c, oh, ow]);
      backend.assign(target, disjoint || (i === 0 && j === 0) ? piece : backend.binary('add', target, piece, dtype));
    }
  }
  if (pt + pb + pl + pr === 0) return out;
  const cropped = NDArray.zeros([n, c, height, width], dtype);
  backend.assign(cropped, out.slice(2, pt, pt + height).slice(3, pl, pl + width));
  return cropped;
}
