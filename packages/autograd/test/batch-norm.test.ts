/**
 * batchNorm: training and eval forwards and the running-statistics update against the
 * formulas computed here channel by channel, first and second derivatives by gradcheck
 * over [N, C], [N, C, L] and [N, C, H, W] inputs (strided too), gradients against the
 * same function composed from elementary ops, agreement with PyTorch, and the errors
 * (which must leave the running statistics untouched).
 */
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as nd from '@tsgrad/tensor';
import { batchNorm, gradients, noGrad, Tensor, type BatchNormOptions } from '../src/index.ts';
import { checkViewed, f64, maxAbsDiff, params, shapeArb, sizeOf, valuesArb, viewedArb, type Viewed } from './arbitraries.ts';
import { cpuBackends, deviation, loadTorchFixture, maxDiff, tensorOf, type Stored, type TorchCase } from './fixtures/torch-fixture.ts';

/** [N, C, ...spatial] with 0-2 spatial axes and more than one value per channel. */
const shapeOfInput = fc
  .tuple(fc.noBias(fc.integer({ min: 1, max: 4 })), fc.noBias(fc.integer({ min: 1, max: 3 })), shapeArb({ minDims: 0, maxDims: 2, maxSide: 3 }))
  .map(([n, c, rest]) => [n, c, ...rest])
  .filter((s) => sizeOf(s) / s[1]! > 1);

const caseArb = shapeOfInput.chain((shape) =>
  fc.tuple(
    fc.constant(shape),
    viewedArb(shape),
    valuesArb(shape[1]!, 0.5, 2), // weight
    valuesArb(shape[1]!), // bias
    valuesArb(shape[1]!, -1, 1), // running mean
    valuesArb(shape[1]!, 0.2, 2), // running variance
    fc.record({ withW: fc.boolean(), withB: fc.boolean(), momentum: fc.constantFrom(0.1, 0.5, 1), eps: fc.constantFrom(1e-5, 0.1) }),
  ),
);

/** Per channel: the values of channel k of a row-major [N, C, ...] array. */
function channel(x: Float64Array, shape: readonly number[], k: number): number[] {
  const inner = sizeOf(shape.slice(2));
  const out: number[] = [];
  for (let n = 0; n < shape[0]!; n++) for (let j = 0; j < inner; j++) out.push(x[(n * shape[1]! + k) * inner + j]!);
  return out;
}

const meanOf = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

test('batchNorm in training mode: batch statistics, and running stats blend in the unbiased variance (in place)', () => {
  fc.assert(
    fc.property(caseArb, fc.constantFrom('float64' as const, 'float32' as const), ([shape, xv, wv, bv, rmv, rvv, o], dtype) => {
      const x = new Tensor(xv.view(xv.leaf).data.astype(dtype));
      const c = shape[1]!;
      const as = (v: number[]) => new Tensor(nd.NDArray.fromTyped(Float64Array.from(v), [c]).astype(dtype));
      const [w, b, rm, rv] = [o.withW ? as(wv) : null, o.withB ? as(bv) : null, as(rmv), as(rvv)];
      const storage = rm.data.data;
      const y = batchNorm(x, rm, rv, w, b, { training: true, momentum: o.momentum, eps: o.eps });
      assert.is(rm.data.data, storage, 'updated in place');
      const xs = x.data.toFloat64Array();
      const ys = y.data.toFloat64Array();
      const tol = dtype === 'float64' ? 1e-12 : 2e-5;
      for (let k = 0; k < c; k++) {
        const v = channel(xs, shape, k);
        const mu = meanOf(v);
        const biased = meanOf(v.map((t) => (t - mu) ** 2));
        const got = channel(ys, shape, k);
        v.forEach((t, i) => {
          const want = ((t - mu) / Math.sqrt(biased + o.eps)) * (o.withW ? wv[k]! : 1) + (o.withB ? bv[k]! : 0);
          if (!(Math.abs(got[i]! - want) <= tol * 10)) assert.unreachable(`channel ${k} element ${i}: ${got[i]} vs ${want}`);
        });
        const unbiased = (biased * v.length) / (v.length - 1);
        const m = o.momentum;
        assert.ok(Math.abs(rm.data.get(k) - ((1 - m) * as(rmv).data.get(k) + m * mu)) <= tol, `running mean ${k}`);
        assert.ok(Math.abs(rv.data.get(k) - ((1 - m) * as(rvv).data.get(k) + m * unbiased)) <= tol * 10, `running var ${k}`);
      }
    }),
    params(60),
  );
});

