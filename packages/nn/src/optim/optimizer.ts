/**
 * The optimizer base: parameter groups with per-group hyperparameters, per-parameter
 * state, `zeroGrad` (set_to_none) and a state dict. Subclasses implement `update`,
 * which changes `param.data` in place with plain loops over typed arrays: no graph
 * is recorded and nothing is allocated per element.
 */
import type { Tensor } from '@tsgrad/autograd';
import * as nd from '@tsgrad/tensor';

export type FloatArray = Float32Array | Float64Array;

/** A group as the user passes it: its params, plus any hyperparameters to override. */
export type GroupSpec<H> = { params: Iterable<Tensor> } & Partial<H>;

/** A group as stored: every hyperparameter filled in from the defaults. */
export type ParamGroup<H> = { params: Tensor[] } & H;

/** Per-parameter state: a step count and named buffers the size of the parameter. */
export interface ParamState {
  step: number;
  buffers: Record<string, FloatArray>;
}

/** The serialisable optimizer state: state by parameter index, and the groups' settings. */
export interface OptimizerStateDict {
  state: Record<number, { step: number; buffers: Record<string, nd.NDArray> }>;
  paramGroups: Record<string, unknown>[];
}

/** Contiguous storage of a parameter's values, checked once per step. */
export function paramArray(p: Tensor, op: string): FloatArray {
  const a = p.data;
  if (a.dtype !== 'float32' && a.dtype !== 'float64') throw new TypeError(`${op}: parameter of dtype ${a.dtype} cannot be optimized`);
  if (!a.isContiguous() || a.offset !== 0 || a.data.length !== a.size) {
    throw new Error(`${op}: parameter of shape [${a.shape.join(', ')}] is not a dense array; optimizers update storage in place`);
  }
  return a.data as FloatArray;
}

/** The gradient of `p`, checked to have the parameter's shape (any strides). */
export function gradOf(p: Tensor, op: string): nd.NDArray {
  const g = p.grad!.data;
  if (!nd.shapesEqual(g.shape, p.shape)) throw new Error(`${op}: gradient of shape [${g.shape.join(', ')}] for a parameter of shape [${p.shape.join(', ')}]`);
  return g;
}

/**
 * Dense gradient values of `p`: a view when already dense, else a copy, written into
 * `into` when that is given and fits (so a training loop need not allocate one per step).
 */
export function gradArray(p: Tensor, op: string, into?: FloatArray): FloatArray {
  return denseValues(gradOf(p, op), into);
}

/**
 * The elements of a float array in row-major order: the storage itself (or a
 * subarray) when dense, else a copy made with plain nested loops, into `into` when it
 * has the right size and type. Weight gradients of `x W^T` arrive as transposed views,
 * so this copy is on the training hot path.
 */
export function denseValues(a: nd.NDArray, into?: FloatArray): FloatArray {
  const src = a.data as FloatArray;
  if (a.isContiguous()) return a.offset === 0 && src.length === a.size ? src : (src.subarray(a.offset, a.offset + a.size) as FloatArray);
  if (a.ndim > 4) return a.contiguous().data as FloatArray;
  // Pad to 4 axes (leading size-1 axes) and walk them with explicit strides.
  const pad = 4 - a.ndim;
  const sh = [1, 1, 1, 1];
  const st = [0, 0, 0, 0];
  for (let i = 0; i < a.ndim; i++) {
    sh[pad + i] = a.shape[i]!;
    st[pad + i] = a.strides[i]!;
  }
  const f64 = a.dtype === 'float64';
  const fits = into !== undefined && into.length === a.size && into instanceof Float64Array === f64;
  const out = fits ? into : f64 ? new Float64Array(a.size) : new Float32Array(a.size);
  const [n0, n1, n2, n3] = sh as [number, number, number, number];
  const [s0, s1, s2, s3] = st as [number, number, number, number];
  let k = 0;
  for (let i0 = 0; i0 < n0; i0++) {
    for (let i1 = 0; i1 < n1; i1++) {
      for (let i2 = 0; i2 < n2; i2++) {
        let p = a.offset + i0 * s0 + i1 * s1 + i2 * s2;
        for (let i3 = 0; i3 < n3; i3++, p += s3) out[k++] = src[p]!;
      }
    }
  }
  return out;
}

export abstract class Optimizer<H extends { lr: number }> {
  readonly paramGroups: ParamGroup<H>[];
  readonly defaults: H;
  readonly state = new Map<Tensor, ParamState>();

  constructor(params: Iterable<Tensor> | Iterable<GroupSpec<H>>, defaults: H) {
    this.defaults = defaults;
    const list = [...(params as Iterable<Tensor | GroupSpec<H>>)];
    if (list.length === 0) throw new Error(`${this.constructor.name}: got an empty parameter list`);
    const specs: GroupSpec<H>[] = list.length > 0 && isGroup(list[0]!) ? (list as GroupSpec<H>[]) : [{ params: list as Tensor[] } as unknown as GroupSpec<H>];
    const seen = new Set<Tensor>();
    this.paramGroups = specs.map((spec, gi) => {
      const group = { ...defaults, ...spec, params: [...spec.params] } as ParamGroup<H>;
      for (const p of group.params) {
        if (seen.has(p)) throw new Error(`${this.constructor.name}: a parameter appears twice (again in group ${gi})`);
        seen.add(p);
      }
      this.validate(group);
      return group;
    });
  }

