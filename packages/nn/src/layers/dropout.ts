/**
 * Dropout (Srivastava et al. 2014), inverted: in training each element is zeroed
 * with probability p and the survivors are scaled by 1 / (1 - p), so evaluation
 * needs no rescaling and is the identity.
 */
import { constant, Tensor } from '@tsgrad/autograd';
import * as nd from '@tsgrad/tensor';
import { Module } from '../module.ts';

/**
 * Seeded dropout. Each module owns its generator, so a run with the same seed draws
 * the same masks; every training-mode call draws a fresh mask.
 * @example const drop = new Dropout(0.1, { seed: 0 }); drop.call(x); drop.eval();
 */
export class Dropout extends Module {
  readonly p: number;
  private rng: nd.Rng;

  constructor(p = 0.5, opts: { seed?: number; rng?: nd.Rng } = {}) {
    super();
    if (!(p >= 0 && p <= 1)) throw new RangeError(`Dropout: probability must be in [0, 1], got ${p}`);
    this.p = p;
    this.rng = opts.rng ?? (opts.seed === undefined ? nd.rngFor().fork() : new nd.Rng(opts.seed));
  }

  override forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    if (this.p === 1) return x.mul(0);
    return x.mul(constant(dropoutMask(x.shape, this.p, x.dtype, this.rng)));
  }

  override extraRepr(): string {
    return `p=${this.p}`;
  }
}

/** A mask of 0 and 1/(1-p) (each 0 with probability p), as an NDArray. */
export function dropoutMask(shape: readonly number[], p: number, dtype: nd.DType, rng: nd.Rng): nd.NDArray {
  const mask = nd.zeros(shape, dtype);
  const d = mask.data;
  const scale = 1 / (1 - p);
  for (let i = 0; i < d.length; i++) d[i] = rng.uniform() >= p ? scale : 0;
  return mask;
}
