/**
 * Reductions against naive references over random axis sets (with keepdim, views,
 * every dtype), plus logsumexp/softmax stability.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import * as nd from '../src/index.ts';
import { castScalar, type DType, type NDArray } from '../src/index.ts';
import { ALL_DTYPES, anyDtypeViewArb, axesArb, params, randomArray, shapeArb, viewArb, type Fill } from './arbitraries.ts';
import { assertArray, at, indices, values } from './reference.ts';

type Axes = number | number[] | undefined;

/** Sorted, non-negative axes; undefined means all. */
function normAxes(axes: Axes, ndim: number): number[] {
  if (axes === undefined) return Array.from({ length: ndim }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : axes;
  return list.map((a) => (a < 0 ? a + ndim : a)).sort((a, b) => a - b);
}

/**
 * Reduces `x` over `axes` one output element at a time: collects the values of each
 * reduced block in row-major order and applies `fn`. Returns the keepdim shape and values.
 */
function reduceRef(x: NDArray, axes: number[], fn: (v: number[]) => number): { keepShape: number[]; flat: number[] } {
  const nested = x.toArray();
  const keepShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const blockShape = axes.map((a) => x.shape[a]!);
  const blocks = indices(blockShape);
  const flat = indices(keepShape).map((out) =>
    fn(
      blocks.map((b) => {
        const idx = [...out];
        axes.forEach((a, j) => (idx[a] = b[j]!));
        return at(nested, idx);
      }),
    ),
  );
  return { keepShape, flat };
}

const naive = {
  sum: (v: number[]) => v.reduce((s, x) => s + x, 0),
  prod: (v: number[]) => v.reduce((s, x) => s * x, 1),
  mean: (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length,
  max: (v: number[]) => (v.some(Number.isNaN) ? NaN : Math.max(...v)),
  min: (v: number[]) => (v.some(Number.isNaN) ? NaN : Math.min(...v)),
  variance: (ddof: number) => (v: number[]) => {
    const m = v.reduce((s, x) => s + x, 0) / v.length;
    return v.reduce((s, x) => s + (x - m) ** 2, 0) / Math.max(v.length - ddof, 0);
  },
  logsumexp: (v: number[]) => {
    const m = Math.max(...v);
    if (m === -Infinity) return -Infinity;
    if (m === Infinity) return Infinity;
    return m + Math.log(v.reduce((s, x) => s + Math.exp(x - m), 0));
  },
};

const floatOr = (d: DType, other: DType): DType => (d === 'float32' || d === 'float64' ? d : other);

interface ReduceSpec {
  run: (x: NDArray, axes: Axes, keepdim: boolean) => NDArray;
  ref: (v: number[]) => number;
  dtype: (d: DType) => DType;
  /** Tolerance for float32 / float64 results (relative and absolute). */
  tol: [number, number];
  fill: Fill;
  minSide: number;
}

const REDUCTIONS: Record<string, ReduceSpec> = {
  sum: { run: nd.sum, ref: naive.sum, dtype: (d) => (d === 'bool' ? 'int32' : d), tol: [1e-6, 1e-13], fill: { specials: 0.05 }, minSide: 0 },
  prod: {
    run: nd.prod,
    ref: naive.prod,
    dtype: (d) => (d === 'bool' ? 'int32' : d),
    tol: [1e-6, 1e-13],
    fill: { low: -1.6, high: 1.6, specials: 0.05 },
    minSide: 0,
  },
  mean: { run: nd.mean, ref: naive.mean, dtype: (d) => floatOr(d, 'float32'), tol: [1e-6, 1e-13], fill: {}, minSide: 0 },
  max: { run: nd.max, ref: naive.max, dtype: (d) => d, tol: [0, 0], fill: { grid: 0.5, specials: 0.05 }, minSide: 1 },
  min: { run: nd.min, ref: naive.min, dtype: (d) => d, tol: [0, 0], fill: { grid: 0.5, specials: 0.05 }, minSide: 1 },
  varUnbiased: {
    run: (x, axes, keepdim) => nd.variance(x, axes, { keepdim }),
    ref: naive.variance(1),
    dtype: (d) => floatOr(d, 'float32'),
    tol: [1e-5, 1e-12],
    fill: {},
    minSide: 1,
  },
  varBiased: {
    run: (x, axes, keepdim) => nd.variance(x, axes, { unbiased: false, keepdim }),
    ref: naive.variance(0),
    dtype: (d) => floatOr(d, 'float32'),
    tol: [1e-5, 1e-12],
    fill: {},
    minSide: 1,
  },
  logsumexp: { run: nd.logsumexp, ref: naive.logsumexp, dtype: (d) => floatOr(d, 'float32'), tol: [1e-6, 1e-13], fill: { specials: 0.05 }, minSide: 1 },
};

test('reductions match naive references over random axis sets, keepdim or not', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...Object.keys(REDUCTIONS)).chain((name) =>
        shapeArb({ maxRank: 4, minSide: REDUCTIONS[name]!.minSide }).chain((s) =>
          fc.tuple(fc.constant(name), anyDtypeViewArb(s, ALL_DTYPES, REDUCTIONS[name]!.fill), axesArb(s.length), fc.boolean()),
        ),
      ),
      ([name, x, axes, keepdim]) => {
        const spec = REDUCTIONS[name]!;
        const ax = normAxes(axes, x.ndim);
        const { keepShape, flat } = reduceRef(x, ax, spec.ref);
        const dtype = spec.dtype(x.dtype);
        const shape = keepdim ? keepShape : x.shape.filter((_, i) => !ax.includes(i));
        const tol = dtype === 'float32' ? spec.tol[0] : dtype === 'float64' ? spec.tol[1] : 0;
        const r = spec.run(x, axes, keepdim);
        assertArray(r, flat.map((v) => castScalar(v, dtype)), { shape, dtype, rtol: tol, atol: tol, what: `${name}(${x.dtype}[${x.shape}], ${JSON.stringify(axes)}, ${keepdim})` });
      },
    ),
    params(1500),
  );
});

