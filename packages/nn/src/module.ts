/**
 * `Module`: the base class of every layer and model.
 *
 * Registration is explicit, as with PyTorch's `register_parameter`: a module stores
 * each parameter, buffer and child in an ordinary field and tells the base class its
 * name once, in the constructor:
 *
 * ```ts
 * class Affine extends Module {
 *   weight: Tensor;
 *   inner: Linear;
 *   constructor() {
 *     super();
 *     this.weight = this.registerParameter('weight', randn([4], { requiresGrad: true }));
 *     this.inner = this.registerModule('inner', new Linear(4, 4));
 *   }
 *   override forward(x: Tensor): Tensor { return this.inner.call(x).mul(this.weight); }
 * }
 * ```
 *
 * The field is the storage and the base class only keeps the ordered names, so
 * `this.weight` and `namedParameters()` can never disagree: assigning a new tensor to
 * `module.weight`, or `setSubmodule('blocks.0.attn.q_proj', wrapper)`, changes both.
 * Fields that were never registered (caches, config) are invisible to the tree.
 *
 * Names are dotted paths from the root, as in PyTorch (`blocks.0.attn.q_proj.weight`).
 * Calls go through `call(...)`, which runs the forward pre-hooks, `forward`, then the
 * forward hooks; containers always use `call` on their children so hooks see every use.
 */
import { Tensor } from '@tsgrad/autograd';
import * as nd from '@tsgrad/tensor';
import { copyInPlace, planLoad, type LoadResult } from './state-dict.ts';

/** Any module, whatever its forward signature. */
export type AnyModule = Module<any, any>;

/** A forward argument as `call` accepts it: where `forward` takes a Tensor, an NDArray too. */
export type Liftable<T> = T extends Tensor ? T | nd.NDArray : T;
/** The arguments of `call`: those of `forward`, each Tensor also accepting an NDArray. */
export type CallArgs<In extends unknown[]> = { [K in keyof In]: Liftable<In[K]> };

/** Returned by hook registration; `remove()` unregisters the hook. */
export interface RemovableHandle {
  remove(): void;
}

/** Runs before `forward`; may return replacement arguments. */
export type ForwardPreHook<In extends unknown[]> = (module: AnyModule, args: In) => In | void;
/** Runs after `forward`; may return a replacement output. */
export type ForwardHook<In extends unknown[], Out> = (module: AnyModule, args: In, output: Out) => Out | void;

export type { LoadResult } from './state-dict.ts';

/** Name -> values, as produced by `stateDict()`. */
export type StateDict = Record<string, nd.NDArray>;

type Slot = { kind: 'parameter' } | { kind: 'buffer'; persistent: boolean } | { kind: 'module' };

export class Module<In extends unknown[] = [Tensor], Out = Tensor> {
  /** True in training mode (Dropout active); switch with `train()` / `eval()`. */
  training = true;
  // Ordered names of the registered fields, by kind. Values live in the fields.
  private readonly _slots = new Map<string, Slot>();
  private readonly _preHooks = new Map<number, ForwardPreHook<In>>();
  private readonly _hooks = new Map<number, ForwardHook<In, Out>>();
  private _nextHookId = 0;

  // ------------------------------------------------------------ registration

  /**
   * Registers `tensor` as parameter `name` and returns it (assign it to the field of
   * the same name). Parameters appear in `parameters()` and `stateDict()` even when
   * frozen with `requiresGrad_(false)`.
   * @example this.weight = this.registerParameter('weight', zeros([3], { requiresGrad: true }));
   */
  registerParameter<T extends Tensor | null>(name: string, tensor: T): T {
    this.checkName(name, 'registerParameter');
    this._slots.set(name, { kind: 'parameter' });
    this.setField(name, tensor);
    return tensor;
  }

  /**
   * Registers a buffer: state that is not trained but belongs to the module (running
   * statistics, fixed masks). Persistent buffers are saved in `stateDict()`.
   * @example this.mask = this.registerBuffer('mask', causalMask, { persistent: false });
   */
  registerBuffer<T extends Tensor | null>(name: string, tensor: T, opts: { persistent?: boolean } = {}): T {
    this.checkName(name, 'registerBuffer');
    this._slots.set(name, { kind: 'buffer', persistent: opts.persistent ?? true });
    this.setField(name, tensor);
    return tensor;
  }

