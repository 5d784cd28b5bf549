/**
 * Scaled dot-product attention (Vaswani et al. 2017, eq. 1) as one op:
 * `softmax(scale q k^T + mask) v` over the last two axes, with the causal mask of GPT
 * (query i sees keys j <= i) when asked. Backends with a fused kernel
 * (`Backend.attention`, `Backend.attentionBackward`) run it without materialising the
 * [..., T, S] weights of every head at once; others get the composition below, which is
 * also the textbook statement of what the kernels compute. The derivative rule lives in
 * autograd (ops/attention.ts there), which calls `attentionBackward`.
 *
 * The forward also returns each query row's log-sum-exp of the masked, scaled scores,
 * so the backward can rebuild the weights as exp(scale q k^T - lse) instead of keeping
 * them: the same trick as FlashAttention (Dao et al. 2022), on the CPU.
 */
import type { AttentionGrads, AttentionResult } from '../backend.ts';
import { getBackend } from '../backends/registry.ts';
import type { DType } from '../dtype.ts';
import type { NDArray } from '../ndarray.ts';
import { shapesEqual, shapeToString } from '../shape.ts';
import { zeros } from './creation.ts';
import { castIfNeeded, exp, mul, sub, where } from './elementwise.ts';
import { matmul } from './matmul.ts';
import { logsumexp, sum } from './reduce.ts';

export interface AttentionOptions {
  /** Mask the keys after each query (key j > query i), as in a decoder (default false). */
  causal?: boolean;
  /** Factor on the scores (default 1 / sqrt(D), D the query width). */
  scale?: number;
}

/**
 * Checks that q [..., T, D], k [..., S, D] and v [..., S, Dv] fit together (same leading
 * axes, no broadcasting) and returns their common float dtype and the scale to use;
 * throws naming `op` and the three shapes otherwise.
 * @example const { dtype, scale } = checkAttention('attention', q, k, v, {});
 */
export function checkAttention(op: string, q: NDArray, k: NDArray, v: NDArray, opts: AttentionOptions): { dtype: DType; scale: number } {
  const shapes = `q ${shapeToString(q.shape)}, k ${shapeToString(k.shape)}, v ${shapeToString(v.shape)}`;
  if (q.ndim < 2 || k.ndim !== q.ndim || v.ndim !== q.ndim) {
    throw new Error(`${op}: q, k and v need the same rank, at least 2 ([..., time, features]); got ${shapes}`);
  }
  const n = q.ndim;
  if (!shapesEqual(q.shape.slice(0, n - 2), k.shape.slice(0, n - 2)) || !shapesEqual(q.shape.slice(0, n - 2), v.shape.slice(0, n - 2))) {
    throw new Error(`${op}: q, k and v need the same leading (batch, head) axes; got ${shapes}`);
  }
  if (k.shape[n - 1] !== q.shape[n - 1]) throw new Error(`${op}: k's feature size must equal q's; got ${shapes}`);
  if (v.shape[n - 2] !== k.shape[n - 2]) throw new Error(`${op}: v needs as many rows (keys) as k; got ${shapes}`);
  for (const [name, x] of [['q', q], ['k', k], ['v', v]] as const) {
    if (x.dtype === 'bool') throw new TypeError(`${op}: ${name} must be numeric, got bool`);
  }
  const d = q.shape[n - 1]!;
  const scale = opts.scale ?? (d > 0 ? 1 / Math.sqrt(d) : 1);
  if (!Number.isFinite(scale)) throw new RangeError(`${op}: scale must be finite, got ${scale}`);
  const dtype: DType = [q, k, v].some((x) => x.dtype === 'float64') ? 'float64' : 'float32';
  return { dtype, scale };
}

/**
 * The causal mask: [T, S] bool, true where key j comes after query i (j > i), the
 * entries `attention` with `causal` leaves out.
 * @example futureMask(3, 3) // [[0, 1, 1], [0, 0, 1], [0, 0, 0]]
 */
