/**
 * Normalisation layers for feature maps: BatchNorm1d / BatchNorm2d (Ioffe & Szegedy 2015, as
 * torch.nn), and LayerNorm2d, a LayerNorm over the channels of each position of an NCHW map
 * (what git-re-basin's ResNet uses in place of BatchNorm: Flax's LayerNorm normalises the last,
 * channel axis of NHWC, and it keeps the model's function independent of the batch).
 */
import { batchNorm, layerNorm, Tensor } from '@tsgrad/autograd';
import * as nd from '@tsgrad/tensor';
import { Module } from '../module.ts';

export interface BatchNormLayerOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /**
   * Weight of each batch in the running statistics (default 0.1). `null` gives the cumulative
   * average over all batches since the last `resetRunningStats()` (factor 1 / num_batches_tracked),
   * as PyTorch's momentum=None; resetting statistics after weight interpolation uses it.
   */
  momentum?: number | null;
  /** Learn a per-channel `weight` (init 1) and `bias` (init 0) (default true). */
  affine?: boolean;
  /** Keep `running_mean`, `running_var`, `num_batches_tracked` buffers (default true). */
  trackRunningStats?: boolean;
  dtype?: 'float32' | 'float64';
}

/**
 * The shared body of BatchNorm1d and BatchNorm2d (torch.nn.modules.batchnorm._BatchNorm).
 * State dict: `weight`, `bias` [C]; buffers `running_mean` [C] (init 0), `running_var` [C]
 * (init 1), `num_batches_tracked` (int32 scalar; PyTorch's is int64 and loads either).
 */
