/**
 * <A, pi(B)> for one parameter without materialising pi(B): weight matching's objective is
 * recomputed after every sweep, and STE runs weight matching at every minibatch, so the permuted
 * copies (one per permuted axis) and float64 conversions of every parameter were a large share
 * of its time. Here each axis gets an offset table (block-expanded permutation times B's
 * stride), and the sum runs over A's entries in row-major order with one float64 accumulator:
 * the same products in the same order as `sum(A.toFloat64Array() * getPermutedParam(B))`, so
 * the result is the same bits.
 */
import type { NDArray } from '@tsgrad/tensor';
import { axisEntry, type AxisPerm, type Permutation } from './spec.ts';

/**
 * sum over every index of a[idx] * pi(b)[idx], where pi(b) gathers whole blocks along each
 * permuted axis as `getPermutedParam` does (block i of an axis = b's block perm[i]).
 * `axes` is the spec's entry for this parameter; a and b must have its shape (checked by the
 * callers, which name the parameter). The products are added to `acc` one by one, so a sum over
 * several parameters can keep a single accumulator (and the bits of a flat sum over all of them).
 * @example
 * const s = permutedDot(spec.axesToPerm['fc1.weight']!, perm, sdA['fc1.weight']!, sdB['fc1.weight']!);
 */
export function permutedDot(axes: readonly AxisPerm[], perm: Permutation, a: NDArray, b: NDArray, acc = 0): number {
  const shape = a.shape;
  const nd = shape.length;
  if (nd === 0) return acc + a.data[a.offset]! * b.data[b.offset]!;
  if (shape.some((d) => d === 0)) return acc;
  const offA: Int32Array[] = [];
  const offB: Int32Array[] = [];
  for (let k = 0; k < nd; k++) {
    const n = shape[k]!;
    const ta = new Int32Array(n);
    const tb = new Int32Array(n);
    const e = axes[k] === undefined ? null : axisEntry(axes[k]!);
    const p = e === null ? undefined : perm[e.id];
    if (e !== null && p === undefined) throw new Error(`permutedDot: no permutation '${e.id}' given`);
    for (let i = 0; i < n; i++) {
      ta[i] = i * a.strides[k]!;
      const src = p === undefined || e === null ? i : p[Math.floor(i / e.group)]! * e.group + (i % e.group);
      tb[i] = src * b.strides[k]!;
    }
    offA.push(ta);
    offB.push(tb);
  }
  const da = a.data;
  const db = b.data;
  const last = nd - 1;
  const inner = shape[last]!;
  const ia = offA[last]!;
  const ib = offB[last]!;
  // odometer over every axis but the last; baseA/baseB are the offsets of the current row
  const idx = new Array<number>(nd).fill(0);
  let s = acc;
  for (;;) {
    let baseA = a.offset;
    let baseB = b.offset;
    for (let k = 0; k < last; k++) {
      baseA += offA[k]![idx[k]!]!;
      baseB += offB[k]![idx[k]!]!;
    }
    for (let j = 0; j < inner; j++) s += da[baseA + ia[j]!]! * db[baseB + ib[j]!]!;
    let k = last - 1;
    while (k >= 0 && ++idx[k]! === shape[k]!) idx[k--] = 0;
    if (k < 0) break;
  }
  return s;
}
