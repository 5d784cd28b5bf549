/**
 * The CIFAR-style ResNet-20 (He et al. 2016, Sec. 4.2): a 3x3 stem convolution, three stages of
 * basic blocks at 16, 32 and 64 channels (times `width`), the second and third starting with
 * stride 2, then global average pooling and a Linear layer. As in git-re-basin's ResNet20, the
 * width multiplier scales every stage and a block whose shape changes has a projection shortcut
 * (1x1 convolution with the block's stride, then a norm), "option B"; the norm is BatchNorm2d or
 * LayerNorm2d (over channels, git-re-basin's choice).
 *
 * Names follow torchvision's ResNet so state dicts read like PyTorch's: `conv1`, `bn1`,
 * `layer<s>.<b>.{conv1, bn1, conv2, bn2, downsample.0, downsample.1}`, `fc` (the norms keep the
 * `bn` names with LayerNorm too, as torchvision's `norm_layer` does). Convolutions have no bias
 * (a norm follows each). At width 1 it has 272,474 parameters for 3 input channels and 10
 * classes (269,722 of the original with parameter-free "option A" shortcuts, plus 2,752 for the
 * two projections).
 */
import type { Tensor } from '@tsgrad/autograd';
import * as nd from '@tsgrad/tensor';
import type { RandomSource } from '../init.ts';
import { Conv2d } from '../layers/conv.ts';
import { Flatten } from '../layers/flatten.ts';
import { Linear } from '../layers/linear.ts';
import { AdaptiveAvgPool2d } from '../layers/pool.ts';
import { Sequential } from '../layers/sequential.ts';
import { Module } from '../module.ts';
import { convNorm } from './vgg.ts';

export interface ResNetOptions extends RandomSource {
  /** Width multiplier: stages have 16, 32, 64 times `width` channels (default 1). */
  width?: number;
  /** 'batch' (default) or 'layer' (LayerNorm2d over channels). */
  norm?: 'batch' | 'layer';
  /** Basic blocks per stage (default 3: ResNet-20 = 1 + 3 x 3 x 2 + 1 layers). */
  blocksPerStage?: number;
  /** Input channels (default 3; 1 for MNIST). */
  inChannels?: number;
  numClasses?: number;
  dtype?: 'float32' | 'float64';
}

/**
 * Two 3x3 convolutions with norms, added to the (projected) input: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)).
 * @example const block = new BasicBlock(16, 32, 2, { norm: 'batch', seed: 0 }); // with a downsample projection
 */
export class BasicBlock extends Module {
  conv1: Conv2d;
  bn1: Module;
  conv2: Conv2d;
  bn2: Module;
  /** 1x1 conv + norm when the stride or the channels change; null for the identity. */
  downsample: Sequential | null;

  constructor(inChannels: number, outChannels: number, stride: number, opts: { norm: 'batch' | 'layer'; rng?: nd.Rng; seed?: number; dtype?: 'float32' | 'float64' }) {
    super();
    const rng = opts.rng ?? nd.rngFor(opts.seed);
    const dtype = opts.dtype ?? 'float32';
    this.conv1 = this.registerModule('conv1', new Conv2d(inChannels, outChannels, 3, { stride, padding: 1, bias: false, rng, dtype }));
    this.bn1 = this.registerModule('bn1', convNorm(opts.norm, outChannels, dtype)!);
    this.conv2 = this.registerModule('conv2', new Conv2d(outChannels, outChannels, 3, { padding: 1, bias: false, rng, dtype }));
    this.bn2 = this.registerModule('bn2', convNorm(opts.norm, outChannels, dtype)!);
    const project = stride !== 1 || inChannels !== outChannels;
    this.downsample = this.registerModule(
      'downsample',
      project ? new Sequential(new Conv2d(inChannels, outChannels, 1, { stride, bias: false, rng, dtype }), convNorm(opts.norm, outChannels, dtype)!) : null,
    );
  }

  override forward(x: Tensor): Tensor {
    const h = this.bn1.call(this.conv1.call(x)).relu();
    const y = this.bn2.call(this.conv2.call(h));
    return y.add(this.downsample ? this.downsample.call(x) : x).relu();
  }
}

/**
 * ResNet-20 for 32x32 (or 28x28) images, with a width multiplier (see the file comment).
 * @example
 * const net = new ResNet20({ width: 1, norm: 'batch', inChannels: 1, seed: 0 });
 * net.call(x).shape; // x [8, 1, 28, 28] -> [8, 10]
 */
export class ResNet20 extends Module {
  readonly norm: 'batch' | 'layer';
  /** Channels of the three stages. */
  readonly widths: [number, number, number];
  conv1: Conv2d;
  bn1: Module;
  layer1: Sequential;
  layer2: Sequential;
  layer3: Sequential;
  avgpool: AdaptiveAvgPool2d;
  flatten: Flatten;
  fc: Linear;

  constructor(opts: ResNetOptions = {}) {
    super();
    const { width = 1, norm = 'batch', blocksPerStage = 3, inChannels = 3, numClasses = 10, dtype = 'float32' } = opts;
    if (!(width > 0)) throw new RangeError(`ResNet20: width must be positive, got ${width}`);
    if (!Number.isInteger(blocksPerStage) || blocksPerStage < 1) throw new RangeError(`ResNet20: blocksPerStage must be a positive integer, got ${blocksPerStage}`);
    if (norm !== 'batch' && norm !== 'layer') throw new Error(`ResNet20: norm must be 'batch' or 'layer', got '${norm as string}'`);
    const rng = opts.rng ?? nd.rngFor(opts.seed);
    this.norm = norm;
    this.widths = [16, 32, 64].map((c) => Math.max(1, Math.round(c * width))) as [number, number, number];
    this.conv1 = this.registerModule('conv1', new Conv2d(inChannels, this.widths[0], 3, { padding: 1, bias: false, rng, dtype }));
    this.bn1 = this.registerModule('bn1', convNorm(norm, this.widths[0], dtype)!);
    const stage = (cin: number, cout: number, stride: number) =>
      new Sequential(...Array.from({ length: blocksPerStage }, (_, b) => new BasicBlock(b === 0 ? cin : cout, cout, b === 0 ? stride : 1, { norm, rng, dtype })));
    this.layer1 = this.registerModule('layer1', stage(this.widths[0], this.widths[0], 1));
    this.layer2 = this.registerModule('layer2', stage(this.widths[0], this.widths[1], 2));
    this.layer3 = this.registerModule('layer3', stage(this.widths[1], this.widths[2], 2));
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d(1));
    this.flatten = this.registerModule('flatten', new Flatten());
    this.fc = this.registerModule('fc', new Linear(this.widths[2], numClasses, { rng, dtype }));
  }

  override forward(x: Tensor): Tensor {
    const h = this.bn1.call(this.conv1.call(x)).relu();
    const f = this.layer3.call(this.layer2.call(this.layer1.call(h)));
    return this.fc.call(this.flatten.call(this.avgpool.call(f)));
  }

  override extraRepr(): string {
    return `widths=[${this.widths.join(', ')}], norm='${this.norm}'`;
  }
}