export abstract class BatchNormBase extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  momentum: number | null;
  weight: Tensor | null;
  bias: Tensor | null;
  running_mean: Tensor | null;
  running_var: Tensor | null;
  num_batches_tracked: Tensor | null;
  protected abstract readonly ranks: readonly number[];

  constructor(numFeatures: number, opts: BatchNormLayerOptions = {}) {
    super();
    if (!Number.isInteger(numFeatures) || numFeatures < 1) throw new RangeError(`${this.constructor.name}: numFeatures must be a positive integer, got ${numFeatures}`);
    this.numFeatures = numFeatures;
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
    if (!(this.eps >= 0) || (this.momentum !== null && !(this.momentum >= 0 && this.momentum <= 1))) {
      throw new RangeError(`${this.constructor.name}: eps (${this.eps}) must be >= 0 and momentum (${this.momentum}) in [0, 1] or null`);
    }
    const dtype = opts.dtype ?? 'float32';
    const affine = opts.affine ?? true;
    const track = opts.trackRunningStats ?? true;
    this.weight = this.registerParameter('weight', affine ? new Tensor(nd.ones([numFeatures], dtype), true) : null);
    this.bias = this.registerParameter('bias', affine ? new Tensor(nd.zeros([numFeatures], dtype), true) : null);
    this.running_mean = this.registerBuffer('running_mean', track ? new Tensor(nd.zeros([numFeatures], dtype)) : null);
    this.running_var = this.registerBuffer('running_var', track ? new Tensor(nd.ones([numFeatures], dtype)) : null);
    this.num_batches_tracked = this.registerBuffer('num_batches_tracked', track ? new Tensor(nd.zeros([], 'int32')) : null);
  }

  /**
   * Running mean 0, running variance 1, zero batches tracked (PyTorch's reset_running_stats).
   * @example bn.resetRunningStats(); bn.momentum = null; // then forward batches in train mode
   */
  resetRunningStats(): void {
    if (this.running_mean) this.running_mean.data.data.fill(0);
    if (this.running_var) this.running_var.data.data.fill(1);
    if (this.num_batches_tracked) this.num_batches_tracked.data.data[0] = 0;
  }

  override forward(x: Tensor): Tensor {
    if (!this.ranks.includes(x.ndim) || x.shape[1] !== this.numFeatures) {
      const want = this.ranks.map((r) => `[N, ${this.numFeatures}${', _'.repeat(r - 2)}]`).join(' or ');
      throw new Error(`${this.constructor.name}: expected input ${want}, got [${x.shape.join(', ')}]`);
    }
    // Batch statistics in training mode, and also in eval mode without running statistics.
    const useBatch = this.training || this.running_mean === null;
    const updating = this.training && this.num_batches_tracked !== null;
    const tracked = updating ? this.num_batches_tracked!.data.data[0]! + 1 : 0;
    const momentum = this.momentum ?? (updating ? 1 / tracked : 0);
    // (the running statistics are null exactly when batch statistics are used without tracking)
    const y = batchNorm(x, this.running_mean, this.running_var, this.weight, this.bias, { training: useBatch, momentum, eps: this.eps });
    // counted only after the forward succeeded, so a failing call changes nothing
    if (updating) this.num_batches_tracked!.data.data[0] = tracked;
    return y;
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.weight !== null}, trackRunningStats=${this.running_mean !== null}`;
  }
}

/**
 * Batch norm over [N, C] or [N, C, L] input (torch.nn.BatchNorm1d): per feature, normalise with
 * the batch's mean and biased variance in training (and blend them, with the unbiased variance,
 * into the running statistics), with the running statistics in eval mode.
 * @example const bn = new BatchNorm1d(64); bn.call(h) // h [32, 64]
 */
export class BatchNorm1d extends BatchNormBase {
  protected readonly ranks = [2, 3];
}

/**
 * Batch norm over [N, C, H, W] input (torch.nn.BatchNorm2d): per channel, over the batch and
 * every position. See {@link BatchNorm1d} for the modes.
 * @example const bn = new BatchNorm2d(16); bn.call(x) // x [8, 16, 28, 28]; bn.eval() for inference
 */
export class BatchNorm2d extends BatchNormBase {
  protected readonly ranks = [4];
}

/**
 * LayerNorm over the channels of every position of an [N, C, H, W] map: y[n, :, h, w] =
 * (x - mean_c) / sqrt(var_c + eps) * weight + bias, with `weight`, `bias` [C] (init 1 and 0).
 * It is torch.nn.LayerNorm(C) applied to x.permute(0, 2, 3, 1) (the LayerNorm2d of ConvNeXt,
 * and Flax's default LayerNorm on NHWC as in git-re-basin's ResNet). It commutes with any
 * permutation of the channels, so a permutation spec treats it like BatchNorm's weight and bias.
 * @example const ln = new LayerNorm2d(16); ln.call(x) // x [8, 16, 28, 28]
 */
export class LayerNorm2d extends Module {
  readonly numChannels: number;
  readonly eps: number;
  weight: Tensor | null;
  bias: Tensor | null;

  constructor(numChannels: number, opts: { eps?: number; affine?: boolean; dtype?: 'float32' | 'float64' } = {}) {
    super();
    if (!Number.isInteger(numChannels) || numChannels < 1) throw new RangeError(`LayerNorm2d: numChannels must be a positive integer, got ${numChannels}`);
    this.numChannels = numChannels;
    this.eps = opts.eps ?? 1e-5;
    const dtype = opts.dtype ?? 'float32';
    const affine = opts.affine ?? true;
    this.weight = this.registerParameter('weight', affine ? new Tensor(nd.ones([numChannels], dtype), true) : null);
    this.bias = this.registerParameter('bias', affine ? new Tensor(nd.zeros([numChannels], dtype), true) : null);
  }

  override forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.numChannels) {
      throw new Error(`LayerNorm2d: expected input [N, ${this.numChannels}, H, W], got [${x.shape.join(', ')}]`);
    }
    const nhwc = x.permute([0, 2, 3, 1]);
    return layerNorm(nhwc, [this.numChannels], this.weight, this.bias, this.eps).permute([0, 3, 1, 2]);
  }

  override extraRepr(): string {
    return `${this.numChannels}, eps=${this.eps}, affine=${this.weight !== null}`;
  }
}
