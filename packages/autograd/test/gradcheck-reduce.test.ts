/**
 * Finite-difference checks of reductions and the softmax family over random axis
 * sets, with and without keepdim, on contiguous and strided inputs; plus the tie
 * rule of max/min and a few gradients derived by hand.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { gradients, Tensor, tensor } from '../src/index.ts';
import {
  axesArb,
  axisArb,
  checkViewed,
  distinctValuesArb,
  f64,
  layoutArb,
  maxAbsDiff,
  params,
  resolveAxes,
  shapeArb,
  sizeOf,
  valuesArb,
  viewedArb,
  viewedFromViewValues,
} from './arbitraries.ts';

const RUNS = 40;

type Axes = number[] | number | undefined;

/** A strided input of a random shape, a random axis set and keepdim. */
const reductionCase = (minDims = 0) =>
  shapeArb({ minDims, maxDims: 4 }).chain((s) => fc.tuple(viewedArb(s, (n) => valuesArb(n, -3, 3)), axesArb(s.length), fc.boolean(), fc.constant(s)));

test('gradcheck: sum over random axes, keepdim or not', () => {
  fc.assert(
    fc.property(reductionCase(), ([x, axes, keepdim]) => checkViewed((t) => t.sum(axes, keepdim), [x])),
    params(RUNS),
  );
});

test('gradcheck: mean over random axes, keepdim or not', () => {
  fc.assert(
    fc.property(reductionCase(), ([x, axes, keepdim]) => checkViewed((t) => t.mean(axes, keepdim), [x])),
    params(RUNS),
  );
});

test('gradcheck: var (unbiased and biased) over random axes', () => {
  fc.assert(
    fc.property(reductionCase(), fc.boolean(), ([x, axes, keepdim, shape], unbiased) => {
      const n = sizeOf(resolveAxes(axes, shape.length).map((a) => shape[a]!));
      // unbiased variance of a single element divides by zero; that case is checked below
      fc.pre(!unbiased || n >= 2);
      return checkViewed((t) => t.var(axes as Axes, { unbiased, keepdim }), [x]);
    }),
    params(RUNS),
  );
});

test('var: unbiased over one element gives NaN/inf, not a silent number', () => {
  const v = f64([2], [1]).var(0);
  assert.ok(!Number.isFinite(v.item()));
});

test('gradcheck: logsumexp over random axes, keepdim or not', () => {
  fc.assert(
    fc.property(reductionCase(), ([x, axes, keepdim]) => checkViewed((t) => t.logsumexp(axes ?? resolveAxes(undefined, t.ndim), keepdim), [x])),
    params(RUNS),
  );
});

test('gradcheck: logsumexp with large inputs (the stable path)', () => {
  const x = f64([1000, 1001, 999.5, -1000], [2, 2]);
  checkViewed((t) => t.logsumexp(1), [{ leaf: x, view: (t) => t, layout: 'contiguous' }]);
});

test('gradcheck: softmax and logSoftmax along a random axis', () => {
  fc.assert(
    fc.property(
      shapeArb({ minDims: 1, maxDims: 3, maxSide: 4 }).chain((s) => fc.tuple(viewedArb(s, (n) => valuesArb(n, -3, 3)), axisArb(s.length))),
      ([x, axis]) => {
        checkViewed((t) => t.softmax(axis), [x]);
        checkViewed((t) => t.logSoftmax(axis), [x]);
        return true;
      },
    ),
    params(RUNS),
  );
});

/** max/min with pairwise distinct values (placed through the view), so no ties. */
function extremeProperty(op: 'max' | 'min'): void {
  test(`gradcheck: ${op} over random axes, no ties`, () => {
    const arb = shapeArb({ minDims: 0, maxDims: 3 }).chain((s) =>
      fc.tuple(fc.constant(s), distinctValuesArb(sizeOf(s)), layoutArb, axesArb(s.length), fc.boolean()),
    );
    fc.assert(
      fc.property(arb, ([s, vals, layout, axes, keepdim]) => checkViewed((t) => t[op](axes, keepdim), [viewedFromViewValues(s, vals, layout)])),
      params(RUNS),
    );
  });
}
extremeProperty('max');
extremeProperty('min');

test('gradcheck: reductions and softmax over the non-empty axis of an empty batch', () => {
  const x = f64([], [0, 3]);
  for (const f of [
    (t: Tensor) => t.sum(1),
    (t: Tensor) => t.mean(1, true),
    (t: Tensor) => t.max(1),
    (t: Tensor) => t.min(1, true),
    (t: Tensor) => t.var(1),
    (t: Tensor) => t.logsumexp(1),
    (t: Tensor) => t.softmax(1),
    (t: Tensor) => t.logSoftmax(-1),
  ]) {
    const y = f(x);
    assert.is(y.size, 0);
    checkViewed(f, [{ leaf: x, view: (t) => t, layout: 'contiguous' }]);
  }
  // a sum over the empty axis is 0 everywhere, with an (empty) zero gradient
  const s = x.sum(0);
  assert.equal(s.toArray(), [0, 0, 0]);
  s.backward(f64([1, 2, 3], [3], false));
  assert.equal(x.grad!.shape, [0, 3]);
});

