/**
 * Multi-layer perceptron: a stack of Linear layers with one activation between
 * consecutive layers (none after the last).
 */
import type { Tensor } from '@tsgrad/autograd';
import * as nd from '@tsgrad/tensor';
import { Module } from '../module.ts';
import { activationFn, type ActivationName } from './activation.ts';
import { Dropout } from './dropout.ts';
import { Linear } from './linear.ts';
import { ModuleList } from './sequential.ts';

export interface MLPOptions {
  activation?: ActivationName;
  /** Dropout after each hidden activation (default 0: no Dropout modules). */
  dropout?: number;
  bias?: boolean;
  seed?: number;
  dtype?: 'float32' | 'float64';
}

/**
 * `new MLP([784, 512, 512, 10])` is Linear(784, 512) -> act -> Linear(512, 512) -> act
 * -> Linear(512, 10). Names are deliberately plain for permutation specs: the only
 * parameters are `layers.<i>.weight` (shape [sizes[i+1], sizes[i]]) and
 * `layers.<i>.bias`; the activation is applied functionally, and Dropout (if any)
 * lives in `drop`, which has no parameters. Hidden unit j of layer i is row j of
 * `layers.<i>.weight`, entry j of `layers.<i>.bias` and column j of `layers.<i+1>.weight`.
 * Layers are initialised as torch.nn.Linear from one stream seeded by `seed`.
 * @example const net = new MLP([784, 512, 512, 10], { activation: 'relu', seed: 0 });
 */
export class MLP extends Module {
  readonly sizes: number[];
  readonly activation: ActivationName;
  /** The Linear layers (typed as Linear; a wrapper set with setSubmodule takes its place at run time). */
  layers: ModuleList<Linear>;
  drop: Dropout | null;
  private act: (x: Tensor) => Tensor;

  constructor(sizes: readonly number[], opts: MLPOptions = {}) {
    super();
    if (sizes.length < 2) throw new Error(`MLP: need at least an input and an output size, got [${sizes.join(', ')}]`);
    this.sizes = [...sizes];
    this.activation = opts.activation ?? 'relu';
    this.act = activationFn(this.activation);
    const rng = new nd.Rng(opts.seed ?? nd.rngFor().nextUint32());
    const layers: Linear[] = [];
    for (let i = 0; i + 1 < sizes.length; i++) {
      layers.push(new Linear(sizes[i]!, sizes[i + 1]!, { bias: opts.bias ?? true, dtype: opts.dtype, rng }));
    }
    this.layers = this.registerModule('layers', new ModuleList<Linear>(layers));
    const p = opts.dropout ?? 0;
    this.drop = this.registerModule('drop', p > 0 ? new Dropout(p, { rng: rng.fork() }) : null);
  }

  override forward(x: Tensor): Tensor {
    let h = x;
    const n = this.layers.length;
    for (let i = 0; i < n; i++) {
      h = this.layers.get(i).call(h);
      if (i + 1 < n) {
        h = this.act(h);
        if (this.drop) h = this.drop.call(h);
      }
    }
    return h;
  }

  override extraRepr(): string {
    return `[${this.sizes.join(', ')}], activation='${this.activation}'`;
  }
}
