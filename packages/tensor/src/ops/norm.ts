/**
 * Layer normalisation (Ba, Kiros & Hinton 2016) over the trailing axes, as
 * torch.nn.functional.layer_norm: biased variance, eps inside the square root.
 * Backends with a fused kernel (`Backend.layerNorm`) run it; others get the same math
 * composed from primitives.
 */
import { getBackend } from '../backends/registry.ts';
import type { LayerNormGrads, LayerNormResult } from '../backend.ts';
import { isFloat, type DType } from '../dtype.ts';
import type { NDArray } from '../ndarray.ts';
import { shapesEqual, shapeToString, sizeOf } from '../shape.ts';
import { add, castIfNeeded, mul, rsqrt, sub } from './elementwise.ts';
import { mean, sum } from './reduce.ts';

/** Shapes and dense 2-D views shared by the forward and the backward. */
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
    dtype,
    n,
    rows,
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
 * with the normalised axes set to 1), which `layerNormBackward` takes.
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

/**
 * Gradients of `layerNorm` for the output gradient `g`: with xhat = (x - mean) rstd and
 * dxhat = g * weight, dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat)) over each
 * row, dweight = sum over rows of g xhat and dbias = sum over rows of g.
 * @example const { dx, dweight, dbias } = layerNormBackward(g, x, [64], gamma, true, mean, rstd);
 */
export function layerNormBackward(
  g: NDArray,
  x: NDArray,
  normalizedShape: readonly number[],
  weight: NDArray | null,
  withBias: boolean,
  mean_: NDArray,
  rstd_: NDArray,
): LayerNormGrads {
  const { dtype, n, rows, x2, w } = prepare('layerNormBackward', x, normalizedShape, weight, null);
  if (!shapesEqual(g.shape, x.shape)) throw new Error(`layerNormBackward: gradient of shape ${shapeToString(g.shape)} for an input of shape ${shapeToString(x.shape)}`);
  const g2 = castIfNeeded(g, dtype).contiguous().reshape([rows, n]);
  const mu = castIfNeeded(mean_, dtype).contiguous().reshape([rows, 1]);
  const rs = castIfNeeded(rstd_, dtype).contiguous().reshape([rows, 1]);
  const fused = getBackend().layerNormBackward;
  let r: LayerNormGrads;
  if (fused && n > 0) {
    r = fused(g2, x2, w, withBias, mu, rs);
  } else {
    const xhat = mul(sub(x2, mu), rs);
    const dxhat = w ? mul(g2, w) : g2;
    const dx = mul(rs, sub(sub(dxhat, mean(dxhat, 1, true)), mul(xhat, mean(mul(dxhat, xhat), 1, true))));
    r = { dx, dweight: w ? sum(mul(g2, xhat), 0) : null, dbias: withBias ? sum(g2, 0) : null };
  }
  return {
    dx: r.dx.reshape(x.shape),
    dweight: r.dweight ? r.dweight.reshape(normalizedShape) : null,
    dbias: r.dbias ? r.dbias.reshape(normalizedShape) : null,
  };
}
