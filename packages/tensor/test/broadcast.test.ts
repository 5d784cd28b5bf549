/**
 * Broadcasting: the shape rule against an independent reference, and every binary
 * op on broadcast operands against the same op on explicitly expanded operands.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import * as nd from '../src/index.ts';
import { ALL_DTYPES, anyDtypeViewArb, broadcastPairArb, broadcastShapesRef, params, shapeArb } from './arbitraries.ts';
import { values } from './reference.ts';

const OPS = {
  add: nd.add,
  sub: nd.sub,
  mul: nd.mul,
  div: nd.div,
  pow: nd.pow,
  maximum: nd.maximum,
  minimum: nd.minimum,
  eq: nd.eq,
  ne: nd.ne,
  lt: nd.lt,
  le: nd.le,
  gt: nd.gt,
  ge: nd.ge,
  logicalAnd: nd.logicalAnd,
  logicalOr: nd.logicalOr,
};

test('broadcastShapes agrees with the reference rule, and is symmetric', () => {
  fc.assert(
    fc.property(shapeArb({ maxRank: 4, minSide: 0 }), shapeArb({ maxRank: 4, minSide: 0 }), (a, b) => {
      const want = broadcastShapesRef(a, b);
      if (want === null) {
        assert.throws(() => nd.broadcastShapes(a, b, 'op'), /op: shapes/);
        assert.throws(() => nd.broadcastShapes(b, a, 'op'), /op: shapes/);
      } else {
        assert.equal(nd.broadcastShapes(a, b, 'op'), want);
        assert.equal(nd.broadcastShapes(b, a, 'op'), want);
      }
    }),
    params(600),
  );
});

test('every binary op on broadcast operands equals the op on explicitly expanded operands', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...(Object.keys(OPS) as (keyof typeof OPS)[])),
      broadcastPairArb({ maxRank: 4, minSide: 0 }).chain(({ a, b, out }) =>
        fc.tuple(anyDtypeViewArb(a, ALL_DTYPES, { grid: 0.5 }), anyDtypeViewArb(b, ALL_DTYPES, { grid: 0.5 }), fc.constant(out)),
      ),
      (op, [a, b, out]) => {
        const attempt = (f: () => nd.NDArray): nd.NDArray | string => {
          try {
            return f();
          } catch (err) {
            return (err as Error).message;
          }
        };
        const r = attempt(() => OPS[op](a, b));
        const e = attempt(() => OPS[op](a.expand(out), b.expand(out)));
        // an op that refuses its input (int32 pow with a negative exponent) refuses the expanded input too
        if (typeof r === 'string' || typeof e === 'string') {
          assert.is(r, e);
          assert.match(r as string, /^pow: integers to negative integer powers are not allowed/);
          return;
        }
        assert.equal(r.shape, out);
        assert.is(r.dtype, e.dtype);
        assert.equal(values(r), values(e));
        // the result is fresh, contiguous storage
        assert.ok(r.isContiguous());
        assert.is.not(r.data, a.data);
        assert.is.not(r.data, b.data);
      },
    ),
    params(600),
  );
});

test('broadcasting is symmetric for commutative ops and mirrors comparisons', () => {
  fc.assert(
    fc.property(
      broadcastPairArb({ maxRank: 3 }).chain(({ a, b }) => fc.tuple(anyDtypeViewArb(a, ['float64'], { grid: 0.5 }), anyDtypeViewArb(b, ['float64'], { grid: 0.5 }))),
      ([a, b]) => {
        for (const f of [nd.add, nd.mul, nd.maximum, nd.minimum, nd.eq, nd.ne]) assert.equal(values(f(a, b)), values(f(b, a)));
        assert.equal(values(nd.lt(a, b)), values(nd.gt(b, a)));
        assert.equal(values(nd.le(a, b)), values(nd.ge(b, a)));
      },
    ),
    params(100),
  );
});

test('0-d operands and JS numbers broadcast against anything', () => {
  const x = nd.array([[1, 2, 3], [4, 5, 6]], 'float64');
  const s = nd.scalar(10, 'float64');
  assert.equal(nd.add(x, s).toArray(), [[11, 12, 13], [14, 15, 16]]);
  assert.equal(nd.sub(s, x).toArray(), [[9, 8, 7], [6, 5, 4]]);
  assert.equal(nd.sub(10, x).toArray(), [[9, 8, 7], [6, 5, 4]]);
  assert.equal(nd.add(s, s).shape, []);
  assert.equal(nd.mul(nd.array([[2], [3]], 'float64'), nd.array([1, 10, 100], 'float64')).toArray(), [[2, 20, 200], [3, 30, 300]]);
  // a size-0 axis broadcasts against size 1, but not against 2
  assert.equal(nd.add(nd.zeros([0, 3]), nd.zeros([1, 3])).shape, [0, 3]);
  assert.throws(() => nd.add(nd.zeros([0, 3]), nd.zeros([2, 3])), /add: shapes \[0, 3\] and \[2, 3\]/);
});

test.run();
