/**
 * Index ops: gather/scatterAdd and indexSelect/indexAdd against references and as
 * adjoint pairs, oneHot, cat/stack, and where with broadcasting.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import * as nd from '../src/index.ts';
import { NDArray, castScalar, type DType } from '../src/index.ts';
import { ALL_DTYPES, anyDtypeViewArb, broadcastPairArb, broadcastShapesRef, params, randomArray, shapeArb, viewArb } from './arbitraries.ts';
import { assertArray, at, broadcastIndex, build, dot, indices, values } from './reference.ts';

/** An int32 array of `shape` with entries in [0, size) (the only legal ones: negatives are refused), possibly a view. */
function indexArb(shape: readonly number[], size: number): fc.Arbitrary<NDArray> {
  return viewArb(shape, { dtype: 'int32', low: 0, high: size - 1 });
}

/** x's shape, an axis, and an index shape that fits gather (other axes no larger than x's). */
const gatherCase = shapeArb({ minRank: 1, maxRank: 3 }).chain((s) =>
  fc.integer({ min: 0, max: s.length - 1 }).chain((axis) =>
    fc
      .tuple(...s.map((d, i) => fc.integer({ min: 0, max: i === axis ? 4 : d })))
      .chain((t) => fc.tuple(fc.constant(s), fc.constant(axis), fc.constant(t as number[]), indexArb(t as number[], s[axis]!))),
  ),
);

test('gather matches the torch.gather definition', () => {
  fc.assert(
    fc.property(
      gatherCase.chain(([s, axis, t, idx]) => fc.tuple(anyDtypeViewArb(s), fc.constant(axis), fc.constant(t), fc.constant(idx))),
      ([x, axis, t, idx]) => {
        const X = x.toArray();
        const I = idx.toArray();
        const expected = build(t, (p) => at(X, p.map((v, i) => (i === axis ? at(I, p) : v))));
        assertArray(nd.gather(x, axis, idx), expected, { shape: t, dtype: x.dtype });
      },
    ),
    params(400),
  );
});

test('gather and scatterAdd are adjoint: <gather(x, idx), y> = <x, scatterAdd(0, idx, y)>', () => {
  fc.assert(
    fc.property(
      gatherCase.chain(([s, axis, t, idx]) =>
        fc.tuple(viewArb(s, { dtype: 'float64' }), fc.constant(axis), fc.constant(idx), viewArb(t, { dtype: 'float64' }), fc.integer({ min: -s.length, max: -1 })),
      ),
      ([x, axis, idx, y]) => {
        const lhs = dot(values(nd.gather(x, axis, idx)), values(y));
        const scattered = nd.scatterAdd(nd.zeros(x.shape, 'float64'), axis, idx, y);
        const rhs = dot(values(x), values(scattered));
        assert.ok(Math.abs(lhs - rhs) <= 1e-12 * (1 + Math.abs(lhs)), `${lhs} vs ${rhs}`);
        // the same with a negative axis
        const neg = axis - x.ndim;
        assert.equal(values(nd.scatterAdd(nd.zeros(x.shape, 'float64'), neg, idx, y)), values(scattered));
      },
    ),
    params(400),
  );
});

test('scatterAdd adds into a copy, accumulating duplicate indices', () => {
  fc.assert(
    fc.property(
      gatherCase.chain(([s, axis, t, idx]) =>
        fc.tuple(viewArb(s, { dtype: 'float64', grid: 0.5 }), fc.constant(axis), fc.constant(idx), viewArb(t, { dtype: 'float64', grid: 0.5 })),
      ),
      ([x, axis, idx, src]) => {
        const before = x.toArray();
        const r = nd.scatterAdd(x, axis, idx, src);
        assert.equal(x.toArray(), before, 'input unchanged');
        const acc = values(x);
        const strides = x.shape.map((_, i) => x.shape.slice(i + 1).reduce((a, b) => a * b, 1));
        const I = idx.toArray();
        const S = src.toArray();
        for (const p of indices(idx.shape)) {
          const target = p.map((v, i) => (i === axis ? at(I, p) : v));
          acc[target.reduce((o, v, i) => o + v * strides[i]!, 0)]! += at(S, p);
        }
        assertArray(r, acc, { shape: x.shape, dtype: 'float64' });
      },
    ),
    params(300),
  );
});

