/**
 * Permutation specs: which axis of which parameter a hidden-unit permutation acts on.
 *
 * Ainsworth et al. (Git Re-Basin, 2023, Sec. 3) exploit that permuting the hidden units of a
 * layer, and un-permuting them in the next layer's input, leaves the network's function
 * unchanged. A spec records, for every parameter (PyTorch layout: a Linear weight is (out, in)),
 * one entry per axis: the id of the permutation acting on that axis, or null.
 *
 * One extension over git-re-basin: an axis entry may be `{ id, group }`, meaning the axis holds
 * `n * group` entries and permutation `id` (of size n) moves whole blocks of `group` consecutive
 * entries. That is how attention heads are permuted as units (group = head dimension).
 */
import type { StateDict } from '@tsgrad/nn';

/** nn's `StateDict` (name -> values, as `Module.stateDict()` returns them), re-exported for wm's callers. */
export type { StateDict };

/**
 * One permutation per id. `perm[id][i] = j` means: after permuting, unit i is the original unit
 * j (the permuted array's row i is the original row j, a gather like `jnp.take(w, perm, axis)`).
 */
export type Permutation = Record<string, Int32Array>;

/** What acts on one axis: nothing, a permutation id, or a permutation of blocks of `group`. */
export type AxisPerm = string | null | { id: string; group: number };

/** One axis that a permutation touches. */
export interface PermAxis {
  key: string;
  axis: number;
  /** Block size: the axis has `n * group` entries for a permutation of size n. */
  group: number;
}

/** Both directions of the mapping, as git-re-basin's `PermutationSpec(perm_to_axes, axes_to_perm)`. */
export interface PermutationSpec {
  /** Parameter name to one entry per axis. */
  readonly axesToPerm: Readonly<Record<string, readonly AxisPerm[]>>;
  /** Permutation id to every (parameter, axis) it touches, in insertion order. */
  readonly permToAxes: Readonly<Record<string, readonly PermAxis[]>>;
}

/**
 * Reads an axis entry as (id, group), or null.
 * @example axisEntry('P0'); // { id: 'P0', group: 1 }
 */
export function axisEntry(entry: AxisPerm): { id: string; group: number } | null {
  if (entry === null) return null;
  if (typeof entry === 'string') return { id: entry, group: 1 };
  return entry;
}

/**
 * Builds a spec from `axesToPerm` and checks it: group sizes are positive integers, and no
 * permutation appears on two axes of the same parameter (the coordinate-descent step in
 * {@link weightMatching} is an exact linear assignment only under that assumption).
 * @example
 * const spec = permutationSpec({
 *   'fc1.weight': ['P0', null], 'fc1.bias': ['P0'],
 *   'fc2.weight': [null, 'P0'], 'fc2.bias': [null],
 * });
 * spec.permToAxes.P0; // [{ key: 'fc1.weight', axis: 0, group: 1 }, ...]
 */
export function permutationSpec(axesToPerm: Record<string, readonly AxisPerm[]>): PermutationSpec {
  const permToAxes: Record<string, PermAxis[]> = {};
  const frozen: Record<string, readonly AxisPerm[]> = {};
  for (const [key, axes] of Object.entries(axesToPerm)) {
    const seen = new Set<string>();
    axes.forEach((entry, axis) => {
      const e = axisEntry(entry);
      if (e === null) return;
      if (!Number.isInteger(e.group) || e.group < 1) {
        throw new Error(`permutationSpec: '${key}' axis ${axis}: group must be a positive integer, got ${e.group}`);
      }
      if (seen.has(e.id)) {
        throw new Error(`permutationSpec: permutation '${e.id}' appears on two axes of '${key}'`);
      }
      seen.add(e.id);
      (permToAxes[e.id] ??= []).push({ key, axis, group: e.group });
    });
    frozen[key] = Object.freeze([...axes]);
  }
  return { axesToPerm: Object.freeze(frozen), permToAxes: Object.freeze(permToAxes) };
}

/**
 * The size of every permutation, read from a state dict, checking that every axis a
 * permutation touches agrees and that every spec'd parameter exists with the spec's rank.
 * @example
 * permSizes(spec, model.stateDict()); // { P0: 512, P1: 512 }
 */
