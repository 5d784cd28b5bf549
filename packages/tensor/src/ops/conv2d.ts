/**
 * 2-D convolution (cross-correlation, NCHW, groups) and the two products its derivative
 * needs, as array ops. With K = C/G KH KW and L = OH OW, per sample n and group g:
 *
 *   conv2d            out[n, g] = W[g] (Cout/G x K) @ cols[n, g] (K x L)
 *   conv2dInputGrad   dx[n]     = col2im(W[g]^T @ dOut[n, g])     (the transposed convolution)
 *   conv2dWeightGrad  dW[g]     = sum_n dOut[n, g] @ cols[n, g]^T
 *
 * where cols = im2col(x). Here they are composed from `im2col`, `matmul` and `col2im`,
 * which every backend runs; a backend with its own kernels (`Backend.conv2d`,
 * `conv2dInputGrad`, `conv2dWeightGrad`; the fast backend's in backends/fast/conv.ts,
 * which never lays out the whole batch's columns at once) runs those instead, after the
 * checks here. autograd's conv2d records these three (each one's derivative is the
 * other two), so its backward can be differentiated again.
 */
import { getBackend } from '../backends/registry.ts';
import { isFloat } from '../dtype.ts';
import type { NDArray } from '../ndarray.ts';
import { shapeToString } from '../shape.ts';
import { checkWindow, col2im, im2col, windowOutputSize, type Window2d } from './conv.ts';
import { add } from './elementwise.ts';
import { matmul } from './matmul.ts';
import { sum } from './reduce.ts';

/** Checks what the three ops share: 4-D float arrays of one dtype, a valid window and a positive group count. */
function check(op: string, x: { name: string; a: NDArray }, y: { name: string; a: NDArray }, win: Window2d, groups: number): void {
  const shapes = `${x.name} ${shapeToString(x.a.shape)}, ${y.name} ${shapeToString(y.a.shape)}`;
  if (x.a.ndim !== 4 || y.a.ndim !== 4) throw new Error(`${op}: expected 4-D arrays; got ${shapes}`);
  if (!isFloat(x.a.dtype) || x.a.dtype !== y.a.dtype) throw new TypeError(`${op}: expected float arrays of one dtype, got ${x.name} ${x.a.dtype}, ${y.name} ${y.a.dtype}`);
  if (!Number.isInteger(groups) || groups < 1) throw new RangeError(`${op}: groups must be a positive integer, got ${groups}`);
  checkWindow(op, x.a.shape, win);
}

function checkWindowFits(op: string, h: number, w: number, win: Window2d, want: readonly number[] | null, shapes: string): [number, number] {
  const [oh, ow] = windowOutputSize(h, w, win);
  if (oh < 1 || ow < 1 || (want && (want[0] !== oh || want[1] !== ow))) {
    throw new Error(`${op}: a kernel [${win.kernel.join(', ')}] window (stride [${win.stride.join(', ')}], dilation [${win.dilation.join(', ')}], padding [${win.padding.join(', ')}]) over ${h} x ${w} gives ${oh} x ${ow} outputs; got ${shapes}`);
  }
  return [oh, ow];
}

/**
 * Cross-correlation of `x` ([N, C, H, W]) with `weight` ([Cout, C / groups, KH, KW], the
 * window's kernel size), plus `bias` ([Cout], or null) on each output channel: [N, Cout, OH, OW].
 * @example conv2d(x, w, { kernel: [3, 3], stride: [1, 1], dilation: [1, 1], padding: [1, 1, 1, 1] }) // [N, Cout, H, W]
 */
