/**
 * Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2
 * weight decay, following the algorithm box of torch.optim.SGD:
 *   g = grad (+ weightDecay * p)
 *   b = g                          on the first step with momentum
 *   b = momentum * b + (1 - dampening) * g   afterwards
 *   g = g + momentum * b  (Nesterov)   or   g = b
 *   p = p - lr * g
 */
import type { Tensor } from '@tsgrad/autograd';
import { Optimizer, paramArray, type GroupSpec, type ParamGroup, type ParamState } from './optimizer.ts';

export interface SGDOptions {
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
  /** Ascend instead of descend. */
  maximize: boolean;
}

/**
 * @example
 * const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true });
 * loss.backward(); opt.step(); opt.zeroGrad();
 */
export class SGD extends Optimizer<SGDOptions> {
  constructor(params: Iterable<Tensor> | Iterable<GroupSpec<SGDOptions>>, opts: Partial<SGDOptions> = {}) {
    super(params, { lr: 1e-3, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, maximize: false, ...opts });
  }

  protected override validate(g: ParamGroup<SGDOptions>): void {
    super.validate(g);
    if (!(g.momentum >= 0)) throw new RangeError(`SGD: invalid momentum ${g.momentum}`);
    if (!(g.weightDecay >= 0)) throw new RangeError(`SGD: invalid weightDecay ${g.weightDecay}`);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) throw new RangeError('SGD: Nesterov momentum requires a momentum and zero dampening');
  }

  protected override update(p: Tensor, group: ParamGroup<SGDOptions>, s: ParamState): void {
    const { lr, momentum, dampening, nesterov, weightDecay: wd, maximize } = group;
    const w = paramArray(p, 'SGD');
    const g = this.gradValues(p, 'SGD');
    const n = w.length;
    const sign = maximize ? -1 : 1;
    if (momentum === 0) {
      for (let i = 0; i < n; i++) w[i] = w[i]! - lr * (sign * g[i]! + wd * w[i]!);
      s.step++;
      return;
    }
    const first = s.buffers.momentum === undefined;
    const buf = this.stateFor(p, ['momentum']).buffers.momentum!;
    for (let i = 0; i < n; i++) {
      const d = sign * g[i]! + wd * w[i]!;
      const b = first ? d : momentum * buf[i]! + (1 - dampening) * d;
      buf[i] = b;
      w[i] = w[i]! - lr * (nesterov ? d + momentum * b : b);
    }
    s.step++;
  }
}
