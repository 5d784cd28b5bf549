/**
 * VGG (Simonyan & Zisserman 2015), configurable, in torchvision's layout so state-dict names
 * match: `features` is a Sequential of Conv2d(3x3, padding 1) [, norm], ReLU and MaxPool2d(2)
 * modules (indices count every module, as torchvision's `make_layers`), then global average
 * pooling and one Linear `classifier`.
 *
 * Widths are `multiple x baseWidth x width`. The default configuration is VGG-11
 * ([1, M, 2, M, 4, 4, M, 8, 8, M, 8, 8, M]) with baseWidth 16, i.e. a quarter of torchvision's
 * channels at width 1 (16 ... 128), small enough to train on MNIST on two cores;
 * `baseWidth: 64` gives the original 64 ... 512. A pool that would shrink a map below 1x1 is
 * left out (on 28x28 MNIST the fifth pool of VGG-11 is), so the same configuration serves
 * 1x28x28 and 3x32x32 input. The global average pool (instead of torchvision's 7x7 pool and
 * three Linear layers) makes the classifier's input exactly the last conv's channels.
 */
import type { Tensor } from '@tsgrad/autograd';
import * as nd from '@tsgrad/tensor';
import type { RandomSource } from '../init.ts';
import { ReLU } from '../layers/activation.ts';
import { BatchNorm2d, LayerNorm2d } from '../layers/batch-norm.ts';
import { Conv2d } from '../layers/conv.ts';
import { Flatten } from '../layers/flatten.ts';
import { Linear } from '../layers/linear.ts';
import { AdaptiveAvgPool2d, MaxPool2d } from '../layers/pool.ts';
import { Sequential } from '../layers/sequential.ts';
import { Module } from '../module.ts';

/** Normalisation after each convolution: BatchNorm2d, LayerNorm2d (over channels) or none. */
export type ConvNorm = 'batch' | 'layer' | 'none';

/** VGG-11's layers: channel multiples of the base width, 'M' for a 2x2 max pool. */
export const VGG11_CFG: readonly (number | 'M')[] = [1, 'M', 2, 'M', 4, 4, 'M', 8, 8, 'M', 8, 8, 'M'];

export interface VGGOptions extends RandomSource {
  /** The layers (default {@link VGG11_CFG}). */
  cfg?: readonly (number | 'M')[];
  /** Width multiplier (default 1). */
  width?: number;
  /** Channels of multiple 1 at width 1 (default 16; torchvision's VGG uses 64). */
  baseWidth?: number;
  /** Default 'batch'. */
  norm?: ConvNorm;
  /** Input channels (default 3; 1 for MNIST). */
  inChannels?: number;
  /** Input height and width, used only to leave out pools of a 1x1 map (default 32). */
  inputSize?: number;
  numClasses?: number;
  dtype?: 'float32' | 'float64';
}

/**
 * The normalisation module for `channels`, or null for 'none'.
 * @example convNorm('batch', 16, 'float32'); // BatchNorm2d(16)
 */
export function convNorm(norm: ConvNorm, channels: number, dtype: 'float32' | 'float64'): Module | null {
  if (norm === 'batch') return new BatchNorm2d(channels, { dtype });
  if (norm === 'layer') return new LayerNorm2d(channels, { dtype });
  if (norm === 'none') return null;
  throw new Error(`convNorm: norm must be 'batch', 'layer' or 'none', got '${norm as string}'`);
}

/**
 * A configurable VGG (see the file comment). Input [N, inChannels, H, W], output logits
 * [N, numClasses].
 * @example
 * const vgg = new VGG({ inChannels: 1, inputSize: 28, norm: 'batch', seed: 0 });
 * vgg.call(x).shape; // x [8, 1, 28, 28] -> [8, 10]
 * Object.keys(vgg.stateDict())[0]; // 'features.0.weight'
 */
export class VGG extends Module {
  readonly norm: ConvNorm;
  /** Channels of each convolution, in order. */
  readonly widths: number[];
  features: Sequential;
  avgpool: AdaptiveAvgPool2d;
  flatten: Flatten;
  classifier: Linear;

  constructor(opts: VGGOptions = {}) {
    super();
    const { cfg = VGG11_CFG, width = 1, baseWidth = 16, norm = 'batch', inChannels = 3, inputSize = 32, numClasses = 10, dtype = 'float32' } = opts;
    if (!(width > 0) || !(baseWidth > 0)) throw new RangeError(`VGG: width (${width}) and baseWidth (${baseWidth}) must be positive`);
    const rng = opts.rng ?? nd.rngFor(opts.seed);
    this.norm = norm;
    this.widths = [];
    const layers: Module[] = [];
    let c = inChannels;
    let size = inputSize;
    for (const entry of cfg) {
      if (entry === 'M') {
        if (size >= 2) layers.push(new MaxPool2d(2));
        size = Math.max(1, Math.floor(size / 2));
        continue;
      }
      const out = Math.max(1, Math.round(entry * baseWidth * width));
      layers.push(new Conv2d(c, out, 3, { padding: 1, rng, dtype }));
      const n = convNorm(norm, out, dtype);
      if (n) layers.push(n);
      layers.push(new ReLU());
      this.widths.push(out);
      c = out;
    }
    if (this.widths.length === 0) throw new Error('VGG: the configuration has no convolution');
    this.features = this.registerModule('features', new Sequential(...layers));
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d(1));
    this.flatten = this.registerModule('flatten', new Flatten());
    this.classifier = this.registerModule('classifier', new Linear(c, numClasses, { rng, dtype }));
  }

  override forward(x: Tensor): Tensor {
    return this.classifier.call(this.flatten.call(this.avgpool.call(this.features.call(x))));
  }

  override extraRepr(): string {
    return `widths=[${this.widths.join(', ')}], norm='${this.norm}'`;
  }
}