export function conv2d(x: NDArray, weight: NDArray, win: Window2d, groups = 1, bias: NDArray | null = null): NDArray {
  check('conv2d', { name: 'input', a: x }, { name: 'weight', a: weight }, win, groups);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [cout, cg, kh, kw] = weight.shape as [number, number, number, number];
  const shapes = `input ${shapeToString(x.shape)}, weight ${shapeToString(weight.shape)}, groups ${groups}`;
  if (cg * groups !== c || cout % groups !== 0 || kh !== win.kernel[0] || kw !== win.kernel[1]) {
    throw new Error(`conv2d: the weight must be [Cout, C / groups, ${win.kernel.join(', ')}] with Cout divisible by groups; got ${shapes}`);
  }
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== cout || bias.dtype !== x.dtype)) {
    throw new Error(`conv2d: bias must be a [${cout}] ${x.dtype} array; got ${bias.dtype} ${shapeToString(bias.shape)} (${shapes})`);
  }
  const [oh, ow] = checkWindowFits('conv2d', h, w, win, null, shapes);
  const backend = getBackend();
  if (backend.conv2d) return backend.conv2d(x, weight, win, groups, bias);
  const cols = im2col(x, win).reshape([n, groups, cg * kh * kw, oh * ow]);
  const out = matmul(weight.reshape([groups, cout / groups, cg * kh * kw]), cols).reshape([n, cout, oh, ow]);
  return bias ? add(out, bias.reshape([1, cout, 1, 1])) : out;
}

/**
 * The gradient of `conv2d(x, weight, win, groups)` with respect to x, for the output
 * gradient `grad` ([N, Cout, OH, OW]): [N, C, height, width] (the transposed convolution).
 * @example conv2dInputGrad(g, w, win, 1, [28, 28]) // [N, C, 28, 28]
 */
export function conv2dInputGrad(grad: NDArray, weight: NDArray, win: Window2d, groups: number, inputSize: readonly [number, number]): NDArray {
  check('conv2dInputGrad', { name: 'grad', a: grad }, { name: 'weight', a: weight }, win, groups);
  const [n, cout, oh, ow] = grad.shape as [number, number, number, number];
  const [wcout, cg, kh, kw] = weight.shape as [number, number, number, number];
  const [h, w] = inputSize;
  const shapes = `grad ${shapeToString(grad.shape)}, weight ${shapeToString(weight.shape)}, input size ${h} x ${w}, groups ${groups}`;
  if (wcout !== cout || cout % groups !== 0 || kh !== win.kernel[0] || kw !== win.kernel[1]) {
    throw new Error(`conv2dInputGrad: the weight must be [Cout, C / groups, ${win.kernel.join(', ')}] with Cout (grad's axis 1) divisible by groups; got ${shapes}`);
  }
  checkWindowFits('conv2dInputGrad', h, w, win, [oh, ow], shapes);
  const backend = getBackend();
  if (backend.conv2dInputGrad) return backend.conv2dInputGrad(grad, weight, win, groups, h, w);
  const wt = weight.reshape([groups, cout / groups, cg * kh * kw]).transpose(1, 2);
  const dcols = matmul(wt, grad.reshape([n, groups, cout / groups, oh * ow]));
  return col2im(dcols.reshape([n, cg * groups, kh, kw, oh, ow]), h, w, win);
}

/**
 * The gradient of `conv2d(x, weight, win, groups)` with respect to the weight, for the
 * output gradient `grad` ([N, Cout, OH, OW]): [Cout, C / groups, KH, KW].
 * @example conv2dWeightGrad(x, g, win, 1) // [Cout, C, 3, 3]
 */
export function conv2dWeightGrad(x: NDArray, grad: NDArray, win: Window2d, groups: number): NDArray {
  check('conv2dWeightGrad', { name: 'input', a: x }, { name: 'grad', a: grad }, win, groups);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [gn, cout, oh, ow] = grad.shape as [number, number, number, number];
  const [kh, kw] = win.kernel;
  const shapes = `input ${shapeToString(x.shape)}, grad ${shapeToString(grad.shape)}, groups ${groups}`;
  if (gn !== n || c % groups !== 0 || cout % groups !== 0) {
    throw new Error(`conv2dWeightGrad: input and grad need the same batch and channel counts divisible by groups; got ${shapes}`);
  }
  checkWindowFits('conv2dWeightGrad', h, w, win, [oh, ow], shapes);
  const backend = getBackend();
  if (backend.conv2dWeightGrad) return backend.conv2dWeightGrad(x, grad, win, groups);
  const k = (c / groups) * kh * kw;
  const cols = im2col(x, win).reshape([n, groups, k, oh * ow]);
  const perSample = matmul(grad.reshape([n, groups, cout / groups, oh * ow]), cols.transpose(2, 3));
  return sum(perSample, 0).reshape([cout, c / groups, kh, kw]);
}