  /**
   * Registers a child module under `name` and returns it.
   * @example this.fc1 = this.registerModule('fc1', new Linear(4, 8));
   */
  registerModule<M extends AnyModule | null>(name: string, module: M): M {
    this.checkName(name, 'registerModule');
    this._slots.set(name, { kind: 'module' });
    this.setField(name, module);
    return module;
  }

  private checkName(name: string, op: string): void {
    if (name.length === 0 || name.includes('.')) throw new Error(`${op}: name '${name}' must be non-empty and contain no '.'`);
    const prev = this._slots.get(name);
    if (prev) throw new Error(`${op}: '${name}' is already registered as a ${prev.kind} of ${this.constructor.name}`);
  }

  private getField(name: string): unknown {
    return (this as unknown as Record<string, unknown>)[name];
  }

  private setField(name: string, value: unknown): void {
    (this as unknown as Record<string, unknown>)[name] = value;
  }

  // ------------------------------------------------------------ calling

  /**
   * The computation. Subclasses override it; call modules with `call`, not `forward`,
   * so that hooks run.
   */
  forward(...args: In): Out {
    void args;
    throw new Error(`${this.constructor.name}: forward is not implemented (containers like ModuleList have none)`);
  }

  /**
   * Runs pre-hooks, `forward`, then hooks (PyTorch's `__call__`). An NDArray argument
   * (what data loaders yield) is lifted to a constant Tensor first, here at the boundary,
   * so no layer has to, and hooks and `forward` always see Tensors.
   * @example const y = linear.call(x); // x a Tensor or an NDArray
   */
  call(...args: CallArgs<In>): Out {
    let a = (args.some((x) => x instanceof nd.NDArray) ? args.map((x) => (x instanceof nd.NDArray ? new Tensor(x) : x)) : args) as In;
    if (this._preHooks.size > 0) {
      for (const hook of [...this._preHooks.values()]) {
        const r = hook(this, a);
        if (r !== undefined) a = r;
      }
    }
    let out = this.forward(...a);
    if (this._hooks.size > 0) {
      for (const hook of [...this._hooks.values()]) {
        const r = hook(this, a, out);
        if (r !== undefined) out = r;
      }
    }
    return out;
  }

  /**
   * Registers `fn(module, args)` to run before every `call`; returning an array
   * replaces the arguments. EVA uses it to capture layer inputs.
   * @example const h = lin.registerForwardPreHook((m, [x]) => { seen.push(x); }); h.remove();
   */
  registerForwardPreHook(fn: ForwardPreHook<In>): RemovableHandle {
    const id = this._nextHookId++;
    this._preHooks.set(id, fn);
    return { remove: () => void this._preHooks.delete(id) };
  }

  /**
   * Registers `fn(module, args, output)` to run after every `call`; returning a value
   * replaces the output.
   * @example lin.registerForwardHook((m, args, y) => y.mul(2));
   */
  registerForwardHook(fn: ForwardHook<In, Out>): RemovableHandle {
    const id = this._nextHookId++;
    this._hooks.set(id, fn);
    return { remove: () => void this._hooks.delete(id) };
  }

  // ------------------------------------------------------------ walking the tree

  /** Direct children with their local names, in registration order (null children skipped). */
  *namedChildren(): Generator<[string, AnyModule]> {
    for (const [name, slot] of this._slots) {
      if (slot.kind !== 'module') continue;
      const m = this.getField(name);
      if (m !== null && m !== undefined) yield [name, m as AnyModule];
    }
  }

  /** Direct children. */
  *children(): Generator<AnyModule> {
    for (const [, m] of this.namedChildren()) yield m;
  }

  /**
   * This module (name `''`) and every descendant, depth first, each once (a module
   * reachable by two paths is listed under the first).
   * @example for (const [name, m] of model.namedModules()) if (m instanceof Linear) console.log(name);
   */
  *namedModules(prefix = '', seen = new Set<AnyModule>()): Generator<[string, AnyModule]> {
    if (seen.has(this)) return;
    seen.add(this);
    yield [prefix, this];
    for (const [name, child] of this.namedChildren()) {
      yield* child.namedModules(prefix ? `${prefix}.${name}` : name, seen);
    }
  }

