/**
 * Fully connected layer y = x W^T + b with PyTorch's layout and default init.
 */
import { linear, Tensor } from '@tsgrad/autograd';
import * as nd from '@tsgrad/tensor';
import { linearDefault, type RandomSource } from '../init.ts';
import { Module } from '../module.ts';

export interface LinearOptions extends RandomSource {
  /** Add a learned bias (default true). */
  bias?: boolean;
  dtype?: 'float32' | 'float64';
}

/**
 * `y = x W^T + b` over the last axis of x. `weight` has shape (outFeatures,
 * inFeatures) as in PyTorch. Init as torch.nn.Linear: kaiming_uniform with a = sqrt(5),
 * i.e. W ~ U(-1/sqrt(in), 1/sqrt(in)), and b ~ U(-1/sqrt(in), 1/sqrt(in)); the
 * weight is drawn first, then the bias, from one stream.
 * @example
 * const fc = new Linear(784, 10, { seed: 0 });
 * const y = fc.call(x); // [batch, 784] -> [batch, 10]
 */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Tensor;
  bias: Tensor | null;

  constructor(inFeatures: number, outFeatures: number, opts: LinearOptions = {}) {
    super();
    if (!Number.isInteger(inFeatures) || !Number.isInteger(outFeatures) || inFeatures < 0 || outFeatures < 0) {
      throw new RangeError(`Linear: features must be non-negative integers, got (${inFeatures}, ${outFeatures})`);
    }
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const dtype = opts.dtype ?? 'float32';
    const rng = opts.rng ?? nd.rngFor(opts.seed);
    const w = new Tensor(nd.zeros([outFeatures, inFeatures], dtype), true);
    linearDefault(w, inFeatures, { rng });
    this.weight = this.registerParameter('weight', w);
    let b: Tensor | null = null;
    if (opts.bias ?? true) {
      b = new Tensor(nd.zeros([outFeatures], dtype), true);
      linearDefault(b, inFeatures, { rng });
    }
    this.bias = this.registerParameter('bias', b);
  }

  override forward(x: Tensor): Tensor {
    if (x.shape[x.ndim - 1] !== this.inFeatures) {
      throw new Error(`Linear: input of shape [${x.shape.join(', ')}] does not end in inFeatures = ${this.inFeatures}`);
    }
    // Leading axes are folded into one so forward and backward are single 2-D
    // matmuls (a batched matmul against a broadcast weight would sum B partial dW).
    const flat = x.ndim === 2 ? x : x.reshape([-1, this.inFeatures]);
    // linear(): the bias is added into the product's own storage (same values as matmul + add)
    const y = linear(flat, this.weight, this.bias);
    return x.ndim === 2 ? y : y.reshape([...x.shape.slice(0, -1), this.outFeatures]);
  }

  override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}