/** Index of the first maximum (argmax) or minimum, where a NaN counts as the extreme. */
function argRef(v: number[], max: boolean): number {
  const nan = v.findIndex(Number.isNaN);
  if (nan >= 0) return nan;
  let best = 0;
  for (let i = 1; i < v.length; i++) if (max ? v[i]! > v[best]! : v[i]! < v[best]!) best = i;
  return best;
}

test('argmax/argmin: first extreme wins, along an axis or over the flattened array', () => {
  fc.assert(
    fc.property(
      shapeArb({ maxRank: 3 }).chain((s) =>
        fc.tuple(
          anyDtypeViewArb(s, ALL_DTYPES, { grid: 1, low: -2, high: 2, specials: 0.05 }),
          s.length === 0 ? fc.constant(undefined) : fc.option(fc.integer({ min: -s.length, max: s.length - 1 }), { nil: undefined }),
          fc.boolean(),
          fc.boolean(),
        ),
      ),
      ([x, axis, keepdim, isMax]) => {
        const f = isMax ? nd.argmax : nd.argmin;
        const r = f(x, axis, keepdim);
        if (axis === undefined) {
          assert.equal(r.shape, keepdim ? x.shape.map(() => 1) : []);
          assertArray(r, [argRef(values(x), isMax)], { dtype: 'int32' });
        } else {
          const ax = axis < 0 ? axis + x.ndim : axis;
          const { keepShape, flat } = reduceRef(x, [ax], (v) => argRef(v, isMax));
          assertArray(r, flat, { dtype: 'int32', shape: keepdim ? keepShape : x.shape.filter((_, i) => i !== ax) });
        }
      },
    ),
    params(600),
  );
});

