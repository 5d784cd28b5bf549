/**
 * Shared fast-check arbitraries for the tensor tests (and anyone else who needs
 * random NDArrays): shapes, broadcast-compatible shape pairs, arrays filled from a
 * drawn seed, and non-contiguous views of a given shape.
 *
 * Everything is deterministic given what fast-check draws: an array is a function
 * of its shape, a seed and a `Fill`, so a shrunk counterexample reproduces exactly.
 * Every array an arbitrary produces prints (in fast-check's failure report) as its
 * dtype, shape, strides, offset and values.
 *
 * @example
 * fc.assert(fc.property(shapeArb().chain((s) => viewArb(s)), (x) => ...), params(100));
 */
import fc from 'fast-check';
import { allocate, castScalar, isFloat, NDArray, Rng, sizeOf, type DType } from '../src/index.ts';

/** Seed for every property (set TSGRAD_FC_SEED to explore other cases). */
export const FC_SEED = Number(process.env.TSGRAD_FC_SEED ?? 7_271_828);

/** fast-check parameters: the fixed seed, so failures reproduce, and a bounded run count. */
export function params(numRuns: number): fc.Parameters<unknown> {
  return { numRuns, seed: FC_SEED };
}

/** All four dtypes, in promotion order. */
export const ALL_DTYPES: readonly DType[] = ['bool', 'int32', 'float32', 'float64'];

export const dtypeArb = (dtypes: readonly DType[] = ALL_DTYPES): fc.Arbitrary<DType> => fc.constantFrom(...dtypes);

/** A seed for `randomArray` / `Rng`. */
export const seedArb = (): fc.Arbitrary<number> => fc.integer({ min: 0, max: 0x7fffffff });

export interface ShapeOptions {
  minRank?: number;
  maxRank?: number;
  /** Smallest axis size (0 allows empty arrays). Default 1. */
  minSide?: number;
  maxSide?: number;
}

/**
 * Shapes with `minRank..maxRank` axes (default 0..3) of size `minSide..maxSide`
 * (default 1..3). Rank and sizes are drawn without fast-check's bias towards the
 * minimum, so 0-d shapes come up, but not most of the time.
 */
export function shapeArb(opts: ShapeOptions = {}): fc.Arbitrary<number[]> {
  const { minRank = 0, maxRank = 3, minSide = 1, maxSide = 3 } = opts;
  return fc
    .noBias(fc.integer({ min: minRank, max: maxRank }))
    .chain((n) => fc.array(fc.noBias(fc.integer({ min: minSide, max: maxSide })), { minLength: n, maxLength: n }));
}

/** NumPy broadcasting of two shapes, written out independently of the library; null if incompatible. */
export function broadcastShapesRef(a: readonly number[], b: readonly number[]): number[] | null {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return null;
    out.push(da === 1 ? db : da);
  }
  return out;
}

/**
 * Two broadcast-compatible shapes and the shape they broadcast to. Each operand
 * is the full shape with some leading axes dropped (down to 0-d) and some axes
 * set to 1, so size-1 axes, rank differences and 0-d operands all come up.
 */
export function broadcastPairArb(opts: ShapeOptions = {}): fc.Arbitrary<{ a: number[]; b: number[]; out: number[] }> {
  const operand = (full: number[]) =>
    fc
      .tuple(fc.integer({ min: 0, max: full.length }), fc.array(fc.boolean(), { minLength: full.length, maxLength: full.length }))
      .map(([drop, ones]) => full.map((d, i) => (ones[i] ? 1 : d)).slice(drop));
  return shapeArb(opts).chain((full) =>
    fc.tuple(operand(full), operand(full)).map(([a, b]) => ({ a, b, out: broadcastShapesRef(a, b)! })),
  );
}

/** How `randomArray` fills an array. */
export interface Fill {
  dtype?: DType;
  /** Range of the values (default [-3, 3]; for int32, the inclusive integer range). */
  low?: number;
  high?: number;
  /** If > 0, floats are rounded to multiples of `grid` (so ties and equal values occur). */
  grid?: number;
  /** Probability that a float element is one of NaN, +-Infinity, +-0. Default 0. */
  specials?: number;
}

const SPECIAL_VALUES = [NaN, Infinity, -Infinity, 0, -0];

/**
 * A contiguous array of `shape` whose values are drawn from `new Rng(seed)` as `fill` says.
 * @example randomArray([2, 3], 42, { dtype: 'float64', grid: 0.5 })
 */
export function randomArray(shape: readonly number[], seed: number, fill: Fill = {}): NDArray {
  const { dtype = 'float32', low = -3, high = 3, grid = 0, specials = 0 } = fill;
  const rng = new Rng(seed);
  const out = allocate(dtype, sizeOf(shape));
  for (let i = 0; i < out.length; i++) {
    let v: number;
    if (dtype === 'bool') v = rng.uniform() < 0.5 ? 0 : 1;
    else if (dtype === 'int32') v = rng.int(Math.ceil(low), Math.floor(high) + 1);
    else if (specials > 0 && rng.uniform() < specials) v = SPECIAL_VALUES[rng.int(0, SPECIAL_VALUES.length)]!;
    else {
      v = low + (high - low) * rng.uniform();
      if (grid > 0) v = Math.round(v / grid) * grid;
    }
    out[i] = castScalar(v, dtype);
  }
  return labelled(NDArray.fromTyped(out, shape, dtype));
}

