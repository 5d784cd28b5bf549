/**
 * Layer normalisation as one graph node, with the backend's fused kernel forward and,
 * for ordinary first-order gradients, backward.
 *
 * The derivative rule has two forms. When the backward pass is itself recorded
 * (`createGraph: true`, so recording is on while the rule runs), it is written in
 * tensor ops from x, and differentiating it again gives correct second derivatives.
 * Otherwise it calls the fused backward kernel on the mean and rstd saved by the
 * forward, which is what training runs.
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
    if (isGradEnabled()) {
      // recorded backward: the same formula in differentiable tensor ops
      const mu = x.mean(axes, true);
      const xc = x.sub(mu);
      const std = xc.mul(xc).mean(axes, true).add(eps).sqrt();
      const xhat = xc.div(std);
      const dxhat = weight ? g.mul(weight) : g;
      dx = dxhat.sub(dxhat.mean(axes, true)).sub(xhat.mul(dxhat.mul(xhat).mean(axes, true))).div(std);
      if (weight) dw = leading.length > 0 ? g.mul(xhat).sum(leading) : g.mul(xhat);
      if (bias) db = leading.length > 0 ? g.sum(leading) : g;
    } else {
      const r = nd.layerNormBackward(g.data, x.data, normalizedShape, weight?.data ?? null, bias !== null, mean, rstd);
      dx = constant(r.dx);
      if (r.dweight) dw = constant(r.dweight);
      if (r.dbias) db = constant(r.dbias);
    }
    return [dx, ...(weight ? [weight.requiresGrad ? dw : null] : []), ...(bias ? [bias.requiresGrad ? db : null] : [])];
  });
}