test('sum over all axes equals summing over each axis in turn, in any order', () => {
  fc.assert(
    fc.property(
      shapeArb({ minRank: 1, maxRank: 4, minSide: 0 }).chain((s) =>
        fc.tuple(viewArb(s, { dtype: 'float64' }), fc.shuffledSubarray(s.map((_, i) => i), { minLength: s.length, maxLength: s.length }), fc.boolean()),
      ),
      ([x, order, keepdim]) => {
        let cur = x;
        if (keepdim) {
          for (const a of order) cur = nd.sum(cur, a, true);
          assert.equal(cur.shape, x.shape.map(() => 1));
        } else {
          // axes shift down as earlier (smaller) ones disappear
          const left = [...order];
          while (left.length > 0) {
            const a = left.shift()!;
            cur = nd.sum(cur, a - order.filter((b) => b < a && !left.includes(b)).length);
          }
          assert.equal(cur.shape, []);
        }
        const total = nd.sum(x);
        assert.equal(total.shape, []);
        assertArray(cur, [total.item()], { rtol: 1e-12, atol: 1e-12 });
        assertArray(nd.sum(x, undefined, true), [total.item()], { shape: x.shape.map(() => 1), rtol: 0 });
      },
    ),
    params(200),
  );
});

test('mean equals sum / count and var equals mean of squared deviations (float64)', () => {
  fc.assert(
    fc.property(
      shapeArb({ minRank: 1, maxRank: 3 }).chain((s) => fc.tuple(viewArb(s, { dtype: 'float64' }), axesArb(s.length))),
      ([x, axes]) => {
        const ax = normAxes(axes, x.ndim);
        const n = ax.reduce((p, a) => p * x.shape[a]!, 1);
        assertArray(nd.mean(x, axes), values(nd.div(nd.sum(x, axes), n)), { rtol: 1e-14, atol: 1e-14 });
        const biased = values(nd.variance(x, axes, { unbiased: false }));
        const unbiased = values(nd.variance(x, axes));
        biased.forEach((b, i) => {
          assert.ok(b >= 0);
          if (n > 1) assert.ok(Math.abs(unbiased[i]! - (b * n) / (n - 1)) <= 1e-12 * (1 + b), 'unbiased = biased * n / (n - 1)');
        });
      },
    ),
    params(150),
  );
});

test('reductions of empty axes: sum 0, prod 1, mean NaN; max/argmax throw', () => {
  const e = nd.zeros([2, 0], 'float64');
  assert.equal(nd.sum(e, 1).toArray(), [0, 0]);
  assert.equal(nd.prod(e, 1).toArray(), [1, 1]);
  assert.ok(values(nd.mean(e, 1)).every(Number.isNaN));
  assert.equal(nd.sum(e, 0).shape, [0]);
  assert.throws(() => nd.max(e, 1), /max/);
  assert.throws(() => nd.argmax(e, 1), /argmax/);
  // a 0-d array reduces to itself
  const s = nd.scalar(3.5, 'float64');
  assert.is(nd.sum(s).item(), 3.5);
  assert.is(nd.max(s).item(), 3.5);
  assert.is(nd.argmax(s).item(), 0);
});

test('logsumexp is stable for large values and -inf rows', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    const x = nd.array([[1e4, 1e4], [1e4, 1e4 - 1], [-1e4, -1e4], [-Infinity, -Infinity], [-Infinity, 0], [Infinity, 1]], dtype);
    const r = values(nd.logsumexp(x, 1));
    const want = [1e4 + Math.log(2), 1e4 + Math.log(1 + Math.exp(-1)), -1e4 + Math.log(2), -Infinity, 0, Infinity];
    r.forEach((v, i) => {
      const tol = dtype === 'float32' ? 1e-3 : 1e-11;
      assert.ok(v === want[i] || Math.abs(v - want[i]!) <= tol, `${dtype} row ${i}: ${v} vs ${want[i]}`);
    });
  }
  fc.assert(
    fc.property(
      shapeArb({ minRank: 1, maxRank: 3 }).chain((s) => fc.tuple(viewArb(s, { dtype: 'float64', low: -5, high: 5 }), axesArb(s.length), fc.constantFrom(1e4, -1e4, 700, 1e300))),
      ([x, axes, shift]) => {
        // logsumexp(x + c) = logsumexp(x) + c, far beyond where exp overflows
        const a = values(nd.logsumexp(nd.add(x, shift), axes));
        const b = values(nd.logsumexp(x, axes)).map((v) => v + shift);
        a.forEach((v, i) => assert.ok(Number.isFinite(v) && Math.abs(v - b[i]!) <= 1e-12 * Math.abs(shift) + 1e-12, `${v} vs ${b[i]}`));
      },
    ),
    params(100),
  );
});

