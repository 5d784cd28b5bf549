/**
 * The pre-norm Transformer block of GPT-2 (Radford et al. 2019):
 * x + attn(ln1(x)), then + mlp(ln2(x)).
 */
import type { Tensor } from '@tsgrad/autograd';
import * as nd from '@tsgrad/tensor';
import { Module } from '../module.ts';
import { GELU } from './activation.ts';
import { MultiHeadAttention } from './attention.ts';
import { Dropout } from './dropout.ts';
import { Linear } from './linear.ts';
import { LayerNorm } from './norm.ts';

export interface BlockOptions {
  /** Hidden width of the MLP (default 4 dModel). */
  dHidden?: number;
  dropout?: number;
  bias?: boolean;
  /** Masks future positions in attention (default true). */
  causal?: boolean;
  /** GELU variant in the MLP (default exact, as torch.nn.GELU). */
  gelu?: 'none' | 'tanh';
  seed?: number;
  rng?: nd.Rng;
  dtype?: 'float32' | 'float64';
}

/**
 * Position-wise feed-forward network: fc2(dropout?(GELU(fc1(x)))). Children `fc1`,
 * `act`, `fc2` (and `drop` with dropout > 0, applied after fc2).
 * @example new FeedForward(32, 128, { seed: 0 }).call(x)
 */
export class FeedForward extends Module {
  fc1: Linear;
  act: GELU;
  fc2: Linear;
  drop: Dropout | null;

  constructor(dModel: number, dHidden: number, opts: Omit<BlockOptions, 'dHidden' | 'causal'> = {}) {
    super();
    const rng = opts.rng ?? new nd.Rng(opts.seed ?? nd.rngFor().nextUint32());
    this.fc1 = this.registerModule('fc1', new Linear(dModel, dHidden, { bias: opts.bias, dtype: opts.dtype, rng }));
    this.act = this.registerModule('act', new GELU(opts.gelu ?? 'none'));
    this.fc2 = this.registerModule('fc2', new Linear(dHidden, dModel, { bias: opts.bias, dtype: opts.dtype, rng }));
    const p = opts.dropout ?? 0;
    this.drop = this.registerModule('drop', p > 0 ? new Dropout(p, { rng: rng.fork() }) : null);
  }

  override forward(x: Tensor): Tensor {
    const y = this.fc2.call(this.act.call(this.fc1.call(x)));
    return this.drop ? this.drop.call(y) : y;
  }
}

/**
 * Pre-norm block with children `ln1`, `attn` (MultiHeadAttention), `ln2`, `mlp`
 * (FeedForward with `fc1`, `fc2`).
 * @example const block = new TransformerBlock(32, 4, { seed: 0 }); block.call(x) // [B, T, 32]
 */
export class TransformerBlock extends Module {
  ln1: LayerNorm;
  attn: MultiHeadAttention;
  ln2: LayerNorm;
  mlp: FeedForward;

  constructor(dModel: number, nHeads: number, opts: BlockOptions = {}) {
    super();
    const rng = opts.rng ?? new nd.Rng(opts.seed ?? nd.rngFor().nextUint32());
    const common = { bias: opts.bias, dtype: opts.dtype, dropout: opts.dropout };
    this.ln1 = this.registerModule('ln1', new LayerNorm(dModel, { dtype: opts.dtype }));
    this.attn = this.registerModule('attn', new MultiHeadAttention(dModel, nHeads, { ...common, causal: opts.causal, rng }));
    this.ln2 = this.registerModule('ln2', new LayerNorm(dModel, { dtype: opts.dtype }));
    this.mlp = this.registerModule('mlp', new FeedForward(dModel, opts.dHidden ?? 4 * dModel, { ...common, gelu: opts.gelu, rng }));
  }

  override forward(x: Tensor): Tensor {
    const h = x.add(this.attn.call(this.ln1.call(x)));
    return h.add(this.mlp.call(this.ln2.call(h)));
  }
}
