/**
 * Activation functions as modules, so they can sit in a `Sequential` and carry hooks.
 */
import type { Tensor } from '@tsgrad/autograd';
import { Module } from '../module.ts';

/** max(x, 0). @example new ReLU().call(x) */
export class ReLU extends Module {
  override forward(x: Tensor): Tensor {
    return x.relu();
  }
}

/**
 * GELU (Hendrycks & Gimpel 2016): exact x Phi(x) by default, or the tanh
 * approximation GPT-2 used with `'tanh'`.
 * @example new GELU('tanh').call(x)
 */
export class GELU extends Module {
  constructor(readonly approximate: 'none' | 'tanh' = 'none') {
    super();
  }
  override forward(x: Tensor): Tensor {
    return x.gelu(this.approximate);
  }
  override extraRepr(): string {
    return `approximate='${this.approximate}'`;
  }
}

/** SiLU / swish: x sigmoid(x). @example new SiLU().call(x) */
export class SiLU extends Module {
  override forward(x: Tensor): Tensor {
    return silu(x);
  }
}

/** tanh(x). */
export class Tanh extends Module {
  override forward(x: Tensor): Tensor {
    return x.tanh();
  }
}

/** The logistic sigmoid. */
export class Sigmoid extends Module {
  override forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}

/** x passed through unchanged (a placeholder, e.g. to remove a layer by name). */
export class Identity extends Module {
  override forward(x: Tensor): Tensor {
    return x;
  }
}

/** x sigmoid(x), the functional SiLU. */
export function silu(x: Tensor): Tensor {
  return x.mul(x.sigmoid());
}

/** Names accepted where an activation is configured by string. */
export type ActivationName = 'relu' | 'gelu' | 'gelu_tanh' | 'silu' | 'tanh' | 'sigmoid' | 'identity';

/** The functional form of a named activation. */
export function activationFn(name: ActivationName): (x: Tensor) => Tensor {
  switch (name) {
    case 'relu':
      return (x) => x.relu();
    case 'gelu':
      return (x) => x.gelu('none');
    case 'gelu_tanh':
      return (x) => x.gelu('tanh');
    case 'silu':
      return silu;
    case 'tanh':
      return (x) => x.tanh();
    case 'sigmoid':
      return (x) => x.sigmoid();
    case 'identity':
      return (x) => x;
    default:
      throw new Error(`activation: unknown name '${name as string}' (relu, gelu, gelu_tanh, silu, tanh, sigmoid, identity)`);
  }
}
