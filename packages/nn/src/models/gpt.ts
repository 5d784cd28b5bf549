/**
 * A GPT-style decoder-only language model (Radford et al. 2018/2019): token and
 * learned position embeddings, a stack of pre-norm Transformer blocks with causal
 * attention, a final LayerNorm and a linear head over the vocabulary.
 */
import { noGrad, Tensor } from '@tsgrad/autograd';
import * as nd from '@tsgrad/tensor';
import { normal, zeros } from '../init.ts';
import { Dropout } from '../layers/dropout.ts';
import { Embedding } from '../layers/embedding.ts';
import { Linear } from '../layers/linear.ts';
import { LayerNorm } from '../layers/norm.ts';
import { ModuleList } from '../layers/sequential.ts';
import { TransformerBlock } from '../layers/transformer.ts';
import { Module } from '../module.ts';

export interface GPTConfig {
  vocabSize: number;
  /** Longest sequence the position table covers. */
  contextLength: number;
  dModel: number;
  nHeads: number;
  nLayers: number;
  /** Dropout on embeddings, attention weights and residual branches (default 0). */
  dropout?: number;
  /** Biases in Linear layers and LayerNorms (default true, as GPT-2). */
  bias?: boolean;
  /** MLP width (default 4 dModel). */
  dHidden?: number;
  /** GELU variant (default 'tanh', as GPT-2). */
  gelu?: 'none' | 'tanh';
  /** Share `lm_head.weight` with `tok_emb.weight` (default false). */
  tieWeights?: boolean;
  seed?: number;
  dtype?: 'float32' | 'float64';
}

export interface GenerateOptions {
  /** Logits are divided by it; 0 picks the most likely token (greedy). Default 1. */
  temperature?: number;
  /** Sample only among the k most likely tokens. */
  topK?: number;
  seed?: number;
}

/**
 * Parameters: `tok_emb.weight` [V, C], `pos_emb.weight` [contextLength, C],
 * `blocks.<i>.{ln1, attn.{q_proj, k_proj, v_proj, out_proj}, ln2, mlp.{fc1, fc2}}`,
 * `ln_f`, `lm_head.weight` [V, C] (no bias). Init as GPT-2: weights and embeddings
 * N(0, 0.02^2), biases 0, and the residual projections (`out_proj`, `fc2`) scaled by
 * 1 / sqrt(2 nLayers) so the residual stream's variance does not grow with depth.
 * @example
 * const gpt = new GPT({ vocabSize: 65, contextLength: 64, dModel: 64, nHeads: 4, nLayers: 2, seed: 0 });
 * const logits = gpt.call(ids); // ids: int32 [B, T] -> [B, T, 65]
 */
export class GPT extends Module {
  readonly config: Required<Omit<GPTConfig, 'seed' | 'dtype'>> & Pick<GPTConfig, 'seed' | 'dtype'>;
  tok_emb: Embedding;
  pos_emb: Embedding;
  drop: Dropout | null;
  blocks: ModuleList<TransformerBlock>;
  ln_f: LayerNorm;
  lm_head: Linear;

  constructor(config: GPTConfig) {
    super();
    const c = {
      dropout: 0,
      bias: true,
      dHidden: 4 * config.dModel,
      gelu: 'tanh' as const,
      tieWeights: false,
      ...config,
    };
    this.config = c;
    const rng = new nd.Rng(c.seed ?? nd.rngFor().nextUint32());
    const dtype = c.dtype;
    this.tok_emb = this.registerModule('tok_emb', new Embedding(c.vocabSize, c.dModel, { rng, dtype }));
    this.pos_emb = this.registerModule('pos_emb', new Embedding(c.contextLength, c.dModel, { rng, dtype }));
    this.drop = this.registerModule('drop', c.dropout > 0 ? new Dropout(c.dropout, { rng: rng.fork() }) : null);
    const blocks: TransformerBlock[] = [];
    for (let i = 0; i < c.nLayers; i++) {
      blocks.push(new TransformerBlock(c.dModel, c.nHeads, { dHidden: c.dHidden, dropout: c.dropout, bias: c.bias, gelu: c.gelu, rng, dtype }));
    }
    this.blocks = this.registerModule('blocks', new ModuleList(blocks));
    this.ln_f = this.registerModule('ln_f', new LayerNorm(c.dModel, { bias: c.bias, dtype }));
    this.lm_head = this.registerModule('lm_head', new Linear(c.dModel, c.vocabSize, { bias: false, rng, dtype }));

    // GPT-2 initialisation (replaces the PyTorch defaults drawn above).
    const residStd = 0.02 / Math.sqrt(2 * c.nLayers);
    for (const [name, p] of this.namedParameters()) {
      if (name.startsWith('ln') || name.includes('.ln')) continue; // LayerNorm keeps 1 and 0
      if (name.endsWith('.bias')) zeros(p);
      else if (name.endsWith('out_proj.weight') || name.endsWith('fc2.weight')) normal(p, 0, residStd, { rng });
      else normal(p, 0, 0.02, { rng });
    }
    if (c.tieWeights) this.lm_head.weight = this.tok_emb.weight;
  }

