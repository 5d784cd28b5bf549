/**
 * Containers whose children are named by position: `Sequential` chains them,
 * `ModuleList` only holds them (the owner decides how to call them).
 */
import type { Tensor } from '@tsgrad/autograd';
import { Module, type AnyModule } from '../module.ts';

/**
 * Children named `0`, `1`, ... in order. Iterating yields the current children, so
 * replacing one with `setSubmodule('2', m)` is seen by the owner.
 * @example const blocks = new ModuleList([new Linear(4, 4), new Linear(4, 4)]); blocks.get(0)
 */
export class ModuleList<M extends AnyModule = AnyModule> extends Module {
  private count = 0;

  constructor(modules: Iterable<M> = []) {
    super();
    for (const m of modules) this.append(m);
  }

  /** Adds a child named by its position. */
  append(module: M): this {
    this.registerModule(String(this.count++), module);
    return this;
  }

  get length(): number {
    return this.count;
  }

  /** The child at `i` (negative counts from the end). */
  get(i: number): M {
    const k = i < 0 ? i + this.count : i;
    if (!Number.isInteger(k) || k < 0 || k >= this.count) throw new RangeError(`ModuleList: index ${i} out of range for length ${this.count}`);
    return this.getSubmodule(String(k)) as M;
  }

  *[Symbol.iterator](): Iterator<M> {
    for (let i = 0; i < this.count; i++) yield this.get(i);
  }
}

/**
 * Calls its children in order, each on the previous one's output.
 * @example const net = new Sequential(new Linear(2, 8), new ReLU(), new Linear(8, 1));
 */
export class Sequential extends ModuleList<Module<[Tensor], Tensor>> {
  constructor(...modules: Module<[Tensor], Tensor>[]) {
    super(modules);
  }

  override forward(x: Tensor): Tensor {
    let h = x;
    for (const m of this) h = m.call(h);
    return h;
  }
}