export function permSizes(spec: PermutationSpec, params: StateDict): Record<string, number> {
  for (const [key, axes] of Object.entries(spec.axesToPerm)) {
    const w = params[key];
    if (w === undefined) throw new Error(`permSizes: parameter '${key}' of the spec is missing from the state dict`);
    if (w.ndim !== axes.length) {
      throw new Error(`permSizes: '${key}' has shape [${w.shape.join(', ')}] but the spec lists ${axes.length} axes`);
    }
  }
  const sizes: Record<string, number> = {};
  for (const [id, list] of Object.entries(spec.permToAxes)) {
    let n = -1;
    let first = '';
    for (const { key, axis, group } of list) {
      const len = params[key]!.shape[axis]!;
      if (len % group !== 0) {
        throw new Error(`permSizes: '${key}' axis ${axis} has ${len} entries, not a multiple of group ${group} for '${id}'`);
      }
      const m = len / group;
      if (n === -1) {
        n = m;
        first = `'${key}' axis ${axis} [${params[key]!.shape.join(', ')}]`;
      } else if (m !== n) {
        throw new Error(
          `permSizes: permutation '${id}' has size ${n} on ${first} but ${m} on '${key}' axis ${axis} [${params[key]!.shape.join(', ')}]`,
        );
      }
    }
    sizes[id] = n;
  }
  return sizes;
}

/** Anything with a state dict: an nn `Module`, or a state dict itself. */
export type HasStateDict = { stateDict(): StateDict } | StateDict;

/**
 * The state dict of a module, or the argument itself when it already is one.
 * @example stateDictOf(model); stateDictOf(sd) === sd;
 */
export function stateDictOf(m: HasStateDict): StateDict {
  const f = (m as { stateDict?: unknown }).stateDict;
  return typeof f === 'function' ? (m as { stateDict(): StateDict }).stateDict() : (m as StateDict);
}

/**
 * The spec of a plain MLP (a chain of Linear layers with elementwise activations in between):
 * hidden layer l gets permutation `P_<name of layer l>` on its weight's rows and bias, and on the
 * next weight's columns; the input and output axes are never permuted (Ainsworth et al.'s
 * `mlp_permutation_spec`, in (out, in) layout).
 *
 * The layers are the 2-D `*.weight` parameters in state-dict order; pass `layers` (their name
 * prefixes, input to output) to choose them explicitly. Shapes must chain (in of layer l = out of
 * layer l - 1).
 * @example
 * const spec = mlpPermutationSpec(new MLP([784, 512, 512, 10], { seed: 0 }));
 * Object.keys(spec.permToAxes); // two hidden permutations
 */
export function mlpPermutationSpec(model: HasStateDict, opts: { layers?: readonly string[] } = {}): PermutationSpec {
  const sd = stateDictOf(model);
  const layers =
    opts.layers ??
    Object.keys(sd)
      .filter((k) => k.endsWith('.weight') && sd[k]!.ndim === 2)
      .map((k) => k.slice(0, -'.weight'.length));
  if (layers.length < 1) throw new Error('mlpPermutationSpec: found no 2-D *.weight parameters');
  const axes: Record<string, AxisPerm[]> = {};
  for (let l = 0; l < layers.length; l++) {
    const name = layers[l]!;
    const w = sd[`${name}.weight`];
    if (w === undefined || w.ndim !== 2) {
      throw new Error(`mlpPermutationSpec: '${name}.weight' is missing or not 2-D`);
    }
    if (l > 0) {
      const prev = sd[`${layers[l - 1]}.weight`]!;
      if (prev.shape[0] !== w.shape[1]) {
        throw new Error(
          `mlpPermutationSpec: '${layers[l - 1]}.weight' [${prev.shape.join(', ')}] does not chain into '${name}.weight' [${w.shape.join(', ')}]`,
        );
      }
    }
    const out = l < layers.length - 1 ? `P_${name}` : null;
    const inp = l > 0 ? `P_${layers[l - 1]}` : null;
    axes[`${name}.weight`] = [out, inp];
    if (sd[`${name}.bias`] !== undefined) axes[`${name}.bias`] = [out];
  }
  return permutationSpec(axes);
}