export function futureMask(t: number, s: number): NDArray {
  const m = zeros([t, s], 'bool');
  for (let i = 0; i < t; i++) for (let j = i + 1; j < s; j++) m.data[i * s + j] = 1;
  return m;
}

/** The masked, scaled scores scale q k^T (masked entries -inf), composed from primitives. */
function scores(q: NDArray, k: NDArray, causal: boolean, scale: number): NDArray {
  const s = mul(matmul(q, k.transpose(-2, -1)), scale);
  return causal ? where(futureMask(q.shape[q.ndim - 2]!, k.shape[k.ndim - 2]!), -Infinity, s) : s;
}

/**
 * `softmax(scale q k^T, masked) v` for q [..., T, D], k [..., S, D], v [..., S, Dv], and
 * each row's log-sum-exp of the masked, scaled scores ([..., T], what
 * `attentionBackward` takes). With `causal`, query i attends to keys 0..i.
 * @example
 * const { out } = attention(q, k, v, { causal: true }); // [B, H, T, D] -> [B, H, T, D]
 */
export function attention(q: NDArray, k: NDArray, v: NDArray, opts: AttentionOptions = {}): AttentionResult {
  const { dtype, scale } = checkAttention('attention', q, k, v, opts);
  const causal = opts.causal ?? false;
  const [q1, k1, v1] = [q, k, v].map((x) => castIfNeeded(x, dtype)) as [NDArray, NDArray, NDArray];
  const fused = getBackend().attention;
  if (fused && q1.size > 0 && k1.size > 0 && v1.size > 0) return fused(q1, k1, v1, causal, scale);
  const s = scores(q1, k1, causal, scale);
  const lse = logsumexp(s, -1, true);
  // exp(s - lse) is softmax(s); rows with no keys (S = 0) are empty, so lse = -inf does no harm
  const out = matmul(exp(sub(s, lse)), v1);
  return { out, lse: lse.squeeze(lse.ndim - 1) };
}

/**
 * Gradients of `attention` for the output gradient `g` [..., T, Dv], given the forward's
 * `lse`. With P = exp(S - lse) the weights and dP = g v^T:
 *   dv = P^T g,  dS = P (dP - rowsum(P dP)),  dq = scale dS k,  dk = scale dS^T q.
 * (rowsum(P dP) equals rowsum(g out), the usual form; this one needs no saved output.)
 * @example
 * const { out, lse } = attention(q, k, v, { causal: true });
 * const { dq, dk, dv } = attentionBackward(ones(out.shape), q, k, v, lse, { causal: true });
 */
export function attentionBackward(g: NDArray, q: NDArray, k: NDArray, v: NDArray, lse: NDArray, opts: AttentionOptions = {}): AttentionGrads {
  const { dtype, scale } = checkAttention('attentionBackward', q, k, v, opts);
  const outShape = [...q.shape.slice(0, -1), v.shape[v.ndim - 1]!];
  if (!shapesEqual(g.shape, outShape) || !shapesEqual(lse.shape, q.shape.slice(0, -1))) {
    throw new Error(`attentionBackward: g ${shapeToString(g.shape)} and lse ${shapeToString(lse.shape)} must have shapes ${shapeToString(outShape)} and ${shapeToString(q.shape.slice(0, -1))}`);
  }
  const causal = opts.causal ?? false;
  const [g1, q1, k1, v1, l1] = [g, q, k, v, lse].map((x) => castIfNeeded(x, dtype)) as [NDArray, NDArray, NDArray, NDArray, NDArray];
  const fused = getBackend().attentionBackward;
  if (fused && q1.size > 0 && k1.size > 0 && v1.size > 0) return fused(g1, q1, k1, v1, l1.contiguous(), causal, scale);
  const p = exp(sub(scores(q1, k1, causal, scale), l1.unsqueeze(l1.ndim)));
  const dv = matmul(p.transpose(-2, -1), g1);
  const dp = matmul(g1, v1.transpose(-2, -1));
  const ds = mul(mul(p, sub(dp, sum(mul(p, dp), -1, true))), scale);
  return { dq: matmul(ds, k1), dk: matmul(ds.transpose(-2, -1), q1), dv };
}
