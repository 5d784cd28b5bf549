/**
 * Lookup table of learned vectors, indexed by int32 ids.
 */
import { Tensor } from '@tsgrad/autograd';
import * as nd from '@tsgrad/tensor';
import { normal, type RandomSource } from '../init.ts';
import { Module } from '../module.ts';

export interface EmbeddingOptions extends RandomSource {
  dtype?: 'float32' | 'float64';
  /** Std of the N(0, std^2) init; 1 by default, as torch.nn.Embedding. */
  std?: number;
}

/**
 * `weight[ids]`: ids of any shape (int32) map to vectors, output `[...ids.shape, dim]`.
 * Init N(0, 1) as in PyTorch. The backward pass index-adds rows, so repeated ids
 * accumulate their gradients. Every id must lie in [0, numEmbeddings): a negative or
 * too-large id throws a RangeError naming it and the vocabulary size (as PyTorch's
 * "index out of range in self"; -1 does not pick the last row).
 * @example
 * const emb = new Embedding(65, 32, { seed: 0 });
 * emb.call(tensor([[1, 2, 3]], { dtype: 'int32' })); // [1, 3, 32]
 */
export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  weight: Tensor;

  constructor(numEmbeddings: number, embeddingDim: number, opts: EmbeddingOptions = {}) {
    super();
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    const w = new Tensor(nd.zeros([numEmbeddings, embeddingDim], opts.dtype ?? 'float32'), true);
    normal(w, 0, opts.std ?? 1, opts);
    this.weight = this.registerParameter('weight', w);
  }

  override forward(ids: Tensor): Tensor {
    if (ids.dtype !== 'int32') throw new TypeError(`Embedding: ids must be int32, got ${ids.dtype} of shape [${ids.shape.join(', ')}]`);
    const flat = ids.data.reshape([ids.size]);
    checkIds(flat, this.numEmbeddings);
    return this.weight.indexSelect(0, flat).reshape([...ids.shape, this.embeddingDim]);
  }

  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}`;
  }
}

/** Throws on the first id outside [0, vocab), naming it, its position and the vocabulary size. */
function checkIds(flat: nd.NDArray, vocab: number): void {
  const ids = flat.toTyped();
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (id < 0 || id >= vocab) {
      throw new RangeError(`Embedding: id ${id} at position ${i} is out of range for a vocabulary of ${vocab} (ids lie in [0, ${vocab - 1}])`);
    }
  }
}