/** Draws a contiguous random array of `shape`. */
export function arrayArb(shape: readonly number[], fill: Fill = {}): fc.Arbitrary<NDArray> {
  return seedArb().map((seed) => randomArray(shape, seed, fill));
}

/**
 * How a view of a target shape is cut out of a larger base: the base is stored with
 * its axes in order `perm`, then axis i is sliced from `starts[i]` with step
 * `steps[i]` (base size `slack[i]` larger than needed), or, where `expanded[i]`, the
 * base axis has size 1 and is broadcast with `expand`.
 */
export interface Layout {
  perm: number[];
  starts: number[];
  steps: number[];
  slack: number[];
  expanded: boolean[];
}

/** A random layout for an array of `rank` axes (possibly the trivial, contiguous one). */
export function layoutArb(rank: number): fc.Arbitrary<Layout> {
  const list = <T>(a: fc.Arbitrary<T>) => fc.array(a, { minLength: rank, maxLength: rank });
  return fc.record({
    perm: fc.shuffledSubarray(
      Array.from({ length: rank }, (_, i) => i),
      { minLength: rank, maxLength: rank },
    ),
    starts: list(fc.integer({ min: 0, max: 2 })),
    steps: list(fc.integer({ min: 1, max: 3 })),
    slack: list(fc.integer({ min: 0, max: 1 })),
    expanded: list(fc.boolean()),
  });
}

/**
 * The view of `shape` that `layout` describes, over a base filled by `randomArray(_, seed, fill)`.
 * The result shares storage with that base, so it is usually not contiguous.
 */
export function makeView(shape: readonly number[], layout: Layout, seed: number, fill: Fill = {}): NDArray {
  const n = shape.length;
  const baseDims = shape.map((d, i) =>
    layout.expanded[i] ? 1 : layout.starts[i]! + (d > 0 ? (d - 1) * layout.steps[i]! + 1 : 0) + layout.slack[i]!,
  );
  const stored = layout.perm.map((a) => baseDims[a]!);
  const inverse = new Array<number>(n);
  layout.perm.forEach((a, j) => {
    inverse[a] = j;
  });
  let v = randomArray(stored, seed, fill).permute(inverse);
  for (let i = 0; i < n; i++) {
    if (layout.expanded[i]) continue;
    const s = layout.starts[i]!;
    v = v.slice(i, s, s + (shape[i]! > 0 ? (shape[i]! - 1) * layout.steps[i]! + 1 : 0), layout.steps[i]!);
  }
  return labelled(v.expand(shape));
}

/**
 * An array of exactly `shape` in a random layout: transposed storage, sliced with
 * steps and offsets, and broadcast (stride-0) axes; sometimes plainly contiguous.
 * @example shapeArb().chain((s) => viewArb(s, { dtype: 'float64' }))
 */
export function viewArb(shape: readonly number[], fill: Fill = {}): fc.Arbitrary<NDArray> {
  return fc.oneof(
    { weight: 1, arbitrary: arrayArb(shape, fill) },
    { weight: 3, arbitrary: fc.tuple(layoutArb(shape.length), seedArb()).map(([layout, seed]) => makeView(shape, layout, seed, fill)) },
  );
}

/** Like `viewArb`, but with a dtype drawn from `dtypes` (the rest of `fill` applies). */
export function anyDtypeViewArb(shape: readonly number[], dtypes: readonly DType[] = ALL_DTYPES, fill: Fill = {}): fc.Arbitrary<NDArray> {
  return dtypeArb(dtypes).chain((dtype) => viewArb(shape, { ...fill, dtype, specials: isFloat(dtype) ? fill.specials : 0 }));
}

/**
 * A reduction axis argument for a tensor of `rank` axes: undefined (all axes), one
 * axis, or a list of distinct axes in any order; axes may be negative.
 */
export function axesArb(rank: number): fc.Arbitrary<number | number[] | undefined> {
  const axes = Array.from({ length: rank }, (_, i) => i);
  const signed = (a: number) => fc.boolean().map((neg) => (neg ? a - rank : a));
  const list: fc.Arbitrary<number[]> = fc
    .shuffledSubarray(axes)
    .chain((sub) => (sub.length === 0 ? fc.constant<number[]>([]) : fc.tuple(...sub.map(signed)).map((t) => [...t] as number[])));
  const alternatives: fc.Arbitrary<number | number[] | undefined>[] = [fc.constant(undefined), list];
  if (rank > 0) alternatives.push(fc.integer({ min: 0, max: rank - 1 }).chain(signed));
  return fc.oneof(...alternatives);
}

/** Attaches a readable description for fast-check's counterexample report. */
function labelled(x: NDArray): NDArray {
  Object.defineProperty(x, fc.toStringMethod, {
    value: () =>
      `NDArray(${x.dtype}, shape [${x.shape.join(', ')}], strides [${x.strides.join(', ')}], offset ${x.offset}, ${JSON.stringify(x.toArray(), (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v))})`,
    enumerable: false,
  });
  return x;
}
