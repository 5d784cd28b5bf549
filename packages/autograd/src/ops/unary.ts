/**
 * Unary elementwise functions, each with its derivative written in tensor ops so the
 * rule itself can be differentiated (higher-order gradients).
 */
import * as nd from '@tsgrad/tensor';
import { isGradEnabled, record } from '../graph.ts';
import { constant, type Tensor } from '../tensor.ts';

/** -x. */
export function neg(x: Tensor): Tensor {
  return record('neg', nd.neg(x.data), [x], (g) => [g.neg()]);
}

/** |x|. d/dx = sign(x), taken as 0 at x = 0 (as PyTorch). */
export function abs(x: Tensor): Tensor {
  return record('abs', nd.abs(x.data), [x], (g) => [g.mul(x.sign())]);
}

/** sign(x): piecewise constant, so its gradient is 0. */
export function sign(x: Tensor): Tensor {
  return record('sign', nd.sign(x.data), [x], (g) => [g.mul(0)]);
}

/** e^x. d/dx = e^x, reusing the output. */
export function exp(x: Tensor): Tensor {
  const out = record('exp', nd.exp(x.data), [x], (g) => [g.mul(out)]);
  return out;
}

/** Natural log. d/dx = 1/x. */
export function log(x: Tensor): Tensor {
  return record('log', nd.log(x.data), [x], (g) => [g.div(x)]);
}

/** sqrt(x). d/dx = 1 / (2 sqrt x). */
export function sqrt(x: Tensor): Tensor {
  const out = record('sqrt', nd.sqrt(x.data), [x], (g) => [g.div(out.mul(2))]);
  return out;
}

/** tanh(x). d/dx = 1 - tanh(x)^2. */
export function tanh(x: Tensor): Tensor {
  const out = record('tanh', nd.tanh(x.data), [x], (g) => [g.mul(out.mul(out).neg().add(1))]);
  return out;
}

/** Logistic sigmoid. d/dx = s (1 - s). */
export function sigmoid(x: Tensor): Tensor {
  const out = record('sigmoid', nd.sigmoid(x.data), [x], (g) => [g.mul(out.mul(out.neg().add(1)))]);
  return out;
}

/** max(x, 0). d/dx = 1 for x > 0, else 0 (0 at x = 0, as PyTorch). */
export function relu(x: Tensor): Tensor {
  return record('relu', nd.relu(x.data), [x], (g) => [g.mul(constant(nd.cast(nd.gt(x.data, 0), g.dtype)))]);
}

/** sin(x). d/dx = cos x. */
export function sin(x: Tensor): Tensor {
  return record('sin', nd.sin(x.data), [x], (g) => [g.mul(x.cos())]);
}

/** cos(x). d/dx = -sin x. */
export function cos(x: Tensor): Tensor {
  return record('cos', nd.cos(x.data), [x], (g) => [g.mul(x.sin()).neg()]);
}

/** erf(x). d/dx = 2/sqrt(pi) exp(-x^2). */
export function erf(x: Tensor): Tensor {
  return record('erf', nd.erf(x.data), [x], (g) => [g.mul(x.mul(x).neg().exp().mul(2 / Math.sqrt(Math.PI)))]);
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/**
 * GELU. `'none'` (default, as torch.nn.GELU): x Phi(x), derivative Phi(x) + x phi(x).
 * `'tanh'`: 0.5 x (1 + tanh(u)), u = sqrt(2/pi)(x + 0.044715 x^3), derivative
 * 0.5 (1 + t) + 0.5 x (1 - t^2) u'. The rule is written in tensor ops (so it can be
 * differentiated again); for a plain backward it calls the backend's fused kernel
 * (`Backend.geluBackward`, one pass) when there is one.
 */
export function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  const y = nd.gelu(x.data, approximate);
  return record(`gelu(${approximate})`, y, [x], (g) => {
    const kernel = nd.getBackend().geluBackward;
    if (kernel && !isGradEnabled()) return [constant(kernel(nd.castIfNeeded(x.data, y.dtype), nd.castIfNeeded(g.data, y.dtype), approximate))];
    if (approximate === 'none') {
      const cdf = x.div(Math.SQRT2).erf().add(1).mul(0.5);
      const pdf = x.mul(x).mul(-0.5).exp().div(Math.sqrt(2 * Math.PI));
      return [g.mul(cdf.add(x.mul(pdf)))];
    }
    const x2 = x.mul(x);
    const t = x.add(x2.mul(x).mul(0.044715)).mul(SQRT_2_OVER_PI).tanh();
    const du = x2.mul(3 * 0.044715).add(1).mul(SQRT_2_OVER_PI);
    const d = t.add(1).mul(0.5).add(x.mul(0.5).mul(t.mul(t).neg().add(1)).mul(du));
    return [g.mul(d)];
  });
}

/**
 * Changes dtype; the gradient is cast back to the input's dtype. Casting to int32 or
 * bool is piecewise constant and its output cannot require a gradient, so it is not
 * recorded (as in PyTorch).
 */
export function cast(x: Tensor, dtype: nd.DType): Tensor {
  if (x.dtype === dtype) return x;
  if (!nd.isFloat(dtype)) return constant(nd.cast(x.data, dtype));
  return record('cast', nd.cast(x.data, dtype), [x], (g) => [g.to(x.dtype)]);
}