  /** Checks one group's hyperparameters (subclasses extend). */
  protected validate(group: ParamGroup<H>): void {
    if (!(group.lr >= 0)) throw new RangeError(`${this.constructor.name}: invalid learning rate ${group.lr}`);
  }

  /** Updates one parameter that has a gradient. */
  protected abstract update(p: Tensor, group: ParamGroup<H>, state: ParamState): void;

  /** The parameter's state, created with `buffers` of its size on first use. */
  protected stateFor(p: Tensor, names: readonly string[]): ParamState {
    let s = this.state.get(p);
    if (!s) {
      s = { step: 0, buffers: {} };
      this.state.set(p, s);
    }
    for (const name of names) {
      if (!s.buffers[name]) s.buffers[name] = p.dtype === 'float64' ? new Float64Array(p.size) : new Float32Array(p.size);
    }
    return s;
  }

  /** Per parameter, a buffer that `gradValues` copies strided gradients into, kept across steps. */
  private readonly gradScratch = new WeakMap<Tensor, FloatArray>();

  /**
   * Dense gradient values of `p` for `update`: the gradient's own storage when dense,
   * else a copy in a buffer reused at every step (valid until the next call for `p`).
   */
  protected gradValues(p: Tensor, op: string): FloatArray {
    const g = gradOf(p, op);
    if (g.isContiguous()) return denseValues(g);
    let buf = this.gradScratch.get(p);
    if (!buf || buf.length !== g.size || buf instanceof Float64Array !== (g.dtype === 'float64')) {
      buf = g.dtype === 'float64' ? new Float64Array(g.size) : new Float32Array(g.size);
      this.gradScratch.set(p, buf);
    }
    return denseValues(g, buf);
  }

  /** One optimization step over every parameter whose `.grad` is set. */
  step(): void {
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        if (p.grad === null) continue;
        const s = this.state.get(p) ?? this.stateFor(p, []);
        this.update(p, group, s);
      }
    }
  }

  /** Sets every parameter's gradient to null (PyTorch's set_to_none=True). */
  zeroGrad(): void {
    for (const group of this.paramGroups) for (const p of group.params) p.grad = null;
  }

  /** Adds a group (hyperparameters default to the optimizer's). */
  addParamGroup(spec: GroupSpec<H>): void {
    const group = { ...this.defaults, ...spec, params: [...spec.params] } as ParamGroup<H>;
    for (const p of group.params) {
      if (this.paramGroups.some((g) => g.params.includes(p))) throw new Error(`${this.constructor.name}.addParamGroup: a parameter is already in another group`);
    }
    this.validate(group);
    this.paramGroups.push(group);
  }

  /** State and hyperparameters, with parameters replaced by their index across groups. */
  stateDict(): OptimizerStateDict {
    const state: OptimizerStateDict['state'] = {};
    const groups: Record<string, unknown>[] = [];
    let index = 0;
    for (const group of this.paramGroups) {
      const { params, ...hyper } = group;
      const ids: number[] = [];
      for (const p of params) {
        const s = this.state.get(p);
        if (s) {
          const buffers: Record<string, nd.NDArray> = {};
          for (const [k, v] of Object.entries(s.buffers)) buffers[k] = nd.NDArray.fromTyped(v.slice(), [...p.shape]);
          state[index] = { step: s.step, buffers };
        }
        ids.push(index++);
      }
      groups.push({ ...hyper, params: ids });
    }
    return { state, paramGroups: groups };
  }

  /** Restores `stateDict()` output into an optimizer over the same parameter layout. */
  loadStateDict(sd: OptimizerStateDict): void {
    if (sd.paramGroups.length !== this.paramGroups.length) {
      throw new Error(`${this.constructor.name}.loadStateDict: ${sd.paramGroups.length} groups in the state dict, ${this.paramGroups.length} here`);
    }
    const flat = this.paramGroups.flatMap((g) => g.params);
    this.paramGroups.forEach((group, gi) => {
      const { params: ids, ...hyper } = sd.paramGroups[gi]! as { params: number[] };
      if (ids.length !== group.params.length) {
        throw new Error(`${this.constructor.name}.loadStateDict: group ${gi} has ${ids.length} params in the state dict, ${group.params.length} here`);
      }
      Object.assign(group, hyper);
    });
    this.state.clear();
    for (const [key, s] of Object.entries(sd.state)) {
      const p = flat[Number(key)];
      if (!p) throw new Error(`${this.constructor.name}.loadStateDict: state for parameter ${key}, but there are ${flat.length}`);
      const buffers: Record<string, FloatArray> = {};
      for (const [k, v] of Object.entries(s.buffers)) {
        if (v.size !== p.size) throw new Error(`${this.constructor.name}.loadStateDict: buffer '${k}' of parameter ${key} has ${v.size} values, the parameter ${p.size}`);
        buffers[k] = nd.cast(v, p.dtype).data as FloatArray;
      }
      this.state.set(p, { step: s.step, buffers });
    }
  }
}

function isGroup(x: unknown): x is GroupSpec<unknown> {
  return typeof x === 'object' && x !== null && 'params' in x && !(x as { data?: unknown }).data;
}
