/**
 * Finite-difference checks of the index ops (gather / scatterAdd, indexSelect /
 * indexAdd, with repeated indices so gradients must accumulate), selection by mask
 * (where, maskedFill) with broadcasting, and matmul in all its rank combinations.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import * as nd from '@tsgrad/tensor';
import { gather, gradcheck, gradients, indexAdd, indexSelect, matmul, scatterAdd, Tensor, where } from '../src/index.ts';
import {
  axisArb,
  broadcastPairArb,
  broadcastShapesArb,
  checkViewed,
  f64,
  indexArb,
  maskArb,
  maxAbsDiff,
  params,
  shapeArb,
  viewedArb,
} from './arbitraries.ts';

const RUNS = 40;

/** An input shape, an axis, and an index shape that fits gather's rules (other axes <= input's). */
const gatherCase = shapeArb({ minDims: 1, maxDims: 3 }).chain((s) =>
  axisArb(s.length).chain((axis) => {
    const ax = axis < 0 ? axis + s.length : axis;
    return fc
      .tuple(...s.map((d, i) => (i === ax ? fc.integer({ min: 0, max: 4 }) : fc.integer({ min: 1, max: d }))))
      .chain((ishape) => fc.tuple(viewedArb(s), fc.constant(axis), indexArb(ishape, s[ax]!), fc.boolean()));
  }),
);

test('gradcheck: gather (repeated indices accumulate), index as NDArray or Tensor', () => {
  fc.assert(
    fc.property(gatherCase, ([x, axis, index, asTensor]) =>
      checkViewed((t) => t.gather(axis, asTensor ? new Tensor(index) : index), [x]),
    ),
    params(RUNS),
  );
});

test('gradcheck: scatterAdd w.r.t. both the input and src', () => {
  // src may be larger than index along every axis; only index's extent is used
  const arb = shapeArb({ minDims: 1, maxDims: 3 }).chain((s) =>
    axisArb(s.length).chain((axis) => {
      const ax = axis < 0 ? axis + s.length : axis;
      return fc
        .tuple(...s.map((d, i) => (i === ax ? fc.integer({ min: 0, max: 4 }) : fc.integer({ min: 1, max: d }))))
        .chain((ishape) =>
          fc
            .tuple(...ishape.map((d) => fc.integer({ min: d, max: d + 1 })))
            .chain((sshape) => fc.tuple(viewedArb(s), viewedArb(sshape), fc.constant(axis), indexArb(ishape, s[ax]!))),
        );
    }),
  );
  fc.assert(
    fc.property(arb, ([x, src, axis, index]) => checkViewed((t, u) => scatterAdd(t, axis, index, u), [x, src])),
    params(RUNS),
  );
});

test('gradcheck: indexSelect with repeated indices', () => {
  const arb = shapeArb({ minDims: 1, maxDims: 3 }).chain((s) =>
    axisArb(s.length).chain((axis) => {
      const ax = axis < 0 ? axis + s.length : axis;
      return fc.integer({ min: 0, max: 5 }).chain((k) => fc.tuple(viewedArb(s), fc.constant(axis), indexArb([k], s[ax]!)));
    }),
  );
  fc.assert(
    fc.property(arb, ([x, axis, index]) => checkViewed((t) => t.indexSelect(axis, index), [x])),
    params(RUNS),
  );
});

test('gradcheck: indexAdd w.r.t. both the input and src', () => {
  const arb = shapeArb({ minDims: 1, maxDims: 3 }).chain((s) =>
    axisArb(s.length).chain((axis) => {
      const ax = axis < 0 ? axis + s.length : axis;
      return fc
        .integer({ min: 0, max: 5 })
        .chain((k) => fc.tuple(viewedArb(s), viewedArb(s.map((d, i) => (i === ax ? k : d))), fc.constant(axis), indexArb([k], s[ax]!)));
    }),
  );
  fc.assert(
    fc.property(arb, ([x, src, axis, index]) => checkViewed((t, u) => indexAdd(t, axis, index, u), [x, src])),
    params(RUNS),
  );
});

test('gradcheck: where with cond, a and b all broadcasting', () => {
  const arb = broadcastShapesArb(3).chain(([sa, sb, sc]) => fc.tuple(viewedArb(sa!), viewedArb(sb!), maskArb(sc!)));
  fc.assert(
    fc.property(arb, ([a, b, cond]) => {
      checkViewed((x, y) => where(cond, x, y), [a, b]);
      checkViewed((x, y) => x.where(cond, y), [a, b]);
      // a number on one side
      checkViewed((x) => where(cond, x, 0.5), [a]);
      return true;
    }),
    params(RUNS),
  );
});

test('gradcheck: where with a full-shape condition', () => {
  const arb = shapeArb({ maxDims: 3 }).chain((s) => fc.tuple(viewedArb(s), viewedArb(s), maskArb(s)));
  fc.assert(
    fc.property(arb, ([a, b, cond]) => checkViewed((x, y) => where(cond, x, y), [a, b])),
    params(RUNS),
  );
});

