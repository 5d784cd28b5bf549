/**
 * Gradient clipping, as torch.nn.utils.clip_grad_norm_ / clip_grad_value_.
 */
import { Tensor } from '@tsgrad/autograd';
import * as nd from '@tsgrad/tensor';
import { gradArray } from './optimizer.ts';

/**
 * Rescales the gradients of `params` so that their joint norm (over all of them, as
 * if concatenated) is at most `maxNorm`, and returns the norm before clipping. The
 * scale is maxNorm / (norm + 1e-6), applied only when it is below 1.
 * New gradient arrays are written (not the old ones in place), because a gradient
 * array may be shared by several parameters after backward.
 * @example const norm = clipGradNorm(model.parameters(), 1.0);
 */
export function clipGradNorm(
  params: Iterable<Tensor>,
  maxNorm: number,
  opts: { normType?: number; errorIfNonfinite?: boolean } = {},
): number {
  const { normType = 2, errorIfNonfinite = false } = opts;
  const withGrad = [...params].filter((p) => p.grad !== null);
  let total = 0;
  for (const p of withGrad) {
    const g = gradArray(p, 'clipGradNorm');
    if (normType === Infinity) {
      for (let i = 0; i < g.length; i++) total = Math.max(total, Math.abs(g[i]!));
    } else {
      for (let i = 0; i < g.length; i++) total += Math.abs(g[i]!) ** normType;
    }
  }
  if (normType !== Infinity) total **= 1 / normType;
  if (!Number.isFinite(total) && errorIfNonfinite) {
    throw new Error(`clipGradNorm: the total norm of order ${normType} of the gradients is ${total}`);
  }
  const coef = maxNorm / (total + 1e-6);
  if (coef < 1) {
    for (const p of withGrad) {
      const g = gradArray(p, 'clipGradNorm');
      const out = nd.zeros(p.grad!.shape, p.grad!.dtype);
      const o = out.data;
      for (let i = 0; i < g.length; i++) o[i] = g[i]! * coef;
      p.grad = new Tensor(out);
    }
  }
  return total;
}

/**
 * Clamps every gradient element to [-clipValue, clipValue].
 * @example clipGradValue(model.parameters(), 0.5);
 */
export function clipGradValue(params: Iterable<Tensor>, clipValue: number): void {
  for (const p of params) {
    if (p.grad === null) continue;
    const g = gradArray(p, 'clipGradValue');
    const out = nd.zeros(p.grad.shape, p.grad.dtype);
    const o = out.data;
    for (let i = 0; i < g.length; i++) o[i] = Math.min(clipValue, Math.max(-clipValue, g[i]!));
    p.grad = new Tensor(out);
  }
}
