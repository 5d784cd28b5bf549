/**
 * 2-D convolution (PyTorch's conv2d: NCHW, cross-correlation, groups, dilation), and the
 * window ops `im2col` / `col2im` it and the pools are built on.
 *
 * The forward lays the windows out as columns and multiplies: with K = C/G * KH * KW
 * and L = OH * OW, per group
 *   out[n, g] = W[g] (Cout/G x K) @ cols[n, g] (K x L)      (+ bias)
 * so the derivative rule is the matmul rule in this layout:
 *   dW[g]   = sum_n  dOut[n, g] @ cols[n, g]^T
 *   dcols   = W[g]^T @ dOut[n, g],   dx = col2im(dcols)     (col2im is im2col's adjoint)
 *   dbias   = dOut summed over N, H, W.
 * The rule is written in tensor ops (and `im2col`/`col2im` are each other's derivative),
 * so a recorded backward can be differentiated again.
 */
import * as nd from '@tsgrad/tensor';
import { record } from '../graph.ts';
import type { Tensor } from '../tensor.ts';

/** One number for both spatial axes, or [height, width]. */
export type Pair = number | readonly [number, number];

/** Options of `conv2d`, as torch.nn.functional.conv2d's keyword arguments. */
export interface Conv2dOptions {
  /** Default 1. */
  stride?: Pair;
  /**
   * Zeros added on each side (default 0). `'valid'` is 0; `'same'` pads so the output
   * has the input's size (stride 1 only); when the total d (k - 1) is odd the extra
   * row/column goes to the bottom/right, as in PyTorch.
   */
  padding?: Pair | 'same' | 'valid';
  /** Spacing between kernel taps (default 1). */
  dilation?: Pair;
  /** Input and output channels split into this many independent groups (default 1). */
  groups?: number;
}

/** Resolves a `Pair` option to [h, w], checking it is an integer >= `min`. */
export function pairOf(value: Pair, name: string, op: string, min: number): [number, number] {
  const p: [number, number] = typeof value === 'number' ? [value, value] : [value[0], value[1]];
  if (!(typeof value === 'number' || (Array.isArray(value) && value.length === 2)) || p.some((v) => !Number.isInteger(v) || v < min)) {
    throw new RangeError(`${op}: ${name} must be an integer >= ${min} or a pair of them, got ${JSON.stringify(value)}`);
  }
  return p;
}

/**
 * Every window of `x` ([N, C, H, W]) as [N, C, KH, KW, OH, OW] (see `nd.im2col`); padding
 * reads `padValue`. Linear in x: its backward is `col2im` (the padding gets no gradient).
 */
export function im2col(x: Tensor, win: nd.Window2d, padValue = 0): Tensor {
  const [h, w] = x.shape.slice(2) as [number, number];
  return record('im2col', nd.im2col(x.data, win, padValue), [x], (g) => [col2im(g, h, w, win)]);
}

/** Adds columns back into an [N, C, height, width] input (the adjoint of `im2col`). */
export function col2im(cols: Tensor, height: number, width: number, win: nd.Window2d): Tensor {
  return record('col2im', nd.col2im(cols.data, height, width, win), [cols], (g) => [im2col(g, win)]);
}

