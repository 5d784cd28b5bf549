/**
 * Normalisation layers over the trailing axes: LayerNorm (Ba et al. 2016) and
 * RMSNorm (Zhang & Sennrich 2019). LayerNorm runs as autograd's fused `layerNorm`
 * node; RMSNorm is composed from differentiable tensor ops.
 */
import { layerNorm, Tensor } from '@tsgrad/autograd';
import * as nd from '@tsgrad/tensor';
import { Module } from '../module.ts';

export interface NormOptions {
  /** Learned per-element weight (and bias, for LayerNorm); default true. */
  elementwiseAffine?: boolean;
  /** LayerNorm only: learn a bias too (default true). */
  bias?: boolean;
  dtype?: 'float32' | 'float64';
}

function trailingAxes(shape: readonly number[], x: Tensor, op: string): number[] {
  const n = shape.length;
  const tail = x.shape.slice(x.ndim - n);
  if (x.ndim < n || !nd.shapesEqual(tail, shape)) {
    throw new Error(`${op}: input of shape [${x.shape.join(', ')}] does not end in normalizedShape [${shape.join(', ')}]`);
  }
  return Array.from({ length: n }, (_, i) => x.ndim - n + i);
}

/**
 * y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias over the last
 * `normalizedShape` axes, with the biased variance (divide by N), as torch.nn.LayerNorm.
 * @example const ln = new LayerNorm(64); ln.call(x) // x: [..., 64]
 */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;
  weight: Tensor | null;
  bias: Tensor | null;

  constructor(normalizedShape: number | readonly number[], opts: NormOptions & { eps?: number } = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    this.eps = opts.eps ?? 1e-5;
    const dtype = opts.dtype ?? 'float32';
    const affine = opts.elementwiseAffine ?? true;
    this.weight = this.registerParameter('weight', affine ? new Tensor(nd.ones(this.normalizedShape, dtype), true) : null);
    this.bias = this.registerParameter('bias', affine && (opts.bias ?? true) ? new Tensor(nd.zeros(this.normalizedShape, dtype), true) : null);
  }

  override forward(x: Tensor): Tensor {
    trailingAxes(this.normalizedShape, x, 'LayerNorm');
    // One fused graph node (autograd's layerNorm): about 5x less work than composing
    // mean, sub, mul, sqrt, div, ... forward and backward (see bench/RESULTS.md).
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }

  override extraRepr(): string {
    return `[${this.normalizedShape.join(', ')}], eps=${this.eps}, elementwiseAffine=${this.weight !== null}`;
  }
}

/**
 * y = x / sqrt(mean(x^2) + eps) * weight over the last `normalizedShape` axes, as
 * torch.nn.RMSNorm. eps defaults, like PyTorch's, to the machine epsilon of the
 * input's dtype (2^-23 for float32, 2^-52 for float64).
 * @example const rms = new RMSNorm(64); rms.call(x)
 */
export class RMSNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number | undefined;
  weight: Tensor | null;

  constructor(normalizedShape: number | readonly number[], opts: NormOptions & { eps?: number } = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    this.eps = opts.eps;
    const affine = opts.elementwiseAffine ?? true;
    this.weight = this.registerParameter('weight', affine ? new Tensor(nd.ones(this.normalizedShape, opts.dtype ?? 'float32'), true) : null);
  }

  override forward(x: Tensor): Tensor {
    const axes = trailingAxes(this.normalizedShape, x, 'RMSNorm');
    const eps = this.eps ?? (x.dtype === 'float64' ? 2 ** -52 : 2 ** -23);
    const y = x.div(x.mul(x).mean(axes, true).add(eps).sqrt());
    return this.weight ? y.mul(this.weight) : y;
  }

  override extraRepr(): string {
    return `[${this.normalizedShape.join(', ')}], eps=${this.eps ?? 'machine epsilon'}`;
  }
}