test('gradcheck: maskedFill with a broadcasting mask (as NDArray or Tensor)', () => {
  const arb = broadcastPairArb().chain(([sx, sm]) =>
    fc.tuple(fc.constant(sx), fc.constant(sm), fc.boolean()).chain(([x, m, asTensor]) => {
      // the mask must broadcast to x's shape without growing it
      const mshape = m.length <= x.length ? m.map((d, i) => (x[i + x.length - m.length] === d ? d : 1)) : [];
      return fc.tuple(viewedArb(x), maskArb(mshape), fc.constant(asTensor));
    }),
  );
  fc.assert(
    fc.property(arb, ([x, mask, asTensor]) => checkViewed((t) => t.maskedFill(asTensor ? new Tensor(mask) : mask, -7), [x])),
    params(RUNS),
  );
});

test('maskedFill: filled positions get zero gradient, others pass it through', () => {
  const x = f64([1, 2, 3, 4], [2, 2]);
  const mask = nd.NDArray.fromTyped(Uint8Array.from([1, 0]), [2], 'bool');
  const [g] = gradients(x.maskedFill(mask, 0).mul(f64([5, 6, 7, 8], [2, 2], false)).sum(), [x]);
  assert.equal([...g!.data.toFloat64Array()], [0, 6, 0, 8]);
  assert.throws(() => x.maskedFill(nd.NDArray.fromTyped(Int32Array.from([1, 0]), [2]), 0), /maskedFill: mask must be bool/);
});

test('gather / scatterAdd / indexSelect: hand-checked accumulation at repeated indices', () => {
  const x = f64([10, 20, 30], [3]);
  const idx = nd.NDArray.fromTyped(Int32Array.from([2, 0, 2, 2]), [4]);
  const [gg] = gradients(gather(x, 0, idx).mul(f64([1, 2, 3, 4], [4], false)).sum(), [x]);
  assert.equal([...gg!.data.toFloat64Array()], [2, 0, 1 + 3 + 4]);
  const [gs] = gradients(indexSelect(x, 0, idx).mul(f64([1, 2, 3, 4], [4], false)).sum(), [x]);
  assert.equal([...gs!.data.toFloat64Array()], [2, 0, 8]);
  const src = f64([1, 1, 1, 1], [4]);
  const [gx, gsrc] = gradients(scatterAdd(x, 0, idx, src).mul(f64([5, 6, 7], [3], false)).sum(), [x, src]);
  assert.equal([...gx!.data.toFloat64Array()], [5, 6, 7]);
  assert.equal([...gsrc!.data.toFloat64Array()], [7, 5, 7, 7]);
});

// ------------------------------------------------------------------ matmul

/** Shapes for every rank combination: 1-D x 1-D, 1-D x n-D, n-D x 1-D, batched with broadcast batch axes. */
const matmulShapes: fc.Arbitrary<[number[], number[]]> = fc
  .tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), broadcastPairArb(2, 2))
  .chain(([m, k, n, [ba, bb]]) =>
    fc.constantFrom<[number[], number[]]>(
      [[k], [k]],
      [[k], [k, n]],
      [[m, k], [k]],
      [[m, k], [k, n]],
      [[...ba, m, k], [...bb, k, n]],
      [[k], [...bb, k, n]],
      [[...ba, m, k], [k]],
    ),
  );

test('gradcheck: matmul for all rank combinations, broadcast batches and transposed views', () => {
  fc.assert(
    fc.property(
      matmulShapes.chain(([sa, sb]) => fc.tuple(viewedArb(sa), viewedArb(sb))),
      ([a, b]) => checkViewed((x, y) => matmul(x, y), [a, b]),
    ),
    params(RUNS),
  );
});

test('matmul gradient by hand: dA = G B^T, dB = A^T G', () => {
  const A = f64([1, 2, 3, 4, 5, 6], [2, 3]);
  const B = f64([1, -1, 0, 2, 3, 1], [3, 2]);
  const G = f64([1, 0, 2, -1], [2, 2], false);
  const [dA, dB] = gradients(A.matmul(B), [A, B], { gradOutput: G });
  const want = (x: Tensor, y: Tensor) => nd.matmul(x.data, y.data).toFloat64Array();
  assert.ok(maxAbsDiff(dA!.data.toFloat64Array(), want(G, B.mT)) === 0);
  assert.ok(maxAbsDiff(dB!.data.toFloat64Array(), want(A.mT, G)) === 0);
  // a 0-d operand is an error that names both shapes
  assert.throws(() => matmul(f64([1], []), f64([1, 2], [2])), /matmul/);
});

test('gradcheck: a one-layer network (matmul + bias + gelu + logSoftmax + gather)', () => {
  const W = f64([0.1, -0.2, 0.3, 0.4, -0.5, 0.6], [3, 2]);
  const bias = f64([0.05, -0.05], [2]);
  const x = f64([1, 2, 3, -1, 0, 1], [2, 3]);
  const target = nd.NDArray.fromTyped(Int32Array.from([1, 0]), [2, 1]);
  gradcheck((w, b, input) => input.matmul(w).add(b).gelu().logSoftmax(-1).gather(1, target).mean().neg(), [W, bias, x]);
});

test.run();
