/**
 * Layer normalisation as one graph node: the backend's fused kernel forward (when it
 * has one, see @tsgrad/tensor's ops/norm.ts) and the derivative rule, written once here.
 *
 * The rule is the composed formula in tensor ops from x, so differentiating it again
 * (`createGraph: true`) gives correct second derivatives. For ordinary first-order
 * gradients a backend may offer a fused kernel (`Backend.layerNormBackward`) computing
 * the same formula in one pass from the mean and rstd the forward saved; the rule calls
 * it when present, which is what training runs on the fast backend.
 */
import * as nd from '@tsgrad/tensor';
import { isGradEnabled, record } from '../graph.ts';
import { constant, type Tensor } from '../tensor.ts';

/**
 * `(x - E[x]) / sqrt(Var[x] + eps) * weight + bias` over the trailing `normalizedShape`
 * axes, with the biased variance (torch.nn.functional.layer_norm). `weight` and `bias`
 * have shape `normalizedShape` or are null.
 * @example layerNorm(x, [64], gamma, beta) // x: [..., 64]
 */
export function layerNorm(x: Tensor, normalizedShape: readonly number[], weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5): Tensor {
  const { y, mean, rstd } = nd.layerNorm(x.data, normalizedShape, weight?.data ?? null, bias?.data ?? null, eps);
  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  const k = normalizedShape.length;
  const axes = Array.from({ length: k }, (_, i) => x.ndim - k + i);
  const leading = Array.from({ length: x.ndim - k }, (_, i) => i);
  return record('layerNorm', y, inputs, (g) => {
    let dx: Tensor;
    let dw: Tensor | null = null;
    let db: Tensor | null = null;
    const fused = isGradEnabled() ? null : fusedBackward(g.data, x.data, normalizedShape, weight?.data ?? null, bias !== null, mean, rstd);
    if (fused) {
      dx = constant(fused.dx);
      if (fused.dweight) dw = constant(fused.dweight);
      if (fused.dbias) db = constant(fused.dbias);
    } else {
      // with xhat = (x - mean) / std and dxhat = g * weight, over each normalised slice:
      // dx = (dxhat - mean(dxhat) - xhat mean(dxhat xhat)) / std, dweight = sum g xhat, dbias = sum g
      const mu = x.mean(axes, true);
      const xc = x.sub(mu);
      const std = xc.mul(xc).mean(axes, true).add(eps).sqrt();
      const xhat = xc.div(std);
      const dxhat = weight ? g.mul(weight) : g;
      dx = dxhat.sub(dxhat.mean(axes, true)).sub(xhat.mul(dxhat.mul(xhat).mean(axes, true))).div(std);
      if (weight) dw = leading.length > 0 ? g.mul(xhat).sum(leading) : g.mul(xhat);
      if (bias) db = leading.length > 0 ? g.sum(leading) : g;
    }
    return [dx, ...(weight ? [weight.requiresGrad ? dw : null] : []), ...(bias ? [bias.requiresGrad ? db : null] : [])];
  });
}

/**
 * The backend's fused layer norm backward on dense `[rows, n]` views, reshaped back to
 * x's and normalizedShape's shapes; null when the backend has no such kernel (or the
 * normalised slice is empty), so the composed rule runs.
 */
function fusedBackward(
  g: nd.NDArray,
  x: nd.NDArray,
  normalizedShape: readonly number[],
  weight: nd.NDArray | null,
  withBias: boolean,
  mean: nd.NDArray,
  rstd: nd.NDArray,
): nd.LayerNormGrads | null {
  const kernel = nd.getBackend().layerNormBackward;
  const n = nd.sizeOf(normalizedShape);
  if (!kernel || n === 0) return null;
  const dtype = mean.dtype; // the forward's float dtype
  const rows = mean.size;
  const dense = (a: nd.NDArray, shape: number[]) => nd.castIfNeeded(a, dtype).contiguous().reshape(shape);
  const r = kernel(dense(g, [rows, n]), dense(x, [rows, n]), weight ? dense(weight, [n]) : null, withBias, dense(mean, [rows, 1]), dense(rstd, [rows, 1]));
  return {
    dx: r.dx.reshape(x.shape),
    dweight: r.dweight ? r.dweight.reshape(normalizedShape) : null,
    dbias: r.dbias ? r.dbias.reshape(normalizedShape) : null,
  };
}