/** x's shape, an axis and a 1-D index into that axis. */
const selectCase = shapeArb({ minRank: 1, maxRank: 3 }).chain((s) =>
  fc.integer({ min: 0, max: s.length - 1 }).chain((axis) =>
    fc.integer({ min: 0, max: 5 }).chain((len) => fc.tuple(fc.constant(s), fc.constant(axis), indexArb([len], s[axis]!))),
  ),
);

test('indexSelect picks whole slices; indexAdd is its adjoint', () => {
  fc.assert(
    fc.property(
      selectCase.chain(([s, axis, idx]) => {
        const t = s.map((d, i) => (i === axis ? idx.size : d));
        return fc.tuple(anyDtypeViewArb(s), fc.constant(axis), fc.constant(idx), viewArb(t, { dtype: 'float64' }), viewArb(s, { dtype: 'float64' }));
      }),
      ([x, axis, idx, y, xf]) => {
        const I = values(idx);
        const X = x.toArray();
        const t = x.shape.map((d, i) => (i === axis ? I.length : d));
        assertArray(nd.indexSelect(x, axis, idx), build(t, (p) => at(X, p.map((v, i) => (i === axis ? I[v]! : v)))), { shape: t, dtype: x.dtype });
        // adjointness on float64
        const lhs = dot(values(nd.indexSelect(xf, axis, idx)), values(y));
        const rhs = dot(values(xf), values(nd.indexAdd(nd.zeros(x.shape, 'float64'), axis, idx, y)));
        assert.ok(Math.abs(lhs - rhs) <= 1e-12 * (1 + Math.abs(lhs)), `${lhs} vs ${rhs}`);
      },
    ),
    params(400),
  );
});

test('indexAdd matches a reference and leaves its input unchanged', () => {
  fc.assert(
    fc.property(
      selectCase.chain(([s, axis, idx]) => {
        const t = s.map((d, i) => (i === axis ? idx.size : d));
        return fc.tuple(viewArb(s, { dtype: 'float64', grid: 0.5 }), fc.constant(axis), fc.constant(idx), viewArb(t, { dtype: 'float64', grid: 0.5 }));
      }),
      ([x, axis, idx, src]) => {
        const before = x.toArray();
        const I = values(idx);
        const S = src.toArray();
        const X = x.toArray();
        const expected = build(x.shape, (p) => {
          let v = at(X, p);
          I.forEach((j, k) => {
            if (j === p[axis]) v += at(S, p.map((q, i) => (i === axis ? k : q)));
          });
          return v;
        });
        assertArray(nd.indexAdd(x, axis, idx, src), expected, { shape: x.shape, dtype: 'float64' });
        assert.equal(x.toArray(), before);
      },
    ),
    params(300),
  );
});

test('oneHot matches a reference', () => {
  fc.assert(
    fc.property(
      shapeArb({ maxRank: 2, minSide: 0 }).chain((s) =>
        fc.integer({ min: 1, max: 5 }).chain((c) => fc.tuple(indexArb(s, c), fc.constant(c), fc.constantFrom<'float32' | 'float64' | 'int32'>('float32', 'float64', 'int32'))),
      ),
      ([ids, c, dtype]) => {
        const I = ids.toArray();
        const r = nd.oneHot(ids, c, dtype);
        assertArray(r, build([...ids.shape, c], (p) => Number(at(I, p.slice(0, -1)) === p[p.length - 1])), { shape: [...ids.shape, c], dtype });
      },
    ),
    params(100),
  );
  assert.is(nd.oneHot(nd.array([0, 2], 'int32'), 3).dtype, 'int32');
});

