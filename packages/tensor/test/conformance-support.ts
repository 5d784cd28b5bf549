/**
 * What the conformance suite (conformance.test.ts) needs besides arbitraries.ts: the
 * tolerance of each result dtype, the comparison of a backend's result with the
 * reference backend's, writable views for the in-place primitives, and the argument
 * arbitraries of the index primitives.
 */
import fc from 'fast-check';
import * as assert from 'uvu/assert';
import type { Backend } from '../src/backend.ts';
import { NDArray, referenceBackend, type DType } from '../src/index.ts';
import { layoutArb, makeView, seedArb, shapeArb, viewArb, type Fill } from './arbitraries.ts';

/**
 * Relative tolerance of one rounding step per result dtype: a float32 kernel (gpu.js,
 * the wasm GEMM) may compute in float32 where the reference rounds a float64 result
 * once; float64 results differ only by the order of a sum. Integers and bools are exact.
 * Sums (reductions, matmul, scatters) scale it by the summed magnitudes, and the
 * transcendental unary ops get ten times it.
 */
export const RTOL: Record<DType, number> = { float32: 1e-5, float64: 1e-12, int32: 0, bool: 0 };

/**
 * Fails unless `got` has `want`'s dtype and shape, and each value equals it, is NaN
 * where it is NaN, or is within `atol_i + rtol |want_i|` (atol may be per element).
 */
export function assertMatches(got: NDArray, want: NDArray, what: string, rtol = RTOL[want.dtype], atol: number | Float64Array = 0): void {
  assert.is(got.dtype, want.dtype, `${what}: dtype`);
  assert.equal([...got.shape], [...want.shape], `${what}: shape`);
  const g = got.toFloat64Array();
  const w = want.toFloat64Array();
  for (let i = 0; i < w.length; i++) {
    const a = g[i]!;
    const b = w[i]!;
    if (a === b || (Number.isNaN(a) && Number.isNaN(b))) continue;
    if (!Number.isFinite(a) || !Number.isFinite(b)) assert.unreachable(`${what}: element ${i} is ${a}, the reference backend gives ${b}`);
    const tol = (typeof atol === 'number' ? atol : atol[i]!) + rtol * Math.abs(b);
    if (!(Math.abs(a - b) <= tol)) assert.unreachable(`${what}: element ${i} is ${a}, the reference backend gives ${b} (tolerance ${tol})`);
  }
}

/** Per element, `RTOL * sum of |terms|` (+ a tiny floor): the tolerance of a float sum, from the same sum on |x|. */
export function sumTolerance(absSum: NDArray, dtype: DType): Float64Array {
  return absSum.toFloat64Array().map((v) => RTOL[dtype] * v + (dtype === 'float32' ? 1e-6 : 1e-300));
}

/** `|x|` as float64 (bools and ints included), for `sumTolerance`. */
export function absolute(x: NDArray): NDArray {
  return referenceBackend.unary('abs', referenceBackend.cast(x, 'float64'), 'float64');
}

/** Runs `f` on the backend and on the reference: both return matching arrays, or both throw the same message. */
export function sameOutcome(backend: Backend, f: (b: Backend) => NDArray, what: string, rtol?: number, atol?: number | Float64Array): void {
  const run = (b: Backend): NDArray | Error => {
    try {
      return f(b);
    } catch (e) {
      return e as Error;
    }
  };
  const want = run(referenceBackend);
  const got = run(backend);
  if (want instanceof Error) {
    assert.ok(got instanceof Error, `${what}: the reference throws '${want.message}', ${backend.name} does not`);
    assert.is((got as Error).message, want.message, `${what}: error messages differ`);
  } else {
    if (got instanceof Error) assert.unreachable(`${what}: ${backend.name} throws '${got.message}', the reference does not`);
    assertMatches(got as NDArray, want, what, rtol, atol);
  }
}