test('batchNorm in eval mode uses the running statistics and leaves them unchanged', () => {
  fc.assert(
    fc.property(caseArb, ([shape, xv, wv, bv, rmv, rvv, o]) => {
      const x = xv.view(xv.leaf);
      const c = shape[1]!;
      const rm = f64(rmv, [c], false);
      const rv = f64(rvv, [c], false);
      const y = batchNorm(x, rm, rv, o.withW ? f64(wv, [c]) : null, o.withB ? f64(bv, [c]) : null, { eps: o.eps });
      assert.equal(rm.toArray(), rmv);
      assert.equal(rv.toArray(), rvv);
      const xs = x.data.toFloat64Array();
      const ys = y.data.toFloat64Array();
      for (let k = 0; k < c; k++) {
        const got = channel(ys, shape, k);
        channel(xs, shape, k).forEach((t, i) => {
          const want = ((t - rmv[k]!) / Math.sqrt(rvv[k]! + o.eps)) * (o.withW ? wv[k]! : 1) + (o.withB ? bv[k]! : 0);
          assert.ok(Math.abs(got[i]! - want) <= 1e-12, `channel ${k} element ${i}`);
        });
      }
    }),
    params(40),
  );
});

/** Training-mode batch norm written out in elementary ops (the reference for gradients). */
function composed(x: Tensor, w: Tensor | null, b: Tensor | null, eps: number): Tensor {
  const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
  const per = x.shape.map((d, i) => (i === 1 ? d : 1));
  const xc = x.sub(x.mean(axes, true));
  let y = xc.div(xc.mul(xc).mean(axes, true).add(eps).sqrt());
  if (w) y = y.mul(w.reshape(per));
  return b ? y.add(b.reshape(per)) : y;
}

test('gradcheck and gradgradcheck: batchNorm in training mode, optional weight and bias, strided inputs', () => {
  fc.assert(
    fc.property(caseArb, ([shape, xv, wv, bv, , , o]) => {
      const c = shape[1]!;
      const ps: Viewed[] = [
        ...(o.withW ? [{ leaf: f64(wv, [c]), view: (t: Tensor) => t, layout: 'contiguous' as const }] : []),
        ...(o.withB ? [{ leaf: f64(bv, [c]), view: (t: Tensor) => t, layout: 'contiguous' as const }] : []),
      ];
      const f = (x: Tensor, ...rest: Tensor[]) => batchNorm(x, null, null, o.withW ? rest[0]! : null, o.withB ? rest[o.withW ? 1 : 0]! : null, { training: true, eps: o.eps });
      return checkViewed((x, ...rest) => f(x!, ...rest), [xv, ...ps], { secondOrder: true, atol: 1e-4 });
    }),
    params(25),
  );
});

test('gradcheck: batchNorm in eval mode (input, weight and bias)', () => {
  fc.assert(
    fc.property(caseArb, ([shape, xv, wv, bv, rmv, rvv, o]) => {
      const c = shape[1]!;
      const [rm, rv] = [f64(rmv, [c], false), f64(rvv, [c], false)];
      return checkViewed((x, w, b) => batchNorm(x!, rm, rv, w!, b!, { eps: o.eps }), [xv, ...[wv, bv].map((v) => ({ leaf: f64(v, [c]), view: (t: Tensor) => t, layout: 'contiguous' as const }))], {
        secondOrder: true,
      });
    }),
    params(20),
  );
});

test('batchNorm gradients equal those of the composed ops (float32 and float64)', () => {
  fc.assert(
    fc.property(caseArb, fc.constantFrom('float32' as const, 'float64' as const), ([shape, xv, wv, bv, , , o], dtype) => {
      const c = shape[1]!;
      const t = (data: nd.NDArray) => new Tensor(data.astype(dtype), true);
      const x = t(xv.view(xv.leaf).data);
      const w = t(f64(wv, [c]).data);
      const b = t(f64(bv, [c]).data);
      const y1 = batchNorm(x, null, null, w, b, { training: true, eps: o.eps });
      const y2 = composed(x, w, b, o.eps);
      const tol = dtype === 'float32' ? 1e-4 : 1e-10;
      assert.ok(maxAbsDiff(y1.data.toFloat64Array(), y2.data.toFloat64Array()) <= tol, 'forward');
      const g = new Tensor(nd.randn(shape, { seed: 3, dtype }));
      const g1 = gradients(y1, [x, w, b], { gradOutput: g });
      const g2 = gradients(y2, [x, w, b], { gradOutput: g });
      g1.forEach((gi, i) => {
        const d = maxAbsDiff(gi.data.toFloat64Array(), g2[i]!.data.toFloat64Array());
        if (!(d <= tol * Math.max(1, sizeOf(shape)))) assert.unreachable(`gradient ${i} differs by ${d}`);
      });
    }),
    params(40),
  );
});

