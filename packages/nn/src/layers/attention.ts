/**
 * Multi-head self-attention (Vaswani et al. 2017, eq. 1-2) with an optional causal
 * mask, as in GPT: softmax(Q K^T / sqrt(d_head) + mask) V per head.
 *
 * The per-head attention runs as one fused op (autograd's scaledDotProductAttention),
 * which on the fast backend never materialises the [B, H, T, T] weights; the composed
 * form (matmul, maskedFill, softmax, matmul) remains for attention dropout in training,
 * which must see the weights, and when `fused` is turned off. Both compute the same
 * numbers up to float rounding.
 */
import { scaledDotProductAttention, Tensor } from '@tsgrad/autograd';
import * as nd from '@tsgrad/tensor';
import { Module } from '../module.ts';
import { Dropout } from './dropout.ts';
import { Linear } from './linear.ts';

export interface AttentionOptions {
  /** Mask future positions (default true). */
  causal?: boolean;
  /** Dropout on the attention weights and on the output (default 0). */
  dropout?: number;
  /** Biases in the four projections (default true). */
  bias?: boolean;
  seed?: number;
  rng?: nd.Rng;
  dtype?: 'float32' | 'float64';
  /** Use the fused attention op where it applies (default true; see `MultiHeadAttention.fused`). */
  fused?: boolean;
}

/** [T, T] bool mask, true above the diagonal (the future positions a query may not see). */
export function causalMask(t: number): nd.NDArray {
  const m = nd.zeros([t, t], 'bool');
  for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) m.data[i * t + j] = 1;
  return m;
}

/**
 * Self-attention over x of shape [B, T, dModel]. Separate `q_proj`, `k_proj`,
 * `v_proj` and `out_proj` Linear children (LoRA and EVA target them by name); heads
 * split dModel into nHeads slices of dModel / nHeads. Masked weights are exactly 0 (the
 * composed path sets masked scores to -inf with maskedFill before the softmax; the
 * fused op skips them).
 * @example
 * const attn = new MultiHeadAttention(32, 4, { seed: 0 });
 * attn.call(x); // [2, 8, 32] -> [2, 8, 32]
 */
export class MultiHeadAttention extends Module {
  readonly dModel: number;
  readonly nHeads: number;
  readonly headDim: number;
  readonly causal: boolean;
  q_proj: Linear;
  k_proj: Linear;
  v_proj: Linear;
  out_proj: Linear;
  attn_drop: Dropout | null;
  resid_drop: Dropout | null;
  /**
   * Whether the per-head attention runs as the fused op (true by default). It falls back
   * to the composed ops anyway while attention dropout is active (training, p > 0).
   */
  fused: boolean;
  private masks = new Map<number, nd.NDArray>();

  constructor(dModel: number, nHeads: number, opts: AttentionOptions = {}) {
    super();
    if (dModel % nHeads !== 0) throw new Error(`MultiHeadAttention: dModel ${dModel} is not divisible by nHeads ${nHeads}`);
    this.dModel = dModel;
    this.nHeads = nHeads;
    this.headDim = dModel / nHeads;
    this.causal = opts.causal ?? true;
    this.fused = opts.fused ?? true;
    const rng = opts.rng ?? new nd.Rng(opts.seed ?? nd.rngFor().nextUint32());
    const lin = { bias: opts.bias ?? true, dtype: opts.dtype, rng };
    this.q_proj = this.registerModule('q_proj', new Linear(dModel, dModel, lin));
    this.k_proj = this.registerModule('k_proj', new Linear(dModel, dModel, lin));
    this.v_proj = this.registerModule('v_proj', new Linear(dModel, dModel, lin));
    this.out_proj = this.registerModule('out_proj', new Linear(dModel, dModel, lin));
    const p = opts.dropout ?? 0;
    this.attn_drop = this.registerModule('attn_drop', p > 0 ? new Dropout(p, { rng: rng.fork() }) : null);
    this.resid_drop = this.registerModule('resid_drop', p > 0 ? new Dropout(p, { rng: rng.fork() }) : null);
  }

  /** The [T, T] mask for sequence length T, built once per length. */
  private mask(t: number): nd.NDArray {
    let m = this.masks.get(t);
    if (!m) {
      m = causalMask(t);
      this.masks.set(t, m);
    }
    return m;
  }

  override forward(x: Tensor): Tensor {
    if (x.ndim !== 3 || x.shape[2] !== this.dModel) {
      throw new Error(`MultiHeadAttention: expected input [batch, time, ${this.dModel}], got [${x.shape.join(', ')}]`);
    }
    const [b, t] = x.shape as [number, number, number];
    const heads = (y: Tensor) => y.reshape([b, t, this.nHeads, this.headDim]).permute([0, 2, 1, 3]); // [B, H, T, D]
    const q = heads(this.q_proj.call(x));
    const k = heads(this.k_proj.call(x));
    const v = heads(this.v_proj.call(x));
    const scale = 1 / Math.sqrt(this.headDim);
    const dropping = this.attn_drop !== null && this.attn_drop.training;
    let attended: Tensor; // [B, H, T, D]
    if (this.fused && !dropping) {
      attended = scaledDotProductAttention(q, k, v, { causal: this.causal, scale });
    } else {
      let scores = q.matmul(k.mT).mul(scale); // [B, H, T, T]
      if (this.causal) scores = scores.maskedFill(this.mask(t), -Infinity);
      let weights = scores.softmax(-1);
      if (this.attn_drop) weights = this.attn_drop.call(weights);
      attended = weights.matmul(v);
    }
    const y = attended.permute([0, 2, 1, 3]).reshape([b, t, this.dModel]);
    const out = this.out_proj.call(y);
    return this.resid_drop ? this.resid_drop.call(out) : out;
  }

  override extraRepr(): string {
    return `dModel=${this.dModel}, nHeads=${this.nHeads}, causal=${this.causal}`;
  }
}