/** A copy of a view with its own storage (same strides and offset), for running an in-place primitive twice. */
export function twin(x: NDArray): NDArray {
  return new NDArray(x.data.slice(), x.shape, x.strides, x.offset, x.dtype);
}

/**
 * Compares two storages after an in-place primitive, all of it (nothing outside the
 * view may change), with the tolerance of a sum of two terms.
 */
export function assertStorage(got: NDArray, want: NDArray, what: string): void {
  const g = got.data;
  const w = want.data;
  assert.is(g.length, w.length, `${what}: storage length`);
  for (let i = 0; i < w.length; i++) {
    const a = g[i]!;
    const b = w[i]!;
    if (a === b || (Number.isNaN(a) && Number.isNaN(b))) continue;
    if (!(Math.abs(a - b) <= 4 * RTOL[want.dtype] * (1 + Math.abs(b)))) assert.unreachable(`${what}: storage ${i} is ${a}, the reference backend gives ${b}`);
  }
}

/** A view of `shape` that a primitive may write through: permuted, sliced and offset, but never broadcast. */
export function writableViewArb(shape: readonly number[], fill: Fill): fc.Arbitrary<NDArray> {
  return fc
    .tuple(layoutArb(shape.length), seedArb())
    .map(([layout, seed]) => makeView(shape, { ...layout, expanded: layout.expanded.map(() => false) }, seed, fill));
}

/** Fills for each dtype: floats with NaN, infinities and signed zeros mixed in, on a grid of halves if `grid` (ties, round's halves). */
export function fillFor(dtype: DType, grid = true): Fill {
  if (dtype === 'int32') return { dtype, low: -6, high: 6 };
  if (dtype === 'bool') return { dtype };
  return { dtype, grid: grid ? 0.5 : 0, specials: 0.08 };
}

/** Finite floats only (matmul, scatters), or the usual fill for ints and bools. */
export function finiteFill(dtype: DType): Fill {
  return dtype === 'float32' || dtype === 'float64' ? { dtype } : fillFor(dtype);
}

/** Int32 indices in [-size, size), negative ones counting from the end as the primitives allow. */
export function indexFill(size: number): Fill {
  return { dtype: 'int32', low: -size, high: size - 1 };
}

/** Shapes of rank 0..4 with sides 1..4, and now and then an empty one (a side of 0). */
export const anyShapeArb = (minRank = 0): fc.Arbitrary<number[]> =>
  fc.oneof({ weight: 5, arbitrary: shapeArb({ minRank, maxRank: 4, maxSide: 4 }) }, { weight: 1, arbitrary: shapeArb({ minRank: Math.max(1, minRank), maxRank: 3, minSide: 0, maxSide: 3 }) });

/**
 * torch.gather's arguments: a shape (rank >= 1), an axis, and an index shape that is no
 * larger than the shape on the other axes and of any length (0..4) along the axis.
 */
export const gatherArgsArb = anyShapeArb(1).chain((shape) =>
  fc.tuple(
    fc.constant(shape),
    fc.integer({ min: 0, max: shape.length - 1 }),
    fc.tuple(...shape.map((d) => fc.integer({ min: 0, max: d }))),
    fc.integer({ min: 0, max: 4 }),
  ).map(([s, axis, sides, along]) => ({ shape: s, axis, indexShape: sides.map((d, i) => (i === axis ? along : d)) })),
);

/** index_select's arguments: a shape (rank >= 1), an axis and a 1-D index length (0..6). */
export const selectArgsArb = anyShapeArb(1).chain((shape) =>
  fc.record({ shape: fc.constant(shape), axis: fc.integer({ min: 0, max: shape.length - 1 }), length: fc.integer({ min: 0, max: 6 }) }),
);

/** An index array of `shape` for an axis of `size` (any view of it), or a constant 0 array when the axis is empty. */
export function indexArb(shape: readonly number[], size: number): fc.Arbitrary<NDArray> {
  return size === 0 ? fc.constant(NDArray.zeros(shape, 'int32')) : viewArb(shape, indexFill(size));
}