test('softmax rows sum to 1; logSoftmax = log(softmax); both stable for large inputs', () => {
  fc.assert(
    fc.property(
      shapeArb({ minRank: 1, maxRank: 3 }).chain((s) =>
        fc.tuple(
          anyDtypeViewArb(s, ['float32', 'float64'], { low: -20, high: 20 }),
          fc.integer({ min: -s.length, max: s.length - 1 }),
          fc.constantFrom(0, 1e4, -1e4),
        ),
      ),
      ([x0, axis, shift]) => {
        const x = nd.add(x0, shift);
        const ax = axis < 0 ? axis + x.ndim : axis;
        const p = nd.softmax(x, axis);
        const f32 = x.dtype === 'float32';
        assert.equal(p.shape, x.shape);
        assert.is(p.dtype, x.dtype);
        const pv = values(p);
        assert.ok(pv.every((v) => v >= 0 && v <= 1), 'probabilities in [0, 1]');
        const { flat: sums } = reduceRef(p, [ax], naive.sum);
        sums.forEach((s) => assert.ok(Math.abs(s - 1) <= (f32 ? 1e-5 : 1e-13), `row sums to ${s}`));
        // against the textbook formula on the unshifted input (softmax is shift-invariant)
        const nested = x0.toArray();
        const expected = indices(x.shape).map((idx) => {
          const row = Array.from({ length: x.shape[ax]! }, (_, j) => at(nested, idx.map((v, i) => (i === ax ? j : v))));
          const m = Math.max(...row);
          return Math.exp(at(nested, idx) - m) / row.reduce((s, v) => s + Math.exp(v - m), 0);
        });
        assertArray(p, expected, { rtol: f32 ? 2e-3 : 1e-9, atol: f32 ? 1e-6 : 1e-12 });
        const lp = nd.logSoftmax(x, axis);
        assert.ok(values(lp).every((v) => Number.isFinite(v) && v <= 0), 'log-probabilities finite and <= 0');
        // compare where softmax is not so small that log(softmax) loses all precision
        const logp = expected.map(Math.log);
        values(lp).forEach((v, i) => {
          if (expected[i]! > 1e-30) assert.ok(Math.abs(v - logp[i]!) <= (f32 ? 2e-3 : 1e-9) * (1 + Math.abs(logp[i]!)), `logSoftmax ${v} vs log(softmax) ${logp[i]}`);
        });
      },
    ),
    params(200),
  );
});

test('softmax of a row with -inf entries gives them probability 0', () => {
  const x = nd.array([[-Infinity, 0, 0], [1, -Infinity, 1]], 'float64');
  assert.equal(nd.softmax(x, 1).toArray(), [[0, 0.5, 0.5], [0.5, 0, 0.5]]);
  assertArray(nd.logSoftmax(x, 1), [[-Infinity, -Math.LN2, -Math.LN2], [-Math.LN2, -Infinity, -Math.LN2]], { rtol: 1e-15 });
  assert.equal(values(nd.softmax(randomArray([3, 1], 1, { dtype: 'float64' }), 1)), [1, 1, 1]);
});

test('reductions over an empty axis: sum 0, logsumexp -inf, softmax empty, max throws', () => {
  const x = nd.zeros([2, 0], 'float64');
  assert.equal(nd.sum(x, 1).toArray(), [0, 0]);
  assert.equal(nd.logsumexp(x, 1).toArray(), [-Infinity, -Infinity]);
  assert.equal(nd.logsumexp(x, 1, true).shape, [2, 1]);
  assert.equal(nd.softmax(x, 1).shape, [2, 0]);
  assert.equal(nd.logSoftmax(x, 1).shape, [2, 0]);
  assert.throws(() => nd.max(x, 1), /max: cannot reduce over an empty axis/);
});

test.run();
