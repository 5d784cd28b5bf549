/**
 * 2-D convolution as a module, with PyTorch's layout, names and default init.
 */
import { conv2d, Tensor, type Conv2dOptions, type Pair } from '@tsgrad/autograd';
import * as nd from '@tsgrad/tensor';
import { linearDefault, type RandomSource } from '../init.ts';
import { Module } from '../module.ts';

export interface Conv2dLayerOptions extends Conv2dOptions, RandomSource {
  /** Add a learned bias per output channel (default true). */
  bias?: boolean;
  dtype?: 'float32' | 'float64';
}

function kernelPair(k: Pair): [number, number] {
  const p: [number, number] = typeof k === 'number' ? [k, k] : [k[0], k[1]];
  if (p.some((v) => !Number.isInteger(v) || v < 1)) throw new RangeError(`Conv2d: kernelSize must be a positive integer or a pair of them, got ${JSON.stringify(k)}`);
  return p;
}

/**
 * torch.nn.Conv2d: `weight` [outChannels, inChannels / groups, kh, kw], `bias` [outChannels];
 * input [N, inChannels, H, W] (or [inChannels, H, W]). Options (stride, padding incl. 'same' /
 * 'valid', dilation, groups) as autograd's `conv2d`.
 *
 * Init as PyTorch: kaiming_uniform with a = sqrt(5), i.e. weight ~ U(-1/sqrt(fanIn),
 * 1/sqrt(fanIn)) with fanIn = inChannels / groups * kh * kw, and the bias from the same bound;
 * the weight is drawn first, then the bias, from one stream.
 * @example
 * const conv = new Conv2d(1, 16, 3, { padding: 1, seed: 0 });
 * conv.call(x).shape; // x [8, 1, 28, 28] -> [8, 16, 28, 28]
 */
export class Conv2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly options: Conv2dOptions;
  weight: Tensor;
  bias: Tensor | null;

  constructor(inChannels: number, outChannels: number, kernelSize: Pair, opts: Conv2dLayerOptions = {}) {
    super();
    const groups = opts.groups ?? 1;
    if (![inChannels, outChannels, groups].every((v) => Number.isInteger(v) && v >= 1) || inChannels % groups !== 0 || outChannels % groups !== 0) {
      throw new RangeError(`Conv2d: inChannels (${inChannels}) and outChannels (${outChannels}) must be positive integers divisible by groups (${groups})`);
    }
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = kernelPair(kernelSize);
    this.options = { stride: opts.stride ?? 1, padding: opts.padding ?? 0, dilation: opts.dilation ?? 1, groups };
    const dtype = opts.dtype ?? 'float32';
    const rng = opts.rng ?? nd.rngFor(opts.seed);
    const fanIn = (inChannels / groups) * this.kernelSize[0] * this.kernelSize[1];
    const w = new Tensor(nd.zeros([outChannels, inChannels / groups, ...this.kernelSize], dtype), true);
    linearDefault(w, fanIn, { rng });
    this.weight = this.registerParameter('weight', w);
    let b: Tensor | null = null;
    if (opts.bias ?? true) {
      b = new Tensor(nd.zeros([outChannels], dtype), true);
      linearDefault(b, fanIn, { rng });
    }
    this.bias = this.registerParameter('bias', b);
  }

  override forward(x: Tensor): Tensor {
    const c = x.shape[x.ndim - 3];
    if ((x.ndim !== 4 && x.ndim !== 3) || c !== this.inChannels) {
      throw new Error(`Conv2d: expected input [N, ${this.inChannels}, H, W] or [${this.inChannels}, H, W], got [${x.shape.join(', ')}]`);
    }
    return conv2d(x, this.weight, this.bias, this.options);
  }

  override extraRepr(): string {
    const o = this.options;
    return `${this.inChannels}, ${this.outChannels}, kernelSize=[${this.kernelSize.join(', ')}], stride=${JSON.stringify(o.stride)}, padding=${JSON.stringify(o.padding)}, dilation=${JSON.stringify(o.dilation)}, groups=${o.groups}, bias=${this.bias !== null}`;
  }
}