// ------------------------------------------------------------------ ties (documented rule)

function gradOf(f: (x: Tensor) => Tensor, x: Tensor): number[] {
  const leaf = x.detach().requiresGrad_(true);
  f(leaf).backward();
  return [...leaf.grad!.data.toFloat64Array()];
}

test('max ties share the gradient evenly: max([1, 3, 3]) -> [0, 0.5, 0.5]', () => {
  assert.equal(gradOf((x) => x.max(), f64([1, 3, 3], [3])), [0, 0.5, 0.5]);
  assert.equal(gradOf((x) => x.min(), f64([2, 2, 2, 5], [4])), [1 / 3, 1 / 3, 1 / 3, 0]);
  // per row along an axis, with keepdim, and weighted by the upstream gradient
  const x = f64([4, 4, 1, 0, 7, 7], [2, 3]);
  const leaf = x.detach().requiresGrad_(true);
  leaf.max(1, true).mul(f64([2, 10], [2, 1], false)).sum().backward();
  assert.equal([...leaf.grad!.data.toFloat64Array()], [1, 1, 0, 0, 5, 5]);
});

test('maximum/minimum ties split the gradient: maximum(a, b) with a == b gives each 0.5', () => {
  const a = f64([1, 2, 3], [3]);
  const b = f64([1, 5, 3], [3]);
  a.maximum(b).sum().backward();
  assert.equal([...a.grad!.data.toFloat64Array()], [0.5, 0, 0.5]);
  assert.equal([...b.grad!.data.toFloat64Array()], [0.5, 1, 0.5]);
  const c = f64([1, 2], [2]);
  const d = f64([1, 0], [2]);
  c.minimum(d).sum().backward();
  assert.equal([...c.grad!.data.toFloat64Array()], [0.5, 0]);
  assert.equal([...d.grad!.data.toFloat64Array()], [0.5, 1]);
  // the same tensor on both sides gets both halves: d/da maximum(a, a) = 1
  assert.equal(gradOf((x) => x.maximum(x).sum(), f64([-1, 0, 2], [3])), [1, 1, 1]);
});

// ------------------------------------------------------------------ hand-derived values

test('softmax Jacobian row: d s_i / d x_j = s_i (delta_ij - s_j)', () => {
  const xv = [0.2, -1.3, 0.7, 2.1];
  const x = f64(xv, [4]);
  const s = x.softmax(0);
  const sv = [...s.data.toFloat64Array()];
  const z = xv.reduce((acc, v) => acc + Math.exp(v), 0);
  sv.forEach((v, i) => assert.ok(Math.abs(v - Math.exp(xv[i]!) / z) < 1e-14));
  for (let i = 0; i < 4; i++) {
    const e = f64(xv.map((_, k) => (k === i ? 1 : 0)), [4], false);
    const [row] = gradients(x.softmax(0), [x], { gradOutput: e });
    const want = sv.map((sj, j) => sv[i]! * ((i === j ? 1 : 0) - sj));
    assert.ok(maxAbsDiff(row!.data.toFloat64Array(), want) < 1e-15, `row ${i}`);
  }
});

test('logSoftmax and logsumexp gradients: g - softmax * sum(g), and softmax', () => {
  const xv = [1, 2, 0.5];
  const sm = xv.map((v) => Math.exp(v) / xv.reduce((a, w) => a + Math.exp(w), 0));
  const x = f64(xv, [3]);
  const g = [0.3, -1, 2];
  const [dx] = gradients(x.logSoftmax(0), [x], { gradOutput: f64(g, [3], false) });
  const gsum = g.reduce((a, b) => a + b, 0);
  assert.ok(maxAbsDiff(dx!.data.toFloat64Array(), g.map((gi, i) => gi - sm[i]! * gsum)) < 1e-14);
  const [dl] = gradients(x.logsumexp(0), [x]);
  assert.ok(maxAbsDiff(dl!.data.toFloat64Array(), sm) < 1e-15);
});

test('var and mean gradients: 2 (x - mean) / (n - 1) and 1 / n', () => {
  const xv = [1, 4, 2, 9];
  const m = 4;
  const x = f64(xv, [4]);
  const [dv] = gradients(x.var(), [x]);
  assert.ok(maxAbsDiff(dv!.data.toFloat64Array(), xv.map((v) => (2 * (v - m)) / 3)) < 1e-14);
  const [db] = gradients(x.var(0, { unbiased: false }), [x]);
  assert.ok(maxAbsDiff(db!.data.toFloat64Array(), xv.map((v) => (2 * (v - m)) / 4)) < 1e-14);
  const [dm] = gradients(x.mean(), [x]);
  assert.equal([...dm!.data.toFloat64Array()], [0.25, 0.25, 0.25, 0.25]);
  assert.equal(x.var().item(), (9 + 0 + 4 + 25) / 3);
});

test('reduction gradients keep the dtype and shape of the input', () => {
  const x = tensor([[1, 2], [3, 4]], { dtype: 'float32', requiresGrad: true });
  x.sum(1).mul(tensor([1, -1], { dtype: 'float32' })).sum().backward();
  assert.is(x.grad!.dtype, 'float32');
  assert.equal(x.grad!.toArray(), [[1, 1], [-1, -1]]);
});

test.run();