test('batchNorm: running statistics update under noGrad too, and not without training', () => {
  const x = f64([1, 2, 3, 4, 5, 6], [3, 2], false);
  const rm = f64([0, 0], [2], false);
  const rv = f64([1, 1], [2], false);
  noGrad(() => batchNorm(x, rm, rv, null, null, { training: true, momentum: 0.5 }));
  // channel 0: values 1, 3, 5 (mean 3, unbiased variance 4); channel 1: 2, 4, 6 (mean 4, variance 4)
  assert.equal(rm.toArray(), [1.5, 2]);
  assert.equal(rv.toArray(), [2.5, 2.5]);
  batchNorm(x, rm, rv, null, null, { training: false });
  assert.equal(rm.toArray(), [1.5, 2]);
});

test('batchNorm: parameters of another float type compute in the input\'s, gradients come back in their own', () => {
  const x = f64([1, 2, 4, 8, 3, 5], [3, 2]);
  const w = new Tensor(nd.array([1.5, -2], 'float32'), true);
  const b = new Tensor(nd.array([0.25, 1], 'float32'), true);
  const y = batchNorm(x, null, null, w, b, { training: true });
  assert.is(y.dtype, 'float64');
  const want = batchNorm(x, null, null, f64([1.5, -2], [2]), f64([0.25, 1], [2]), { training: true });
  assert.equal(y.toArray(), want.toArray());
  y.mul(y).sum().backward();
  assert.is(w.grad!.dtype, 'float32');
  assert.is(b.grad!.dtype, 'float32');
});

test('batchNorm agrees with PyTorch to 1e-8 in float64 on every CPU backend (values, gradients and running statistics; committed fixture)', () => {
  const cases = loadTorchFixture().batchNorm;
  assert.ok(cases.length >= 6);
  for (const backend of cpuBackends()) {
    for (const c of cases) {
      const opts = c.options as BatchNormOptions;
      const rm = tensorOf(c.runningMean as Stored | null);
      const rv = tensorOf(c.runningVar as Stored | null);
      const leaves = [tensorOf(c.input, true), tensorOf(c.weight as Stored | null, true), tensorOf(c.bias as Stored | null, true)];
      const d = nd.withBackend(backend, () => deviation(c as TorchCase, leaves, (x, w, b) => batchNorm(x!, rm, rv, w, b, opts)));
      const what = `${backend}: batchNorm ${JSON.stringify(opts)} on ${JSON.stringify(c.input.shape)}`;
      assert.ok(Math.max(d.output, ...d.grads) <= 1e-8, `${what}: output off by ${d.output}, gradients by [${d.grads.join(', ')}]`);
      if (rm && rv) {
        const stats = Math.max(maxDiff(rm, c.runningMeanAfter as Stored), maxDiff(rv, c.runningVarAfter as Stored));
        assert.ok(stats <= 1e-8, `${what}: running statistics off by ${stats}`);
      }
    }
  }
});

test('batchNorm: errors name the shapes, and a failing call leaves the running statistics as they were', () => {
  const x = new Tensor(nd.ones([4, 3, 2]));
  const rm = new Tensor(nd.zeros([3]));
  const rv = new Tensor(nd.ones([3]));
  const train: BatchNormOptions = { training: true };
  assert.throws(() => batchNorm(x, rm, rv, new Tensor(nd.ones([2])), null, train), /batchNorm: weight of shape \[2\] does not match the 3 channels of input \[4, 3, 2\]/);
  assert.throws(() => batchNorm(x, rm, rv, null, new Tensor(nd.ones([3, 1])), train), /batchNorm: bias of shape \[3, 1\]/);
  assert.throws(() => batchNorm(x, new Tensor(nd.zeros([4])), rv, null, null, train), /batchNorm: runningMean of shape \[4\]/);
  assert.throws(() => batchNorm(new Tensor(nd.ones([1, 3])), rm, rv, null, null, train), /batchNorm: expected more than 1 value per channel when training, got input of shape \[1, 3\]/);
  assert.throws(() => batchNorm(x, null, null), /batchNorm: eval mode \(training: false\) needs runningMean and runningVar/);
  assert.throws(() => batchNorm(x, rm, null, null, null, train), /runningMean and runningVar must be given together/);
  assert.throws(() => batchNorm(new Tensor(nd.ones([4])), null, null, null, null, train), /batchNorm: expected an input \[N, C, \.\.\.\] with at least 2 dimensions, got shape \[4\]/);
  assert.throws(() => batchNorm(x, rm, rv, null, null, { training: true, momentum: 2 }), /batchNorm: eps \(0\.00001\) must be >= 0 and momentum \(2\) in \[0, 1\]/);
  assert.equal(rm.toArray(), [0, 0, 0]);
  assert.equal(rv.toArray(), [1, 1, 1]);
});

test.run();
