/**
 * Arithmetic on whole state dicts: interpolation, means, distances. Accumulation is in float64;
 * results keep each parameter's dtype.
 */
import { NDArray } from '@tsgrad/tensor';
import type { StateDict } from '@tsgrad/nn';

function sameKeys(a: StateDict, b: StateDict, op: string): string[] {
  const keys = Object.keys(a);
  for (const k of keys) {
    if (b[k] === undefined) throw new Error(`${op}: '${k}' is in the first state dict but not the second`);
    const sa = a[k]!.shape;
    const sb = b[k]!.shape;
    if (sa.length !== sb.length || sa.some((d, i) => d !== sb[i])) {
      throw new Error(`${op}: '${k}' has shapes [${sa.join(', ')}] and [${sb.join(', ')}]`);
    }
  }
  for (const k of Object.keys(b)) {
    if (a[k] === undefined) throw new Error(`${op}: '${k}' is in the second state dict but not the first`);
  }
  return keys;
}

function floats(x: NDArray): ArrayLike<number> {
  const c = x.contiguous();
  return c.data;
}

function isFloatArray(x: NDArray): boolean {
  return x.dtype === 'float32' || x.dtype === 'float64';
}

/**
 * (1 - lambda) a + lambda b for every float parameter (non-float entries are taken from `a`).
 * @example const mid = lerpStateDicts(0.5, sdA, sdB);
 */
export function lerpStateDicts(lambda: number, a: StateDict, b: StateDict): StateDict {
  const out: StateDict = {};
  for (const k of sameKeys(a, b, 'lerpStateDicts')) {
    const x = a[k]!;
    if (!isFloatArray(x)) {
      out[k] = x;
      continue;
    }
    const da = floats(x);
    const db = floats(b[k]!);
    const o = x.dtype === 'float64' ? new Float64Array(x.size) : new Float32Array(x.size);
    for (let i = 0; i < o.length; i++) o[i] = (1 - lambda) * da[i]! + lambda * db[i]!;
    out[k] = NDArray.fromTyped(o, x.shape, x.dtype);
  }
  return out;
}

/**
 * The elementwise mean of several state dicts (weights optional, summing to anything non-zero).
 * @example const avg = meanStateDicts([sdA, sdB, sdC]);
 */
export function meanStateDicts(dicts: readonly StateDict[], weights?: readonly number[]): StateDict {
  if (dicts.length === 0) throw new Error('meanStateDicts: no state dicts given');
  const w = weights ?? dicts.map(() => 1);
  if (w.length !== dicts.length) throw new Error(`meanStateDicts: ${dicts.length} state dicts but ${w.length} weights`);
  const total = w.reduce((s, x) => s + x, 0);
  if (total === 0) throw new Error('meanStateDicts: the weights sum to 0');
  const first = dicts[0]!;
  for (let d = 1; d < dicts.length; d++) sameKeys(first, dicts[d]!, 'meanStateDicts');
  const out: StateDict = {};
  for (const k of Object.keys(first)) {
    const x = first[k]!;
    if (!isFloatArray(x)) {
      out[k] = x;
      continue;
    }
    const acc = new Float64Array(x.size);
    dicts.forEach((sd, d) => {
      const src = floats(sd[k]!);
      const c = w[d]! / total;
      for (let i = 0; i < acc.length; i++) acc[i]! += c * src[i]!;
    });
    out[k] = NDArray.fromTyped(x.dtype === 'float64' ? acc : Float32Array.from(acc), x.shape, x.dtype);
  }
  return out;
}

/**
 * Euclidean distance ||a - b|| over all float parameters (or only `keys`).
 * @example l2Distance(sdA, applyPermutation(spec, perm, sdB));
 */
export function l2Distance(a: StateDict, b: StateDict, keys?: readonly string[]): number {
  const all = sameKeys(a, b, 'l2Distance');
  let s = 0;
  for (const k of keys ?? all) {
    if (!isFloatArray(a[k]!)) continue;
    const da = floats(a[k]!);
    const db = floats(b[k]!);
    for (let i = 0; i < da.length; i++) {
      const d = da[i]! - db[i]!;
      s += d * d;
    }
  }
  return Math.sqrt(s);
}

/**
 * Sum over float parameters of <a_k, b_k> (the weight-matching objective when b = pi(B)).
 * @example innerProduct(sdA, applyPermutation(spec, perm, sdB));
 */
export function innerProduct(a: StateDict, b: StateDict, keys?: readonly string[]): number {
  const all = sameKeys(a, b, 'innerProduct');
  let s = 0;
  for (const k of keys ?? all) {
    if (!isFloatArray(a[k]!)) continue;
    const da = floats(a[k]!);
    const db = floats(b[k]!);
    for (let i = 0; i < da.length; i++) s += da[i]! * db[i]!;
  }
  return s;
}

/**
 * A deep copy (new storage for every array).
 * @example const snapshot = cloneStateDict(model.stateDict());
 */
export function cloneStateDict(sd: StateDict): StateDict {
  const out: StateDict = {};
  for (const [k, v] of Object.entries(sd)) out[k] = NDArray.fromTyped(v.toTyped(), v.shape, v.dtype);
  return out;
}
