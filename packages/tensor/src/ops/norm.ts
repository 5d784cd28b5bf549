/**
 * Layer normalisation (Ba, Kiros & Hinton 2016) over the trailing axes, as
 * torch.nn.functional.layer_norm: biased variance, eps inside the square root.
 * Backends with a fused kernel (`Backend.layerNorm`) run it; others get the same math
 * composed from primitives. The derivative lives in autograd (ops/norm.ts there), which
 * calls a backend's fused `layerNormBackward` when it has one.
 */
import { getBackend } from '../backends/registry.ts';
import type { LayerNormResult } from '../backend.ts';
import { isFloat, type DType } from '../dtype.ts';
import type { NDArray } from '../ndarray.ts';
import { shapesEqual, shapeToString, sizeOf } from '../shape.ts';
import { add, castIfNeeded, mul, rsqrt, sub } from './elementwise.ts';
import { mean } from './reduce.ts';

/** Checks the shapes and makes the dense 2-D views the kernels take. */
function prepare(op: string, x: NDArray, normalizedShape: readonly number[], weight: NDArray | null, bias: NDArray | null) {
  const k = normalizedShape.length;
  if (x.ndim < k || !shapesEqual(x.shape.slice(x.ndim - k), normalizedShape)) {
    throw new Error(`${op}: input of shape ${shapeToString(x.shape)} does not end in normalizedShape ${shapeToString(normalizedShape)}`);
  }
  for (const [name, p] of [['weight', weight], ['bias', bias]] as const) {
    if (p && !shapesEqual(p.shape, normalizedShape)) {
      throw new Error(`${op}: ${name} of shape ${shapeToString(p.shape)} does not match normalizedShape ${shapeToString(normalizedShape)}`);
    }
  }
  const dtype: DType = isFloat(x.dtype) ? x.dtype : 'float32';
  const n = sizeOf(normalizedShape);
  const rows = n === 0 ? sizeOf(x.shape.slice(0, x.ndim - k)) : x.size / n;
  const dense = (a: NDArray, shape: number[]) => castIfNeeded(a, dtype).contiguous().reshape(shape);
  return {
    n,
    x2: dense(x, [rows, n]),
    w: weight ? dense(weight, [n]) : null,
    b: bias ? dense(bias, [n]) : null,
    /** Shape of the per-row statistics: x's leading axes, then size-1 axes. */
    statShape: [...x.shape.slice(0, x.ndim - k), ...normalizedShape.map(() => 1)],
  };
}

/**
 * `y = (x - mean) / sqrt(var + eps) * weight + bias` over the trailing `normalizedShape`
 * axes. Also returns the per-row `mean` and `rstd = 1 / sqrt(var + eps)` (shaped like x
 * with the normalised axes set to 1), which a fused backward kernel reuses.
 * @example const { y } = layerNorm(x, [64], gamma, beta, 1e-5);
 */
export function layerNorm(x: NDArray, normalizedShape: readonly number[], weight: NDArray | null = null, bias: NDArray | null = null, eps = 1e-5): LayerNormResult {
  const { n, x2, w, b, statShape } = prepare('layerNorm', x, normalizedShape, weight, bias);
  const fused = getBackend().layerNorm;
  let r: LayerNormResult;
  if (fused && n > 0) {
    r = fused(x2, w, b, eps);
  } else {
    const mu = mean(x2, 1, true);
    const xc = sub(x2, mu);
    const rstd = rsqrt(add(mean(mul(xc, xc), 1, true), eps));
    let y = mul(xc, rstd);
    if (w) y = mul(y, w);
    if (b) y = add(y, b);
    r = { y, mean: mu, rstd };
  }
  return { y: r.y.reshape(x.shape), mean: r.mean.reshape(statShape), rstd: r.rstd.reshape(statShape) };
}
