/**
 * 2-D pooling over NCHW input, as torch.nn.functional's max_pool2d, avg_pool2d and
 * adaptive_avg_pool2d.
 *
 * Max and average pooling read every window with `im2col` and reduce it, so their
 * derivative rules are the adjoints of the pieces: max pooling picks the window's argmax
 * with `gather`, whose rule scatters the gradient back to that one element (the first
 * maximum when several tie, as PyTorch on the CPU), and `im2col`'s rule (`col2im`) sums
 * it into the input. Average pooling divides window sums by a constant, so each element
 * of a window gets g / divisor. Adaptive average pooling is separable: out = A_h x A_w^T
 * with averaging matrices, so its rule is the matmul rule. All of it is tensor ops, so
 * gradients of gradients work.
 */
import * as nd from '@tsgrad/tensor';
import { constant, type Tensor } from '../tensor.ts';
import { im2col, pairOf, type Pair } from './conv.ts';

/** Options of `maxPool2d` and `avgPool2d` (torch.nn.functional names, camelCase). */
export interface Pool2dOptions {
  kernelSize: Pair;
  /** Default: the kernel size (non-overlapping windows). */
  stride?: Pair | null;
  /** Implicit padding on each side (default 0); at most half the kernel size. */
  padding?: Pair;
  /** Spacing between window taps, max pooling only (default 1). */
  dilation?: Pair;
  /** Round the output size up: a last, partial window may start in the input or the left padding (default false). */
  ceilMode?: boolean;
  /** Average pooling only: whether padded zeros count in the divisor (default true, as PyTorch). */
  countIncludePad?: boolean;
}

/** Output length along one axis, PyTorch's pooling_output_shape. */
function pooledLength(size: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  const span = size + 2 * p - d * (k - 1) - 1;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  // in ceil mode the last window must start inside the input or the left padding
  if (ceil && (out - 1) * s >= size + p) out--;
  return out;
}

/** The window of a pooling call; ceil mode pads the bottom/right further so the last window fits. */
function poolWindow(op: string, x: Tensor, opts: Pool2dOptions, dilationAllowed: boolean) {
  if (x.ndim !== 4) throw new Error(`${op}: expected a 4-D [N, C, H, W] or 3-D [C, H, W] input, got shape ${nd.shapeToString(x.shape)}`);
  if (!nd.isFloat(x.dtype)) throw new TypeError(`${op}: expected a float tensor, got ${x.dtype}`);
  if (!dilationAllowed && opts.dilation !== undefined) throw new Error(`${op}: dilation is not supported (PyTorch's ${op} has none)`);
  const kernel = pairOf(opts.kernelSize, 'kernelSize', op, 1);
  const stride = pairOf(opts.stride ?? kernel, 'stride', op, 1);
  const pad = pairOf(opts.padding ?? 0, 'padding', op, 0);
  const dilation = pairOf(opts.dilation ?? 1, 'dilation', op, 1);
  const ceil = opts.ceilMode ?? false;
  const [h, w] = x.shape.slice(2) as [number, number];
  const len = [0, 1].map((a) => {
    const span = dilation[a]! * (kernel[a]! - 1) + 1;
    // PyTorch's limit (on the undilated kernel)
    if (2 * pad[a]! > kernel[a]!) throw new RangeError(`${op}: padding [${pad.join(', ')}] must be at most half the kernel size [${kernel.join(', ')}]`);
    const size = a === 0 ? h : w;
    const out = pooledLength(size, kernel[a]!, stride[a]!, pad[a]!, dilation[a]!, ceil);
    if (out < 1) throw new Error(`${op}: kernel [${kernel.join(', ')}] is larger than input ${nd.shapeToString(x.shape)} padded by [${pad.join(', ')}]`);
    // extra padding at the end so that the last (ceil mode) window is inside the array
    const end = Math.max(pad[a]!, (out - 1) * stride[a]! + span - size - pad[a]!);
    return { out, end };
  }) as [{ out: number; end: number }, { out: number; end: number }];
  const win: nd.Window2d = { kernel, stride, dilation, padding: [pad[0], len[0].end, pad[1], len[1].end] };
  return { win, kernel, stride, pad, size: [h, w] as const, out: [len[0].out, len[1].out] as const };
}

/** Runs a 4-D pooling function on 3-D (unbatched) input too. */
function unbatched(x: Tensor, f: (x4: Tensor) => Tensor): Tensor {
  return x.ndim === 3 ? f(x.unsqueeze(0)).squeeze(0) : f(x);
}

