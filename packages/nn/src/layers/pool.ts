/**
 * Pooling layers over NCHW input (torch.nn.MaxPool2d, AvgPool2d, AdaptiveAvgPool2d); they hold
 * no parameters and only carry their options to autograd's functional ops.
 */
import { adaptiveAvgPool2d, avgPool2d, maxPool2d, type Pair, type Pool2dOptions, type Tensor } from '@tsgrad/autograd';
import { Module } from '../module.ts';

/** Pooling options without the kernel size (given positionally, as in PyTorch). */
export type PoolLayerOptions = Omit<Pool2dOptions, 'kernelSize'>;

/**
 * The maximum over each kernelSize window (stride defaults to kernelSize).
 * @example new MaxPool2d(2).call(x) // [N, C, 28, 28] -> [N, C, 14, 14]
 */
export class MaxPool2d extends Module {
  readonly options: Pool2dOptions;
  constructor(kernelSize: Pair, opts: PoolLayerOptions = {}) {
    super();
    this.options = { ...opts, kernelSize };
  }
  override forward(x: Tensor): Tensor {
    return maxPool2d(x, this.options);
  }
  override extraRepr(): string {
    return JSON.stringify(this.options);
  }
}

/**
 * The mean over each kernelSize window (stride defaults to kernelSize; padded zeros count in
 * the divisor unless `countIncludePad: false`, as PyTorch).
 * @example new AvgPool2d(2).call(x) // [N, C, 28, 28] -> [N, C, 14, 14]
 */
export class AvgPool2d extends Module {
  readonly options: Pool2dOptions;
  constructor(kernelSize: Pair, opts: PoolLayerOptions = {}) {
    super();
    this.options = { ...opts, kernelSize };
  }
  override forward(x: Tensor): Tensor {
    return avgPool2d(x, this.options);
  }
  override extraRepr(): string {
    return JSON.stringify(this.options);
  }
}

/**
 * Average pooling to a fixed output size whatever the input's; `new AdaptiveAvgPool2d(1)` is
 * global average pooling. `null` keeps that axis's size.
 * @example new AdaptiveAvgPool2d(1).call(x) // [N, C, 7, 7] -> [N, C, 1, 1]
 */
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: number | readonly [number | null, number | null]) {
    super();
  }
  override forward(x: Tensor): Tensor {
    return adaptiveAvgPool2d(x, this.outputSize);
  }
  override extraRepr(): string {
    return `outputSize=${JSON.stringify(this.outputSize)}`;
  }
}
