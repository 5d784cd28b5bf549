/**
 * Scaled dot-product attention as one graph node (torch.nn.functional's
 * scaled_dot_product_attention, without dropout or an explicit mask): the backend's
 * fused kernel forward when it has one (see @tsgrad/tensor's ops/attention.ts) and the
 * derivative rule, written once here.
 *
 * For first-order gradients the rule calls `nd.attentionBackward`, which rebuilds the
 * weights from the log-sum-exp the forward saved (on the fast backend, one head at a
 * time without materialising the [..., T, S] weights). With `createGraph: true` it
 * states the same rule in differentiable tensor ops instead, from q, k and v, so
 * differentiating it again gives correct second derivatives.
 */
import * as nd from '@tsgrad/tensor';
import { isGradEnabled, record } from '../graph.ts';
import { constant, type Tensor } from '../tensor.ts';

/**
 * `softmax(scale q k^T + mask) v` for q [..., T, D], k [..., S, D], v [..., S, Dv] with
 * the same leading axes: with `causal`, query i attends to keys 0..i; `scale` defaults
 * to 1 / sqrt(D). Throws naming the op and the three shapes when they do not fit.
 * @example
 * const y = scaledDotProductAttention(q, k, v, { causal: true }); // [B, H, T, D]
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opts: nd.AttentionOptions = {}): Tensor {
  const { scale } = nd.checkAttention('scaledDotProductAttention', q.data, k.data, v.data, opts);
  const causal = opts.causal ?? false;
  const { out, lse } = nd.attention(q.data, k.data, v.data, { causal, scale });
  return record('scaledDotProductAttention', out, [q, k, v], (g) => {
    if (!isGradEnabled()) {
      const r = nd.attentionBackward(g.data, q.data, k.data, v.data, lse, { causal, scale });
      return [q.requiresGrad ? constant(r.dq) : null, k.requiresGrad ? constant(r.dk) : null, v.requiresGrad ? constant(r.dv) : null];
    }
    // with P the weights and dP = g v^T: dv = P^T g, dS = P (dP - rowsum(P dP)), dq = scale dS k, dk = scale dS^T q
    let s = q.matmul(k.mT).mul(scale);
    if (causal) s = s.maskedFill(nd.futureMask(q.shape[q.ndim - 2]!, k.shape[k.ndim - 2]!), -Infinity);
    const p = s.softmax(-1);
    const dp = g.matmul(v.mT);
    const ds = p.mul(dp.sub(p.mul(dp).sum(-1, true))).mul(scale);
    return [ds.matmul(k), ds.mT.matmul(q), p.mT.matmul(g)];
  });
}
