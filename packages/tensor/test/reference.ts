/**
 * Naive references for the tensor tests: everything works on nested JS arrays
 * (as `toArray()` returns them) one element at a time, with no strides, views or
 * backends, so a test compares the library against code simple enough to trust.
 */
import * as assert from 'uvu/assert';
import type { NDArray, NestedArray } from '../src/index.ts';

/** Every multi-index of `shape` in row-major order (one empty index for a 0-d shape). */
export function indices(shape: readonly number[]): number[][] {
  let out: number[][] = [[]];
  for (const d of shape) {
    const next: number[][] = [];
    for (const prefix of out) for (let i = 0; i < d; i++) next.push([...prefix, i]);
    out = next;
  }
  return out;
}

/** The element of a nested array at `idx`, as a number (booleans become 0/1). */
export function at(nested: NestedArray, idx: readonly number[]): number {
  let v: NestedArray = nested;
  for (const i of idx) {
    if (!Array.isArray(v) || i < 0 || i >= v.length) throw new Error(`reference: bad index [${idx.join(', ')}]`);
    v = v[i]!;
  }
  if (Array.isArray(v)) throw new Error(`reference: index [${idx.join(', ')}] is too short`);
  return Number(v);
}

/** The shape of a (rectangular) nested array. */
export function shapeOf(nested: NestedArray): number[] {
  const shape: number[] = [];
  let v: NestedArray = nested;
  while (Array.isArray(v)) {
    shape.push(v.length);
    if (v.length === 0) break;
    v = v[0]!;
  }
  return shape;
}

/** A nested array of `shape` with element `f(idx)`. */
export function build(shape: readonly number[], f: (idx: number[]) => number): NestedArray {
  const rec = (prefix: number[]): NestedArray =>
    prefix.length === shape.length ? f(prefix) : Array.from({ length: shape[prefix.length]! }, (_, i) => rec([...prefix, i]));
  return rec([]);
}

/** The elements of a nested array in row-major order, as numbers. */
export function flatten(nested: NestedArray): number[] {
  if (!Array.isArray(nested)) return [Number(nested)];
  return nested.flatMap(flatten);
}

/** The index into an operand of `shape` that broadcasting reads for output index `idx`. */
export function broadcastIndex(idx: readonly number[], shape: readonly number[]): number[] {
  const lead = idx.length - shape.length;
  return shape.map((d, i) => (d === 1 ? 0 : idx[lead + i]!));
}

/** The row-major values of an array as plain numbers (bool as 0/1, read from storage). */
export function values(x: NDArray): number[] {
  return Array.from(x.toFloat64Array());
}

/** Equal as numbers, where NaN equals NaN and 0 equals -0. */
export function sameNumber(a: number, b: number): boolean {
  return a === b || (Number.isNaN(a) && Number.isNaN(b));
}

/** |a - b| <= atol + rtol * |b|, with NaN == NaN and equal infinities equal. */
export function close(a: number, b: number, rtol: number, atol = rtol): boolean {
  if (sameNumber(a, b)) return true;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
  return Math.abs(a - b) <= atol + rtol * Math.abs(b);
}

export interface Expectation {
  shape?: readonly number[];
  dtype?: string;
  /** Relative tolerance; 0 (default) means exact (NaN == NaN, 0 == -0). */
  rtol?: number;
  atol?: number;
  what?: string;
}

/**
 * Asserts that `actual` has the given shape/dtype and row-major values
 * (`expected` flat or nested), naming the first element that differs.
 */
export function assertArray(actual: NDArray, expected: NestedArray | readonly number[], exp: Expectation = {}): void {
  const what = exp.what ? `${exp.what}: ` : '';
  if (exp.shape) assert.equal([...actual.shape], [...exp.shape], `${what}shape`);
  if (exp.dtype) assert.is(actual.dtype, exp.dtype, `${what}dtype`);
  const want = Array.isArray(expected) ? (expected as NestedArray[]).flatMap((e) => flatten(e)) : [Number(expected)];
  const got = values(actual);
  assert.is(got.length, want.length, `${what}number of elements`);
  const rtol = exp.rtol ?? 0;
  const atol = exp.atol ?? rtol;
  for (let i = 0; i < got.length; i++) {
    const ok = rtol === 0 && atol === 0 ? sameNumber(got[i]!, want[i]!) : close(got[i]!, want[i]!, rtol, atol);
    if (!ok) assert.unreachable(`${what}element ${i} is ${got[i]}, expected ${want[i]} (shape [${actual.shape.join(', ')}])`);
  }
}

/** Sum of elementwise products of two same-length arrays (float64). */
export function dot(a: readonly number[], b: readonly number[]): number {
  assert.is(a.length, b.length, 'dot: lengths differ');
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