  /** Every module in the tree, this one first. */
  *modules(): Generator<AnyModule> {
    for (const [, m] of this.namedModules()) yield m;
  }

  /** Parameters registered directly on this module (not its children). */
  *namedLocalParameters(): Generator<[string, Tensor]> {
    for (const [name, slot] of this._slots) {
      if (slot.kind !== 'parameter') continue;
      const p = this.getField(name);
      if (p !== null && p !== undefined) yield [name, p as Tensor];
    }
  }

  /**
   * Every parameter with its dotted name. A tensor shared by two modules (tied
   * weights) is listed once, under its first name, as in PyTorch.
   * @example for (const [name, p] of model.namedParameters()) console.log(name, p.shape);
   */
  *namedParameters(): Generator<[string, Tensor]> {
    const seen = new Set<Tensor>();
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, p] of m.namedLocalParameters()) {
        if (seen.has(p)) continue;
        seen.add(p);
        yield [prefix ? `${prefix}.${name}` : name, p];
      }
    }
  }

  /** Every parameter (deduplicated), in `namedParameters` order. */
  parameters(): Tensor[] {
    return [...this.namedParameters()].map(([, p]) => p);
  }

  /** Buffers with dotted names (persistent and not). */
  *namedBuffers(): Generator<[string, Tensor]> {
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, slot] of m._slots) {
        if (slot.kind !== 'buffer') continue;
        const b = m.getField(name);
        if (b !== null && b !== undefined) yield [prefix ? `${prefix}.${name}` : name, b as Tensor];
      }
    }
  }

  /** Total number of parameter elements (optionally only trainable ones). */
  numParameters(opts: { trainableOnly?: boolean } = {}): number {
    let n = 0;
    for (const p of this.parameters()) if (!opts.trainableOnly || p.requiresGrad) n += p.size;
    return n;
  }

  // ------------------------------------------------------------ lookup and replacement

  /**
   * The descendant at a dotted path (`''` is this module).
   * @example model.getSubmodule('blocks.0.attn.q_proj')
   */
  getSubmodule(path: string): AnyModule {
    if (path === '') return this;
    let m: AnyModule = this;
    const walked: string[] = [];
    for (const atom of path.split('.')) {
      const slot = m._slots.get(atom);
      const next = slot?.kind === 'module' ? m.getField(atom) : undefined;
      if (!next) {
        const where = walked.length ? `'${walked.join('.')}' (${m.constructor.name})` : `the root (${m.constructor.name})`;
        throw new Error(`getSubmodule: ${where} has no submodule '${atom}' (path '${path}')`);
      }
      walked.push(atom);
      m = next as AnyModule;
    }
    return m;
  }

  /**
   * Replaces the registered submodule at a dotted path (the parent's field changes
   * too, so its forward uses the new module). LoRA swaps `Linear` children this way.
   * @example model.setSubmodule('blocks.0.attn.q_proj', new LoraLinear(old, 8));
   */
  setSubmodule(path: string, module: AnyModule): void {
    const cut = path.lastIndexOf('.');
    const parent = cut < 0 ? this : this.getSubmodule(path.slice(0, cut));
    const atom = path.slice(cut + 1);
    if (parent._slots.get(atom)?.kind !== 'module') {
      throw new Error(`setSubmodule: ${parent.constructor.name} at '${path.slice(0, Math.max(cut, 0))}' has no submodule '${atom}'`);
    }
    parent.setField(atom, module);
  }

  /** The parameter at a dotted path. @example model.getParameter('layers.0.weight') */
  getParameter(path: string): Tensor {
    const [owner, atom] = this.owner(path);
    const p = owner._slots.get(atom)?.kind === 'parameter' ? owner.getField(atom) : null;
    if (!p) throw new Error(`getParameter: no parameter '${path}' in ${this.constructor.name}`);
    return p as Tensor;
  }

  /**
   * Replaces the parameter at a dotted path with another tensor (the module's field
   * changes). Prefer `loadStateDict` to change values; this swaps the object.
   */
  setParameter(path: string, tensor: Tensor): void {
    const [owner, atom] = this.owner(path);
    if (owner._slots.get(atom)?.kind !== 'parameter') throw new Error(`setParameter: no parameter '${path}' in ${this.constructor.name}`);
    owner.setField(atom, tensor);
  }

  private owner(path: string): [AnyModule, string] {
    const cut = path.lastIndexOf('.');
    return [cut < 0 ? this : this.getSubmodule(path.slice(0, cut)), path.slice(cut + 1)];
  }

  // ------------------------------------------------------------ modes and utilities

  /** Sets training mode on this module and all descendants. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** Evaluation mode (`train(false)`): Dropout becomes the identity. */
  eval(): this {
    return this.train(false);
  }

  /**
   * Calls `fn` on every descendant, children before parents, then on this module
   * (PyTorch's order); used for custom initialisation.
   * @example model.apply((m) => { if (m instanceof Linear) zeros_(m.weight); });
   */
  apply(fn: (module: AnyModule) => void): this {
    for (const child of this.children()) child.apply(fn);
    fn(this);
    return this;
  }

  /** Sets every parameter's `.grad` to null (set_to_none, PyTorch's default). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /** Turns gradients on or off for every parameter (freezing). */
  requiresGrad_(flag = true): this {
    for (const p of this.parameters()) p.requiresGrad_(flag);
    return this;
  }

  /**
   * Converts every floating-point parameter and buffer to `dtype` in place (the
   * tensor objects stay; their data is replaced). Gradients are dropped.
   * @example model.to('float64'); // for gradient checks
   */
  to(dtype: 'float32' | 'float64'): this {
    const seen = new Set<Tensor>();
    for (const [, t] of [...this.namedParameters(), ...this.namedBuffers()]) {
      if (seen.has(t) || !nd.isFloat(t.dtype) || t.dtype === dtype) continue;
      seen.add(t);
      t.data = nd.cast(t.data, dtype);
      t.grad = null;
    }
    return this;
  }

  // ------------------------------------------------------------ state dicts

  /**
   * Name -> values of every parameter and persistent buffer, tied tensors under every
   * name. The arrays are the live storage (like PyTorch's state_dict, which shares
   * memory); pass `{ clone: true }` for a snapshot that later training will not change.
   * @example const sd = model.stateDict({ clone: true });
   */
  stateDict(opts: { clone?: boolean } = {}): StateDict {
    const out: StateDict = {};
    for (const [key, t] of this.stateDictTensors()) out[key] = opts.clone ? nd.copy(t.data) : t.data;
    return out;
  }

  /**
   * Copies values from `sd` into the parameters and persistent buffers, in place (so
   * optimizers keep their references), casting dtypes as needed.
   *
   * Strict (default): any missing, unexpected or mis-shaped key throws an error that
   * names every such key, and nothing is loaded. Non-strict: the keys that match are
   * loaded and the others are reported in the result (PyTorch raises on shape
   * mismatches even then; we skip and report them, which partial loading needs).
   * @example model.loadStateDict(other.stateDict());
   */
  loadStateDict(sd: Record<string, nd.NDArray | Tensor>, opts: { strict?: boolean } = {}): LoadResult {
    const { result, toLoad } = planLoad(this.stateDictTensors(), sd, opts.strict ?? true, this.constructor.name);
    copyInPlace(toLoad);
    return result;
  }

  /** Key -> tensor for everything `stateDict` would save (tied tensors under each name). */
  private stateDictTensors(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    const seenModules = new Set<AnyModule>();
    const visit = (m: AnyModule, prefix: string) => {
      if (seenModules.has(m)) return;
      seenModules.add(m);
      for (const [name, slot] of m._slots) {
        const v = m.getField(name);
        if (v === null || v === undefined) continue;
        if (slot.kind === 'module') visit(v as AnyModule, `${prefix}${name}.`);
        else if (slot.kind === 'parameter' || slot.persistent) out.set(prefix + name, v as Tensor);
      }
    };
    visit(this, '');
    return out;
  }

  // ------------------------------------------------------------ printing

  /** One line describing this module's own configuration (subclasses override). */
  extraRepr(): string {
    return '';
  }

  /** The tree, PyTorch style. */
  toString(): string {
    const kids = [...this.namedChildren()];
    const head = `${this.constructor.name}(${this.extraRepr()}`;
    if (kids.length === 0) return `${head})`;
    const lines = kids.map(([name, m]) => `  (${name}): ${m.toString().split('\n').join('\n  ')}`);
    return `${head}\n${lines.join('\n')}\n)`;
  }
}
