/**
 * js-pytorch's side, on its default `cpu` device (nested JS arrays). Its layers differ
 * from GPT-2 in small ways (ReLU in the MLP, its own init), so the GPT step compares
 * the same shapes and batch, not the same weights.
 */
import { torch } from 'js-pytorch';
import { GPT, type GptBatch } from './inputs.ts';

type JsTensor = InstanceType<typeof torch.Tensor>;

/** Rows of a flat array as nested JS arrays, the format js-pytorch stores. */
export function nested(data: ArrayLike<number>, rows: number, cols: number): number[][] {
  return Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => data[i * cols + j]!));
}

export function matmulCase(n: number, a: Float32Array, b: Float32Array): () => unknown {
  const x = torch.tensor(nested(a, n, n));
  const y = torch.tensor(nested(b, n, n));
  return () => torch.matmul(x, y);
}

export function softmaxCase(rows: number, cols: number, data: Float32Array): () => unknown {
  const x = torch.tensor(nested(data, rows, cols));
  const sm = new torch.nn.Softmax();
  return () => sm.forward(x, -1);
}

/** A decoder like nn.GPT from js-pytorch's own Embedding, PositionalEmbedding, Block and LayerNorm. */
class Decoder extends torch.nn.Module {
  constructor() {
    super();
    this.embed = new torch.nn.Embedding(GPT.vocab, GPT.dModel);
    this.pos = new torch.nn.PositionalEmbedding(GPT.context, GPT.dModel);
    for (let i = 0; i < GPT.layers; i++) this[`b${i}`] = new torch.nn.Block(GPT.dModel, GPT.dModel, GPT.heads, GPT.context, 0);
    this.ln = new torch.nn.LayerNorm(GPT.dModel);
    this.head = new torch.nn.Linear(GPT.dModel, GPT.vocab);
  }
  forward(x: JsTensor): JsTensor {
    let z = torch.add(this.embed.forward(x), this.pos.forward(x));
    for (let i = 0; i < GPT.layers; i++) z = this[`b${i}`].forward(z);
    return this.head.forward(this.ln.forward(z));
  }
}

export function gptStep(batch: GptBatch): () => number {
  const model = new Decoder();
  const lossFn = new torch.nn.CrossEntropyLoss();
  const opt = new torch.optim.Adam(model.parameters(), 3e-4, 0);
  const ids = torch.tensor(Array.from({ length: GPT.batch }, (_, b) => Array.from({ length: GPT.context }, (_, t) => [batch.ids[b * GPT.context + t]!])));
  const targets = torch.tensor(nested(batch.targets, GPT.batch, GPT.context));
  return () => {
    const loss = lossFn.forward(model.forward(ids), targets);
    loss.backward();
    opt.step();
    opt.zero_grad();
    return loss.data[0] as number;
  };
}
