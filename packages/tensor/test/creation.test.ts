/**
 * Creation: array from nested values, zeros/ones/full dtypes, arange, linspace, eye.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import * as nd from '../src/index.ts';
import { castScalar, type DType } from '../src/index.ts';
import { ALL_DTYPES, params, shapeArb } from './arbitraries.ts';
import { assertArray, build, indices, shapeOf, values } from './reference.ts';

test('array(nested) round-trips through toArray for every dtype', () => {
  fc.assert(
    fc.property(
      shapeArb({ maxRank: 4, minSide: 0 }),
      fc.constantFrom(...ALL_DTYPES),
      fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 100 }),
      (shape, dtype, pool) => {
        let k = 0;
        const nested = build(shape, () => pool[k++ % pool.length]!);
        const x = nd.array(nested, dtype);
        // an empty axis hides the axes after it: [[], []] has shape [2, 0]
        const expectedShape = shapeOf(nested);
        assert.equal(expectedShape, shape.includes(0) ? shape.slice(0, shape.indexOf(0) + 1) : shape);
        assert.is(x.dtype, dtype);
        assert.ok(x.isContiguous());
        assertArray(x, build(expectedShape, (idx) => castScalar(poolAt(pool, expectedShape, idx), dtype)), { shape: expectedShape });
        assert.equal(nd.array(x.toArray(), dtype).toArray(), x.toArray(), 'toArray round-trips');
      },
    ),
    params(100),
  );
});

/** The value `build` put at `idx` when filling from `pool` in row-major order. */
function poolAt(pool: number[], shape: number[], idx: number[]): number {
  let flat = 0;
  for (let i = 0; i < shape.length; i++) flat = flat * shape[i]! + idx[i]!;
  return pool[flat % pool.length]!;
}

test('array: default dtypes, booleans, typed arrays, 0-d', () => {
  assert.is(nd.array([1, 2]).dtype, 'float32');
  assert.is(nd.array([true, false]).dtype, 'bool');
  assert.equal(nd.array([[true], [false]]).toArray(), [[true], [false]]);
  assert.equal(nd.array(new Float64Array([1.5, 2.5]), 'float64').toArray(), [1.5, 2.5]);
  assert.is(nd.array(new Float64Array([0.1])).data[0], Math.fround(0.1));
  const s = nd.array(7, 'int32');
  assert.equal(s.shape, []);
  assert.is(s.item(), 7);
  assert.equal(nd.array([]).shape, [0]);
  assert.equal(nd.array([[], []]).shape, [2, 0]);
  assert.equal(nd.array([1.9, -1.9], 'int32').toArray(), [1, -1], 'int32 truncates toward 0');
});

test('zeros / ones / full: shape, dtype and value', () => {
  fc.assert(
    fc.property(shapeArb({ maxRank: 3, minSide: 0 }), fc.constantFrom(...ALL_DTYPES), fc.double({ min: -100, max: 100, noNaN: true }), (shape, dtype, v) => {
      const n = indices(shape).length;
      assertArray(nd.zeros(shape, dtype), new Array<number>(n).fill(0), { shape, dtype });
      assertArray(nd.ones(shape, dtype), new Array<number>(n).fill(1), { shape, dtype });
      assertArray(nd.full(shape, v, dtype), new Array<number>(n).fill(castScalar(v, dtype)), { shape, dtype });
    }),
    params(100),
  );
  assert.is(nd.zeros([2]).dtype, 'float32');
  assert.is(nd.ones([2]).dtype, 'float32');
  assert.is(nd.full([2], 3).dtype, 'float32');
  assert.is(nd.full([2], true).dtype, 'bool');
  assert.equal(nd.full([2], true).toArray(), [true, true]);
  assert.equal(nd.ones([2, 2], 'bool').toArray(), [[true, true], [true, true]]);
  assert.is(nd.scalar(2.5).dtype, 'float32');
});

test('arange matches a reference loop (positive/negative/fractional steps, empty ranges)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: -20, max: 20 }),
      fc.integer({ min: -20, max: 20 }),
      fc.constantFrom(1, 2, 3, -1, -2, 0.5, 0.25, -0.75),
      fc.option(fc.constantFrom<DType>('float64', 'float32', 'int32'), { nil: undefined }),
      (start, end, step, dtype) => {
        const ref: number[] = [];
        if (step > 0) for (let v = start; v < end; v += step) ref.push(v);
        else for (let v = start; v > end; v += step) ref.push(v);
        const want: DType = dtype ?? (Number.isInteger(step) ? 'int32' : 'float32');
        assertArray(nd.arange(start, end, step, dtype), ref.map((v) => castScalar(v, want)), { shape: [ref.length], dtype: want });
      },
    ),
    params(200),
  );
  assert.equal(nd.arange(5).toArray(), [0, 1, 2, 3, 4]);
  assert.is(nd.arange(5).dtype, 'int32');
  assert.is(nd.arange(0, 1, 0.25).dtype, 'float32');
  assert.equal(nd.arange(0, 1, 0.25).toArray(), [0, 0.25, 0.5, 0.75]);
  assert.equal(nd.arange(3, 3).shape, [0]);
  assert.throws(() => nd.arange(0, 5, 0), /arange: step must not be 0/);
});

test('linspace hits both endpoints exactly and is evenly spaced', () => {
  fc.assert(
    fc.property(
      fc.double({ min: -100, max: 100, noNaN: true }),
      fc.double({ min: -100, max: 100, noNaN: true }),
      fc.integer({ min: 2, max: 50 }),
      fc.constantFrom<DType>('float64', 'float32'),
      (start, end, steps, dtype) => {
        const x = values(nd.linspace(start, end, steps, dtype));
        assert.is(x.length, steps);
        assert.is(x[0], castScalar(start, dtype), 'first value is start');
        assert.is(x[steps - 1], castScalar(end, dtype), 'last value is end');
        const h = (end - start) / (steps - 1);
        const tol = (dtype === 'float32' ? 1e-6 : 1e-13) * (Math.abs(start) + Math.abs(end) + 1);
        x.forEach((v, i) => assert.ok(Math.abs(v - (start + i * h)) <= tol, `x[${i}] = ${v}, expected ${start + i * h}`));
      },
    ),
    params(300),
  );
  assert.equal(nd.linspace(0, 1, 5, 'float64').toArray(), [0, 0.25, 0.5, 0.75, 1]);
  assert.equal(nd.linspace(3, 7, 1, 'float64').toArray(), [3]);
  assert.equal(nd.linspace(3, 7, 0).shape, [0]);
  assert.is(nd.linspace(0, 1, 3).dtype, 'float32');
});

test('eye: ones on the diagonal only, rectangular too', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 6 }), fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }), fc.constantFrom(...ALL_DTYPES), (n, m, dtype) => {
      const cols = m ?? n;
      assertArray(nd.eye(n, m, dtype), build([n, cols], ([i, j]) => Number(i === j)), { shape: [n, cols], dtype });
    }),
    params(60),
  );
  assert.is(nd.eye(2).dtype, 'float32');
});

test.run();
