/**
 * fast-check arbitraries for the gradient tests: small float64 tensors, broadcasting
 * shape pairs, and "layouts" that hand an op a non-contiguous view of a leaf.
 *
 * gradcheck perturbs the storage of its (contiguous) leaf copies, so a strided input
 * cannot be passed in directly. Instead an input is drawn as a `Viewed`: a leaf of
 * some base shape plus a view function (transpose, step-slice, offset-slice) that
 * turns it into the wanted shape inside the checked function. The backward of the
 * view is then checked too.
 */
import fc from 'fast-check';
import * as nd from '@tsgrad/tensor';
import { gradcheck, Tensor, type GradcheckOptions } from '../src/index.ts';

/** Seed for every property (override with TSGRAD_FC_SEED to explore other cases). */
export const FC_SEED = Number(process.env.TSGRAD_FC_SEED ?? 20240611);
/** Multiplies every run count (TSGRAD_FC_SCALE=10 for a long bug hunt; default 1 keeps CI fast). */
const FC_SCALE = Number(process.env.TSGRAD_FC_SCALE ?? 1);

/** fast-check parameters: a fixed seed so failures reproduce, and a bounded run count. */
export function params(numRuns: number): fc.Parameters<unknown> {
  return { numRuns: Math.max(1, Math.round(numRuns * FC_SCALE)), seed: FC_SEED, includeErrorInReport: true };
}

export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** A float64 leaf with the given row-major values. */
export function f64(values: ArrayLike<number>, shape: readonly number[], requiresGrad = true): Tensor {
  return new Tensor(nd.NDArray.fromTyped(Float64Array.from(values), shape), requiresGrad);
}

/**
 * Shapes with `minDims..maxDims` axes of size `minSide..maxSide`. Ranks and sizes are
 * drawn without fast-check's small-value bias (which would make most shapes 0-d),
 * but 0-d and size-1 axes still come up often.
 */
export function shapeArb(opts: { minDims?: number; maxDims?: number; minSide?: number; maxSide?: number } = {}): fc.Arbitrary<number[]> {
  const { minDims = 0, maxDims = 3, minSide = 1, maxSide = 3 } = opts;
  return fc
    .noBias(fc.integer({ min: minDims, max: maxDims }))
    .chain((n) => fc.array(fc.noBias(fc.integer({ min: minSide, max: maxSide })), { minLength: n, maxLength: n }));
}

/** Exactly `n` float64 values in [min, max]. */
export function valuesArb(n: number, min = -2, max = 2): fc.Arbitrary<number[]> {
  return fc.array(fc.double({ min, max, noNaN: true, noDefaultInfinity: true }), { minLength: n, maxLength: n });
}

/** Values with |v| in [minAbs, maxAbs] and a random sign: away from a kink at 0. */
export function awayFromZeroArb(n: number, minAbs = 0.05, maxAbs = 2): fc.Arbitrary<number[]> {
  const v = fc.tuple(fc.boolean(), fc.double({ min: minAbs, max: maxAbs, noNaN: true })).map(([s, x]) => (s ? x : -x));
  return fc.array(v, { minLength: n, maxLength: n });
}

/**
 * `n` pairwise distinct values on a grid of spacing `gap` in [-range, range] (plus
 * `offset`): no two elements tie, so max/min and maximum/minimum are smooth within
 * the finite-difference step.
 */
export function distinctValuesArb(n: number, offset = 0, gap = 0.01, range = 3): fc.Arbitrary<number[]> {
  const k = Math.round(range / gap);
  return fc
    .uniqueArray(fc.integer({ min: -k, max: k }), { minLength: n, maxLength: n })
    .map((ints) => ints.map((i) => i * gap + offset));
}

/**
 * `k` shapes that broadcast together: an output shape, and for each operand a suffix
 * of it with some axes set to 1 (so 0-d, size-1 and missing leading axes all occur).
 */
export function broadcastShapesArb(k: number, maxDims = 3, maxSide = 3): fc.Arbitrary<number[][]> {
  return shapeArb({ minDims: 1, maxDims, maxSide }).chain((out) => {
    const drop = fc.oneof({ arbitrary: fc.constant(0), weight: 2 }, { arbitrary: fc.noBias(fc.integer({ min: 0, max: out.length })), weight: 1 });
    const oneFlags = fc.array(fc.noBias(fc.integer({ min: 0, max: 2 })), { minLength: out.length, maxLength: out.length });
    const operand = fc.tuple(drop, oneFlags).map(([j, ones]) => out.slice(j).map((d, i) => (ones[i + j] === 0 ? 1 : d)));
    return fc.tuple(...Array.from({ length: k }, () => operand));
  });
}

/** Two shapes that broadcast together (see `broadcastShapesArb`). */
export function broadcastPairArb(maxDims = 3, maxSide = 3): fc.Arbitrary<[number[], number[]]> {
  return broadcastShapesArb(2, maxDims, maxSide).map(([a, b]) => [a!, b!]);
}

/** A leaf and how to view it: `view(leaf)` has the wanted shape, maybe non-contiguous. */
export interface Viewed {
  leaf: Tensor;
  view: (t: Tensor) => Tensor;
  layout: Layout;
}

export type Layout = 'contiguous' | 'transposed' | 'stepSliced' | 'offsetSliced';

