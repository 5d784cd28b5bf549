/**
 * Applying, inverting, composing and drawing permutations of a model's hidden units.
 */
import { NDArray, Rng } from '@tsgrad/tensor';
import { takeBlocks } from './axis-blocks.ts';
import { axisEntry, permSizes, type Permutation, type PermutationSpec, type StateDict } from './spec.ts';

/**
 * Throws unless `p` is a permutation of 0..n-1 (integers only, each exactly once).
 * @example checkIsPermutation(Int32Array.from([1, 0, 2]), 3, 'mine');
 */
export function checkIsPermutation(p: ArrayLike<number>, n: number, what: string): void {
  if (p === null || typeof p !== 'object' || typeof p.length !== 'number') throw new Error(`${what}: expected an Int32Array, got ${p === null ? 'null' : typeof p}`);
  if (p.length !== n) throw new Error(`${what}: length ${p.length}, expected ${n}`);
  const seen = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const j = p[i]!;
    if (!(Number.isInteger(j) && j >= 0 && j < n)) throw new Error(`${what}: not a permutation of 0..${n - 1} (entry ${i} is ${j})`);
    if (seen[j]) throw new Error(`${what}: not a permutation of 0..${n - 1} (${j} appears twice, again at entry ${i})`);
    seen[j] = 1;
  }
}

/**
 * One parameter with every permuted axis gathered (`except` skips one axis): git-re-basin's
 * `get_permuted_param`. Returns a new contiguous array of the same dtype.
 * @example const w = getPermutedParam(spec, perm, 'layers.1.weight', sd); // rows and columns permuted
 */
export function getPermutedParam(
  spec: PermutationSpec,
  perm: Permutation,
  key: string,
  params: StateDict,
  except?: number,
): NDArray {
  const w = params[key];
  if (w === undefined) throw new Error(`getPermutedParam: '${key}' is missing from the state dict`);
  const axes = spec.axesToPerm[key];
  if (axes === undefined) return w;
  if (axes.length !== w.ndim) {
    throw new Error(`getPermutedParam: '${key}' has shape [${w.shape.join(', ')}] but the spec lists ${axes.length} axes`);
  }
  if (w.dtype !== 'float32' && w.dtype !== 'float64') {
    throw new Error(`getPermutedParam: '${key}' has dtype ${w.dtype}; only float parameters can be permuted`);
  }
  let out = w.contiguous();
  axes.forEach((entry, axis) => {
    const e = axisEntry(entry);
    if (e === null || axis === except) return;
    const p = perm[e.id];
    if (p === undefined) throw new Error(`getPermutedParam: no permutation '${e.id}' given (needed by '${key}')`);
    if (p.length * e.group !== w.shape[axis]) {
      throw new Error(
        `getPermutedParam: permutation '${e.id}' of size ${p.length} (group ${e.group}) does not fit axis ${axis} of '${key}' [${w.shape.join(', ')}]`,
      );
    }
    out = takeBlocks(out, axis, p, e.group);
  });
  return out;
}

/**
 * pi(params): every parameter of the spec permuted, the rest passed through unchanged (the same
 * arrays, not copies). For a correct spec the network computes the same function.
 * @example
 * const permuted = applyPermutation(spec, randomPermutation(spec, sd, 1), sd);
 */
export function applyPermutation(spec: PermutationSpec, perm: Permutation, params: StateDict): StateDict {
  const sizes = permSizes(spec, params);
  for (const [id, n] of Object.entries(sizes)) {
    const p = perm[id];
    if (p === undefined) throw new Error(`applyPermutation: permutation '${id}' (size ${n}) is missing`);
    checkIsPermutation(p, n, `applyPermutation: permutation '${id}'`);
  }
  const out: StateDict = {};
  for (const key of Object.keys(params)) out[key] = getPermutedParam(spec, perm, key, params);
  return out;
}

/**
 * The identity permutation for every id of the spec (sizes from `params`).
 * @example const id = identityPermutation(spec, sd); // applyPermutation(spec, id, sd) equals sd
 */
export function identityPermutation(spec: PermutationSpec, params: StateDict): Permutation {
  const out: Permutation = {};
  for (const [id, n] of Object.entries(permSizes(spec, params))) out[id] = Int32Array.from({ length: n }, (_, i) => i);
  return out;
}

/**
 * A uniformly random permutation for every id, from `seed` (ids in sorted order, so the result
 * does not depend on how the spec was built).
 * @example const control = applyPermutation(spec, randomPermutation(spec, sdB, 1), sdB);
 */
export function randomPermutation(spec: PermutationSpec, params: StateDict, seed: number): Permutation {
  const rng = new Rng(seed);
  const sizes = permSizes(spec, params);
  const out: Permutation = {};
  for (const id of Object.keys(sizes).sort()) out[id] = rng.permutation(sizes[id]!);
  return out;
}

/**
 * The inverse: `applyPermutation(spec, invertPermutation(p), applyPermutation(spec, p, x))` is x.
 * Throws, naming the id, when an entry is not a permutation (a repeated or out-of-range index
 * would otherwise give a silently wrong "inverse").
 * @example invertPermutation({ P: Int32Array.from([2, 0, 1]) }); // { P: [1, 2, 0] }
 */
export function invertPermutation(perm: Permutation): Permutation {
  const out: Permutation = {};
  for (const [id, p] of Object.entries(perm)) checkIsPermutation(p, p?.length ?? 0, `invertPermutation: '${id}'`);
  for (const [id, p] of Object.entries(perm)) {
    const inv = new Int32Array(p.length);
    for (let i = 0; i < p.length; i++) inv[p[i]!] = i;
    out[id] = inv;
  }
  return out;
}

/**
 * The permutation equal to applying `first`, then `second`:
 * `apply(compose(first, second), x) = apply(second, apply(first, x))`, i.e. c[i] = first[second[i]].
 * Both must hold the same ids, each a permutation of the same size (else it throws, naming the id).
 * @example const both = composePermutations(wmPerm, randomPermutation(spec, sd, 0));
 */
export function composePermutations(first: Permutation, second: Permutation): Permutation {
  for (const id of Object.keys(first)) {
    if (!Object.hasOwn(second, id)) throw new Error(`composePermutations: '${id}' is in first but not in second`);
  }
  for (const [id, s] of Object.entries(second)) {
    const f = Object.hasOwn(first, id) ? first[id] : undefined;
    if (f === undefined || f.length !== s?.length) {
      throw new Error(`composePermutations: '${id}' has size ${s?.length} in second but ${f?.length ?? 'none'} in first`);
    }
    checkIsPermutation(f, f.length, `composePermutations: first '${id}'`);
    checkIsPermutation(s, s.length, `composePermutations: second '${id}'`);
  }
  const out: Permutation = {};
  for (const [id, s] of Object.entries(second)) {
    const f = first[id]!;
    out[id] = Int32Array.from(s, (j) => f[j]!);
  }
  return out;
}

/**
 * A deep copy of a permutation.
 * @example const saved = clonePermutation(result.perm);
 */
export function clonePermutation(perm: Permutation): Permutation {
  const out: Permutation = {};
  for (const [id, p] of Object.entries(perm)) out[id] = p.slice();
  return out;
}
