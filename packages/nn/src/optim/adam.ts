/**
 * Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019) with PyTorch's update
 * rules (torch.optim.Adam / AdamW algorithm boxes), at step t:
 *   Adam:  g = grad + weightDecay * p          (L2 penalty folded into the gradient)
 *   AdamW: p = p * (1 - lr * weightDecay)      (decoupled decay, before the update)
 *   m = beta1 m + (1 - beta1) g,   v = beta2 v + (1 - beta2) g^2
 *   vmax = max(vmax, v)  (amsgrad; then v below means vmax)
 *   p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * The last line is how PyTorch arranges the bias corrections (eps is added after
 * dividing sqrt(v) by sqrt(1 - beta2^t)), which equals the paper's m_hat / (sqrt(v_hat) + eps).
 */
import type { Tensor } from '@tsgrad/autograd';
import * as nd from '@tsgrad/tensor';
import { gradOf, Optimizer, paramArray, type FloatArray, type GroupSpec, type ParamGroup, type ParamState } from './optimizer.ts';

export interface AdamOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;
}

function validateAdam(name: string, g: ParamGroup<AdamOptions>): void {
  const [b1, b2] = g.betas;
  if (!(g.eps >= 0)) throw new RangeError(`${name}: invalid eps ${g.eps}`);
  if (!(b1 >= 0 && b1 < 1)) throw new RangeError(`${name}: invalid beta1 ${b1}`);
  if (!(b2 >= 0 && b2 < 1)) throw new RangeError(`${name}: invalid beta2 ${b2}`);
  if (!(g.weightDecay >= 0)) throw new RangeError(`${name}: invalid weightDecay ${g.weightDecay}`);
}

/** What `adamUpdate` needs from the optimizer: the parameter's state and its dense gradient values. */
interface AdamAccess {
  stateFor(names: string[]): ParamState;
  gradValues(): FloatArray;
}

/**
 * Shared update; `decoupled` selects AdamW's weight decay. The backend's fused kernel
 * (`Backend.adamUpdate`, float32 WebAssembly SIMD on the fast backend) runs it when it
 * takes the case, giving bitwise the values of the plain loop below, which runs otherwise.
 */
function adamUpdate(name: string, p: Tensor, group: ParamGroup<AdamOptions>, decoupled: boolean, access: AdamAccess): void {
  const { lr, betas, eps, weightDecay: wd, amsgrad, maximize } = group;
  const [b1, b2] = betas;
  const s = access.stateFor(amsgrad ? ['expAvg', 'expAvgSq', 'maxExpAvgSq'] : ['expAvg', 'expAvgSq']);
  const m = s.buffers.expAvg!;
  const v = s.buffers.expAvgSq!;
  const vmax = s.buffers.maxExpAvgSq;
  const w = paramArray(p, name);
  const grad = gradOf(p, name);
  const t = s.step + 1;
  const stepSize = lr / (1 - b1 ** t);
  const bc2Sqrt = Math.sqrt(1 - b2 ** t);
  const sign = maximize ? -1 : 1;
  const l2 = decoupled ? 0 : wd;
  const shrink = decoupled ? 1 - lr * wd : 1;
  const kernel = nd.getBackend().adamUpdate;
  const fused = kernel?.(w, grad, m, v, vmax ?? null, { b1, b2, l2, shrink, sign, stepSize, bc2Sqrt, eps }) === true;
  if (!fused) adamLoop(w, access.gradValues(), m, v, vmax, { b1, b2, l2, shrink, sign, stepSize, bc2Sqrt, eps });
  s.step = t;
}

/** The plain update, element by element in float64 (the reference for the fused kernels). */
function adamLoop(w: FloatArray, g: FloatArray, m: FloatArray, v: FloatArray, vmax: FloatArray | undefined, k: nd.AdamStepConstants): void {
  const { b1, b2, l2, shrink, sign, stepSize, bc2Sqrt, eps } = k;
  const n = w.length;
  for (let i = 0; i < n; i++) {
    let wi = w[i]!;
    const gi = sign * g[i]! + l2 * wi;
    wi *= shrink;
    const mi = b1 * m[i]! + (1 - b1) * gi;
    let vi = b2 * v[i]! + (1 - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    if (vmax) {
      vi = Math.max(vmax[i]!, v[i]!);
      vmax[i] = vi;
    }
    w[i] = wi - (stepSize * m[i]!) / (Math.sqrt(vi) / bc2Sqrt + eps);
  }
}

/**
 * Adam with L2 weight decay (default 0).
 * @example const opt = new Adam(model.parameters(), { lr: 3e-4 });
 */
export class Adam extends Optimizer<AdamOptions> {
  constructor(params: Iterable<Tensor> | Iterable<GroupSpec<AdamOptions>>, opts: Partial<AdamOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false, ...opts });
  }
  protected override validate(g: ParamGroup<AdamOptions>): void {
    super.validate(g);
    validateAdam('Adam', g);
  }
  protected override update(p: Tensor, group: ParamGroup<AdamOptions>): void {
    adamUpdate('Adam', p, group, false, { stateFor: (names) => this.stateFor(p, names), gradValues: () => this.gradValues(p, 'Adam') });
  }
}

/**
 * AdamW: Adam with decoupled weight decay (default 1e-2).
 * @example const opt = new AdamW(model.parameters(), { lr: 1e-3, weightDecay: 0.1 });
 */
export class AdamW extends Optimizer<AdamOptions> {
  constructor(params: Iterable<Tensor> | Iterable<GroupSpec<AdamOptions>>, opts: Partial<AdamOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false, maximize: false, ...opts });
  }
  protected override validate(g: ParamGroup<AdamOptions>): void {
    super.validate(g);
    validateAdam('AdamW', g);
  }
  protected override update(p: Tensor, group: ParamGroup<AdamOptions>): void {
    adamUpdate('AdamW', p, group, true, { stateFor: (names) => this.stateFor(p, names), gradValues: () => this.gradValues(p, 'AdamW') });
  }
}