/** The leaf shape a layout needs to produce `shape`, and the view that produces it. */
function layoutPlan(shape: readonly number[], layout: Layout): { base: number[]; view: (t: Tensor) => Tensor } {
  const n = shape.length;
  switch (layout) {
    case 'transposed': {
      if (n < 2) return layoutPlan(shape, 'contiguous');
      const base = [...shape];
      [base[n - 2], base[n - 1]] = [base[n - 1]!, base[n - 2]!];
      return { base, view: (t) => t.transpose(-1, -2) };
    }
    case 'stepSliced': {
      if (n < 1) return layoutPlan(shape, 'contiguous');
      // every second element of the last axis: x[..., 0::2]
      const base = [...shape];
      base[n - 1] = 2 * shape[n - 1]!;
      return { base, view: (t) => t.slice(-1, 0, undefined, 2) };
    }
    case 'offsetSliced': {
      if (n < 1) return layoutPlan(shape, 'contiguous');
      // rows 1, 3, 5, ... of the first axis: a non-zero offset and a stride
      const base = [...shape];
      base[0] = 2 * shape[0]! + 1;
      return { base, view: (t) => t.slice(0, 1, undefined, 2) };
    }
    default:
      return { base: [...shape], view: (t) => t };
  }
}

export const layoutArb: fc.Arbitrary<Layout> = fc.constantFrom<Layout>('contiguous', 'transposed', 'stepSliced', 'offsetSliced');

/**
 * An input of `shape` laid out as a random layout. The whole leaf (including the
 * elements the view skips) is filled from `values(n)`, n = the leaf's element count.
 */
export function viewedArb(
  shape: readonly number[],
  values: (n: number) => fc.Arbitrary<number[]> = (n) => valuesArb(n),
  layouts: fc.Arbitrary<Layout> = layoutArb,
): fc.Arbitrary<Viewed> {
  return layouts.chain((layout) => {
    const plan = layoutPlan(shape, layout);
    return values(sizeOf(plan.base)).map((vals) => ({ leaf: f64(vals, plan.base), view: plan.view, layout }));
  });
}

/**
 * Same as `viewedArb`, but values constrained on the *view* (e.g. pairwise distinct):
 * they are drawn for the view's elements and written into a leaf through the view's
 * position map, the rest of the leaf gets `filler` values.
 */
export function viewedFromViewValues(shape: readonly number[], viewValues: number[], layout: Layout, filler = 0.5): Viewed {
  const plan = layoutPlan(shape, layout);
  const n = sizeOf(plan.base);
  // positions of the view's elements inside the leaf: view an index tensor the same way
  const ids = new Tensor(nd.NDArray.fromTyped(Float64Array.from({ length: n }, (_, i) => i), plan.base));
  const positions = plan.view(ids).data.toFloat64Array();
  const vals = new Float64Array(n).fill(filler);
  positions.forEach((p, i) => (vals[p] = viewValues[i]!));
  return { leaf: f64(vals, plan.base), view: plan.view, layout };
}

/** A random axis of an `ndim`-d tensor, as a positive or negative number. */
export function axisArb(ndim: number): fc.Arbitrary<number> {
  return fc.integer({ min: 0, max: ndim - 1 }).chain((a) => fc.constantFrom(a, a - ndim));
}

/** A random (possibly empty) set of distinct axes, some given negatively, or undefined (all axes). */
export function axesArb(ndim: number): fc.Arbitrary<number[] | number | undefined> {
  const all = Array.from({ length: ndim }, (_, i) => i);
  return fc.oneof(
    fc.constant(undefined),
    ndim > 0 ? axisArb(ndim) : fc.constant(undefined),
    fc.subarray(all).chain((sub) => fc.tuple(...sub.map((a) => fc.constantFrom(a, a - ndim)))).map((xs) => [...xs]),
  );
}

/** Normalised axes as a sorted list (undefined = all). */
export function resolveAxes(axes: number[] | number | undefined, ndim: number): number[] {
  if (axes === undefined) return Array.from({ length: ndim }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : axes;
  return list.map((a) => (a < 0 ? a + ndim : a)).sort((a, b) => a - b);
}

/**
 * gradcheck on views: `f` receives each input's view of its leaf (index tensors and
 * masks are closed over by `f`, not passed here).
 */
export function checkViewed(
  f: (...xs: Tensor[]) => Tensor,
  inputs: readonly Viewed[],
  opts: GradcheckOptions = {},
): true {
  return gradcheck((...leaves) => f(...leaves.map((x, i) => inputs[i]!.view(x))), inputs.map((v) => v.leaf), opts);
}

/** int32 index tensor with values in [0, bound). */
export function indexArb(shape: readonly number[], bound: number): fc.Arbitrary<nd.NDArray> {
  return fc
    .array(fc.integer({ min: 0, max: Math.max(bound - 1, 0) }), { minLength: sizeOf(shape), maxLength: sizeOf(shape) })
    .map((ids) => nd.NDArray.fromTyped(Int32Array.from(ids), shape));
}

/** bool mask of `shape`. */
export function maskArb(shape: readonly number[]): fc.Arbitrary<nd.NDArray> {
  return fc
    .array(fc.boolean(), { minLength: sizeOf(shape), maxLength: sizeOf(shape) })
    .map((bs) => nd.NDArray.fromTyped(Uint8Array.from(bs.map(Number)), shape, 'bool'));
}

/** Max |a - b| over two float arrays (same length). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`maxAbsDiff: lengths ${a.length} and ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