test('cat and stack match references (views, negative axes, dtype promotion)', () => {
  fc.assert(
    fc.property(
      shapeArb({ minRank: 1, maxRank: 3 }).chain((s) =>
        fc.tuple(
          fc.integer({ min: -s.length, max: s.length - 1 }),
          fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 4 }),
          fc.constant(s),
        ).chain(([axis, lens, s2]) => {
          const ax = axis < 0 ? axis + s2.length : axis;
          return fc.tuple(fc.constant(axis), fc.tuple(...lens.map((l) => anyDtypeViewArb(s2.map((d, i) => (i === ax ? l : d)), ALL_DTYPES, { grid: 0.5 }))));
        }),
      ),
      ([axis, parts]) => {
        const ax = axis < 0 ? axis + parts[0]!.ndim : axis;
        const dtype = parts.map((p) => p.dtype).reduce((a, b) => (RANK[a] >= RANK[b] ? a : b));
        const offsets: number[] = [];
        let total = 0;
        for (const p of parts) {
          offsets.push(total);
          total += p.shape[ax]!;
        }
        const shape = parts[0]!.shape.map((d, i) => (i === ax ? total : d));
        const nested = parts.map((p) => p.toArray());
        const expected = build(shape, (idx) => {
          let k = parts.length - 1;
          while (offsets[k]! > idx[ax]!) k--;
          return castScalar(at(nested[k]!, idx.map((v, i) => (i === ax ? v - offsets[k]! : v))), dtype);
        });
        assertArray(nd.cat(parts, axis), expected, { shape, dtype });
      },
    ),
    params(400),
  );
  fc.assert(
    fc.property(
      shapeArb({ maxRank: 3 }).chain((s) =>
        fc.tuple(fc.integer({ min: -s.length - 1, max: s.length }), fc.array(viewArb(s, { dtype: 'float64' }), { minLength: 1, maxLength: 4 })),
      ),
      ([axis, parts]) => {
        const ax = axis < 0 ? axis + parts[0]!.ndim + 1 : axis;
        const shape = [...parts[0]!.shape];
        shape.splice(ax, 0, parts.length);
        const nested = parts.map((p) => p.toArray());
        assertArray(nd.stack(parts, axis), build(shape, (idx) => at(nested[idx[ax]!]!, idx.filter((_, i) => i !== ax))), { shape, dtype: 'float64' });
      },
    ),
    params(300),
  );
});

const RANK: Record<DType, number> = { bool: 0, int32: 1, float32: 2, float64: 3 };

test('where with broadcasting matches a reference', () => {
  fc.assert(
    fc.property(
      broadcastPairArb({ maxRank: 3 }).chain(({ a, b, out }) =>
        shapeArb({ maxRank: 2 }).chain((extra) => {
          // a condition shape compatible with the broadcast of a and b
          const c = out.slice(out.length - Math.min(extra.length, out.length)).map((d, i) => (extra[i] === 1 ? 1 : d));
          return fc.tuple(
            anyDtypeViewArb(c, ['bool', 'int32', 'float64'], { grid: 1, low: -1, high: 1 }),
            anyDtypeViewArb(a, ALL_DTYPES, { grid: 0.5 }),
            anyDtypeViewArb(b, ALL_DTYPES, { grid: 0.5 }),
          );
        }),
      ),
      ([cond, a, b]) => {
        const out = broadcastShapesRef(broadcastShapesRef(a.shape, b.shape)!, cond.shape)!;
        const dtype = RANK[a.dtype] >= RANK[b.dtype] ? a.dtype : b.dtype;
        const C = cond.toArray();
        const A = a.toArray();
        const B = b.toArray();
        const expected = build(out, (idx) =>
          castScalar(at(C, broadcastIndex(idx, cond.shape)) !== 0 ? at(A, broadcastIndex(idx, a.shape)) : at(B, broadcastIndex(idx, b.shape)), dtype),
        );
        assertArray(nd.where(cond, a, b), expected, { shape: out, dtype });
      },
    ),
    params(400),
  );
  const x = nd.array([-1, 2, -3], 'float32');
  assert.equal(nd.where(nd.gt(x, 0), x, 0).toArray(), [0, 2, 0]);
  assert.is(nd.where(nd.gt(x, 0), 1, 0).dtype, 'int32');
  assert.is(nd.where(nd.gt(x, 0), x, 0.5).dtype, 'float32');
});

test('index ops on an index that is a strided view', () => {
  const x = randomArray([3, 4], 2, { dtype: 'float64' });
  const base = NDArray.fromTyped(new Int32Array([0, 9, 2, 9, 1, 9]), [6]);
  const idx = base.slice(0, 0, 6, 2); // [0, 2, 1]
  assert.equal(nd.indexSelect(x, 0, idx).toArray(), [0, 2, 1].map((i) => (x.toArray() as number[][])[i]));
  assert.equal(values(nd.oneHot(idx, 3)), [1, 0, 0, 0, 0, 1, 0, 1, 0]);
});

test.run();
