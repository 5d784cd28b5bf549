/**
 * 2-D convolution (PyTorch's conv2d: NCHW, cross-correlation, groups, dilation), and the
 * window ops `im2col` / `col2im` the pools are built on.
 *
 * The forward lays the windows out as columns and multiplies: with K = C/G * KH * KW
 * and L = OH * OW, per group
 *   out[n, g] = W[g] (Cout/G x K) @ cols[n, g] (K x L)      (+ bias)
 * so the derivative rule is the matmul rule in this layout:
 *   dW[g]   = sum_n  dOut[n, g] @ cols[n, g]^T                  (nd.conv2dWeightGrad)
 *   dcols   = W[g]^T @ dOut[n, g],   dx = col2im(dcols)         (nd.conv2dInputGrad)
 *   dbias   = dOut summed over N, H, W.
 * The three products are array ops (nd.conv2d and its two gradients, which a backend may
 * run as fused kernels) recorded here as ops of their own. All three are bilinear, and
 * each one's derivative is made of the other two (see `convInputGrad`), so a recorded
 * backward can be differentiated again.
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
  const [, c, h, w] = x.shape as [number, number, number, number];
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
  return { win, h, w, groups };
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
  const { win, h, w, groups } = convGeometry(input, weight, bias, opts);
  // parameters in another float type compute in the input's (as layerNorm); their
  // gradients come back through the cast in their own type
  if (weight.dtype !== input.dtype) weight = weight.to(input.dtype);
  if (bias && bias.dtype !== input.dtype) bias = bias.to(input.dtype);
  return convRecord(input, weight, bias, { win, groups, inputSize: [h, w] });
}

/** What the three recorded convolution ops share. */
interface ConvShape {
  win: nd.Window2d;
  groups: number;
  inputSize: [number, number];
}

/** Records x (*) weight (+ bias) with its derivative rule. */
function convRecord(x: Tensor, weight: Tensor, bias: Tensor | null, s: ConvShape): Tensor {
  const out = nd.conv2d(x.data, weight.data, s.win, s.groups, bias?.data ?? null);
  return record('conv2d', out, bias ? [x, weight, bias] : [x, weight], (g) => {
    const dx = x.requiresGrad ? convInputGrad(g, weight, s) : null;
    const dw = weight.requiresGrad ? convWeightGrad(x, g, s) : null;
    return bias ? [dx, dw, bias.requiresGrad ? g.sum([0, 2, 3]) : null] : [dx, dw];
  });
}

/**
 * The input gradient of the convolution, g (*)^T weight, as an op of its own. It is
 * bilinear: <convInputGrad(g, W), h> = <g, conv(h, W)>, so its derivative for an output
 * gradient h is conv(h, W) with respect to g and convWeightGrad(h, g) with respect to W.
 */
function convInputGrad(g: Tensor, weight: Tensor, s: ConvShape): Tensor {
  const dx = nd.conv2dInputGrad(g.data, weight.data, s.win, s.groups, s.inputSize);
  return record('conv2dInputGrad', dx, [g, weight], (h) => [
    g.requiresGrad ? convRecord(h, weight, null, s) : null,
    weight.requiresGrad ? convWeightGrad(h, g, s) : null,
  ]);
}

/**
 * The weight gradient of the convolution as an op of its own: <convWeightGrad(x, g), v> =
 * <g, conv(x, v)> = <convInputGrad(g, v), x>, which gives its derivative for a
 * weight-shaped output gradient v.
 */
function convWeightGrad(x: Tensor, g: Tensor, s: ConvShape): Tensor {
  const dw = nd.conv2dWeightGrad(x.data, g.data, s.win, s.groups);
  return record('conv2dWeightGrad', dw, [x, g], (v) => [
    x.requiresGrad ? convInputGrad(g, v, s) : null,
    g.requiresGrad ? convRecord(x, v, null, s) : null,
  ]);
}