/**
 * The maximum of each window (torch.nn.functional.max_pool2d); padding never wins.
 * The gradient goes to the window's maximum, the first one when several tie.
 * @example maxPool2d(randn([1, 3, 8, 8], { seed: 0 }), { kernelSize: 2 }).shape // [1, 3, 4, 4]
 */
export function maxPool2d(input: Tensor, opts: Pool2dOptions): Tensor {
  return unbatched(input, (x) => {
    const { win, out } = poolWindow('maxPool2d', x, opts, true);
    const [n, c] = x.shape as [number, number];
    const cols = im2col(x, win, -Infinity).reshape([n, c, win.kernel[0] * win.kernel[1], out[0], out[1]]);
    const argmax = nd.argmax(cols.data, 2, true); // first index wins ties
    return cols.gather(2, argmax).squeeze(2);
  });
}

/**
 * The mean of each window (torch.nn.functional.avg_pool2d). With `countIncludePad`
 * (default) padded zeros count in the divisor, but in ceil mode the part of the last
 * window beyond the padding never does; without it only input elements count.
 * @example avgPool2d(randn([1, 3, 8, 8], { seed: 0 }), { kernelSize: 3, stride: 2, padding: 1 }).shape // [1, 3, 4, 4]
 */
export function avgPool2d(input: Tensor, opts: Pool2dOptions): Tensor {
  return unbatched(input, (x) => {
    const { win, kernel, stride, pad, size, out } = poolWindow('avgPool2d', x, opts, false);
    const includePad = opts.countIncludePad ?? true;
    // The divisor is a product of per-axis counts, so it is built from two vectors.
    const counts = [0, 1].map((a) =>
      Array.from({ length: out[a]! }, (_, i) => {
        const start = i * stride[a]! - pad[a]!;
        const end = Math.min(start + kernel[a]!, size[a]! + pad[a]!);
        return includePad ? end - start : Math.min(end, size[a]!) - Math.max(start, 0);
      }),
    );
    const divisor = nd.mul(nd.array(counts[0]!, x.dtype).reshape([out[0], 1]), nd.array(counts[1]!, x.dtype).reshape([1, out[1]]));
    return im2col(x, win, 0).sum([2, 3]).div(constant(divisor));
  });
}

/** The [out, size] matrix averaging PyTorch's adaptive windows [floor(i size / out), ceil((i + 1) size / out)). */
function adaptiveMatrix(size: number, out: number, dtype: nd.DType): nd.NDArray {
  const m = nd.zeros([out, size], dtype);
  for (let i = 0; i < out; i++) {
    const start = Math.floor((i * size) / out);
    const end = Math.ceil(((i + 1) * size) / out);
    for (let j = start; j < end; j++) m.data[i * size + j] = 1 / (end - start);
  }
  return m;
}

/**
 * Average pooling to a fixed output size (torch.nn.functional.adaptive_avg_pool2d):
 * output row i averages input rows floor(i H / OH) up to ceil((i + 1) H / OH), and
 * likewise for columns. `null` in `outputSize` keeps that axis's input size.
 * @example adaptiveAvgPool2d(randn([2, 16, 7, 7], { seed: 0 }), 1).shape // [2, 16, 1, 1]
 */
export function adaptiveAvgPool2d(input: Tensor, outputSize: number | readonly [number | null, number | null]): Tensor {
  return unbatched(input, (x) => {
    if (x.ndim !== 4) throw new Error(`adaptiveAvgPool2d: expected a 4-D [N, C, H, W] or 3-D [C, H, W] input, got shape ${nd.shapeToString(x.shape)}`);
    if (!nd.isFloat(x.dtype)) throw new TypeError(`adaptiveAvgPool2d: expected a float tensor, got ${x.dtype}`);
    const [h, w] = x.shape.slice(2) as [number, number];
    const asked = typeof outputSize === 'number' ? [outputSize, outputSize] : [outputSize[0] ?? h, outputSize[1] ?? w];
    const [oh, ow] = pairOf(asked as [number, number], 'outputSize', 'adaptiveAvgPool2d', 1);
    if (h < 1 || w < 1) throw new Error(`adaptiveAvgPool2d: input of shape ${nd.shapeToString(x.shape)} has an empty spatial axis`);
    const rows = constant(adaptiveMatrix(h, oh, x.dtype));
    const colsT = constant(adaptiveMatrix(w, ow, x.dtype).transpose(0, 1));
    return rows.matmul(x).matmul(colsT);
  });
}