/** The validated geometry of one conv2d call. */
function convGeometry(x: Tensor, weight: Tensor, bias: Tensor | null, opts: Conv2dOptions) {
  const shapes = `input ${nd.shapeToString(x.shape)}, weight ${nd.shapeToString(weight.shape)}${bias ? `, bias ${nd.shapeToString(bias.shape)}` : ''}`;
  if (x.ndim !== 4 || weight.ndim !== 4) throw new Error(`conv2d: expected a 4-D input [N, C, H, W] (or 3-D unbatched) and a 4-D weight [Cout, C/groups, KH, KW]; got ${shapes}`);
  if (!nd.isFloat(x.dtype) || !nd.isFloat(weight.dtype) || (bias && !nd.isFloat(bias.dtype))) {
    throw new TypeError(`conv2d: expected float tensors, got input ${x.dtype}, weight ${weight.dtype}${bias ? `, bias ${bias.dtype}` : ''}`);
  }
  const groups = opts.groups ?? 1;
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [cout, cg, kh, kw] = weight.shape as [number, number, number, number];
  if (!Number.isInteger(groups) || groups < 1) throw new RangeError(`conv2d: groups must be a positive integer, got ${groups}`);
  if (cg * groups !== c || cout % groups !== 0) {
    throw new Error(`conv2d: with groups=${groups} the input needs ${cg * groups} channels and Cout must divide by ${groups}; got ${shapes}`);
  }
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== cout)) throw new Error(`conv2d: bias must have shape [${cout}]; got ${shapes}`);
  const stride = pairOf(opts.stride ?? 1, 'stride', 'conv2d', 1);
  const dilation = pairOf(opts.dilation ?? 1, 'dilation', 'conv2d', 1);
  const pad = opts.padding ?? 0;
  let padding: [number, number, number, number];
  if (pad === 'valid') {
    padding = [0, 0, 0, 0];
  } else if (pad === 'same') {
    if (stride[0] !== 1 || stride[1] !== 1) throw new Error(`conv2d: padding 'same' needs stride 1, got stride [${stride.join(', ')}]`);
    const th = dilation[0] * (kh - 1);
    const tw = dilation[1] * (kw - 1);
    padding = [Math.floor(th / 2), th - Math.floor(th / 2), Math.floor(tw / 2), tw - Math.floor(tw / 2)];
  } else {
    const [ph, pw] = pairOf(pad, 'padding', 'conv2d', 0);
    padding = [ph, ph, pw, pw];
  }
  const win: nd.Window2d = { kernel: [kh, kw], stride, dilation, padding };
  const [oh, ow] = nd.windowOutputSize(h, w, win);
  if (oh < 1 || ow < 1) {
    throw new Error(`conv2d: the kernel (dilation [${dilation.join(', ')}]) is larger than the padded input (padding [${padding.join(', ')}]); got ${shapes}`);
  }
  return { win, n, c, h, w, cout, groups, k: cg * kh * kw, oh, ow };
}

/**
 * 2-D cross-correlation over NCHW input, as torch.nn.functional.conv2d: `input` is
 * [N, C, H, W] (or unbatched [C, H, W]), `weight` [Cout, C / groups, KH, KW], `bias`
 * [Cout] or null. Output [N, Cout, OH, OW] with
 * OH = floor((H + padTop + padBottom - dilation (KH - 1) - 1) / stride) + 1.
 * @example
 * const x = randn([1, 3, 8, 8], { seed: 0 });
 * const w = randn([4, 3, 3, 3], { seed: 1, requiresGrad: true });
 * conv2d(x, w, null, { padding: 'same' }).shape // [1, 4, 8, 8]
 */
export function conv2d(input: Tensor, weight: Tensor, bias: Tensor | null = null, opts: Conv2dOptions = {}): Tensor {
  if (input.ndim === 3) return conv2d(input.unsqueeze(0), weight, bias, opts).squeeze(0);
  const { win, n, c, h, w, cout, groups, k, oh, ow } = convGeometry(input, weight, bias, opts);
  // parameters in another float type compute in the input's (as layerNorm); their
  // gradients come back through the cast in their own type
  if (weight.dtype !== input.dtype) weight = weight.to(input.dtype);
  if (bias && bias.dtype !== input.dtype) bias = bias.to(input.dtype);
  const [kh, kw] = win.kernel;
  const cols = nd.im2col(input.data, win).reshape([n, groups, k, oh * ow]);
  // [G, Cout/G, K] broadcast over the batch: one GEMM per (sample, group)
  let out = nd.matmul(weight.data.reshape([groups, cout / groups, k]), cols).reshape([n, cout, oh, ow]);
  if (bias) out = nd.add(out, bias.data.reshape([1, cout, 1, 1]));
  const inputs = bias ? [input, weight, bias] : [input, weight];
  return record('conv2d', out, inputs, (g) => {
    const gm = g.reshape([n, groups, cout / groups, oh * ow]);
    const dx = input.requiresGrad
      ? col2im(weight.reshape([groups, cout / groups, k]).mT.matmul(gm).reshape([n, c, kh, kw, oh, ow]), h, w, win)
      : null;
    // The columns are rebuilt rather than kept from the forward: that costs one copy but
    // keeps K times the input's memory free between forward and backward.
    const dw = weight.requiresGrad ? gm.matmul(im2col(input, win).reshape([n, groups, k, oh * ow]).mT).sum(0).reshape(weight.shape) : null;
    const db = bias?.requiresGrad ? g.sum([0, 2, 3]) : null;
    return bias ? [dx, dw, db] : [dx, dw];
  });
}