  /** Logits [B, T, vocabSize] for int32 token ids [B, T] (T <= contextLength). */
  override forward(idx: Tensor): Tensor {
    if (idx.ndim !== 2 || idx.dtype !== 'int32') {
      throw new Error(`GPT: expected int32 token ids of shape [batch, time], got ${idx.dtype} [${idx.shape.join(', ')}]`);
    }
    const t = idx.shape[1]!;
    if (t > this.config.contextLength) {
      throw new Error(`GPT: sequence of length ${t} exceeds contextLength ${this.config.contextLength}`);
    }
    const pos = new Tensor(nd.arange(t));
    let x = this.tok_emb.call(idx).add(this.pos_emb.call(pos));
    if (this.drop) x = this.drop.call(x);
    for (const block of this.blocks) x = block.call(x);
    return this.lm_head.call(this.ln_f.call(x));
  }

  /**
   * Appends `maxNew` sampled tokens to each row of `idx` (int32 [B, T]) and returns
   * the [B, T + maxNew] result. Runs without a graph and in eval mode (restoring
   * the previous mode); the context is cropped to the last `contextLength` tokens.
   * @example gpt.generate(tensor([[0]], { dtype: 'int32' }), 100, { temperature: 0.8, topK: 10, seed: 1 })
   */
  generate(idx: Tensor, maxNew: number, opts: GenerateOptions = {}): Tensor {
    const { temperature = 1, topK } = opts;
    if (idx.ndim !== 2 || idx.dtype !== 'int32') throw new Error(`generate: expected int32 ids [batch, time], got ${idx.dtype} [${idx.shape.join(', ')}]`);
    const rng = new nd.Rng(opts.seed ?? nd.rngFor().nextUint32());
    const wasTraining = this.training;
    this.eval();
    try {
      return noGrad(() => {
        const [b, t0] = idx.shape as [number, number];
        const rows: number[][] = [];
        const src = idx.data.toTyped();
        for (let i = 0; i < b; i++) rows.push(Array.from(src.subarray(i * t0, (i + 1) * t0)));
        const v = this.config.vocabSize;
        const probs = new Float64Array(v);
        for (let step = 0; step < maxNew; step++) {
          const ctx = rows.map((r) => r.slice(-this.config.contextLength));
          const len = ctx[0]!.length;
          const input = new Tensor(nd.NDArray.fromTyped(Int32Array.from(ctx.flat()), [b, len], 'int32'));
          const logits = this.call(input).data.contiguous(); // [B, len, V]
          for (let i = 0; i < b; i++) {
            const base = (i * len + len - 1) * v;
            rows[i]!.push(sampleToken(logits.data, base, v, temperature, topK, probs, rng));
          }
        }
        return new Tensor(nd.NDArray.fromTyped(Int32Array.from(rows.flat()), [b, t0 + maxNew], 'int32'));
      });
    } finally {
      this.train(wasTraining);
    }
  }
}

/** Draws one token from logits[base .. base + v) with temperature and top-k. */
function sampleToken(
  logits: nd.TypedArray,
  base: number,
  v: number,
  temperature: number,
  topK: number | undefined,
  probs: Float64Array,
  rng: nd.Rng,
): number {
  let best = 0;
  for (let j = 1; j < v; j++) if (logits[base + j]! > logits[base + best]!) best = j;
  if (temperature <= 0) return best;
  // Threshold for top-k: the k-th largest logit (ties at the threshold are kept).
  let threshold = -Infinity;
  if (topK !== undefined && topK < v) {
    const sorted = Array.from(logits.subarray(base, base + v)).sort((a, b) => b - a);
    threshold = sorted[Math.max(topK, 1) - 1]!;
  }
  const top = logits[base + best]!;
  let total = 0;
  for (let j = 0; j < v; j++) {
    const l = logits[base + j]!;
    probs[j] = l >= threshold ? Math.exp((l - top) / temperature) : 0;
    total += probs[j]!;
  }
  let u = rng.uniform() * total;
  for (let j = 0; j < v; j++) {
    u -= probs[j]!;
    if (u < 0) return j;
  }
  return best;
}
