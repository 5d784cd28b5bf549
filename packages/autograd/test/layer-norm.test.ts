/**
 * The fused layerNorm node: gradcheck (first order uses the fused backward kernel,
 * second order the recorded tensor-op rule) on strided inputs, with and without
 * weight and bias, over one or two trailing axes; and its forward and gradients
 * against the same function composed from elementary ops.
 */
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as nd from '@tsgrad/tensor';
import { gradcheck, gradients, layerNorm, Tensor } from '../src/index.ts';
import { checkViewed, f64, maxAbsDiff, params, shapeArb, sizeOf, valuesArb, viewedArb } from './arbitraries.ts';

/** x's shape (1-2 leading axes, 1-2 normalised axes), which parameters exist, eps. */
const caseArb = fc
  .tuple(shapeArb({ minDims: 0, maxDims: 2 }), shapeArb({ minDims: 1, maxDims: 2, minSide: 2, maxSide: 4 }), fc.boolean(), fc.boolean(), fc.constantFrom(1e-5, 0.1))
  .chain(([lead, norm, withW, withB, eps]) =>
    fc.tuple(viewedArb([...lead, ...norm]), valuesArb(sizeOf(norm), 0.5, 2), valuesArb(sizeOf(norm)), fc.constant({ norm, withW, withB, eps })),
  );

/** layerNorm written out in elementary ops (the reference). */
function composed(x: Tensor, norm: number[], w: Tensor | null, b: Tensor | null, eps: number): Tensor {
  const axes = norm.map((_, i) => x.ndim - norm.length + i);
  const mu = x.mean(axes, true);
  const xc = x.sub(mu);
  let y = xc.div(xc.mul(xc).mean(axes, true).add(eps).sqrt());
  if (w) y = y.mul(w);
  if (b) y = y.add(b);
  return y;
}

test('gradcheck: layerNorm on strided inputs, optional weight and bias (fused first-order backward)', () => {
  fc.assert(
    fc.property(caseArb, ([x, wv, bv, { norm, withW, withB, eps }]) => {
      const w = withW ? f64(wv, norm) : null;
      const b = withB ? f64(bv, norm) : null;
      const params_ = [w, b].filter((t): t is Tensor => t !== null);
      return gradcheck(
        (leaf, ...ps) => {
          let i = 0;
          return layerNorm(x.view(leaf), norm, withW ? ps[i++]! : null, withB ? ps[i++]! : null, eps);
        },
        [x.leaf, ...params_],
        { atol: 1e-5, rtol: 1e-3 },
      );
    }),
    params(40),
  );
});

test('gradgradcheck: layerNorm second derivatives through the recorded rule', () => {
  fc.assert(
    fc.property(caseArb, ([x, wv, , { norm, withW, eps }]) => {
      const w = withW ? f64(wv, norm) : null;
      return checkViewed((leaf, ...ps) => layerNorm(leaf, norm, withW ? ps[0]! : null, null, eps), [x, ...(w ? [{ leaf: w, view: (t: Tensor) => t, layout: 'contiguous' as const }] : [])], {
        secondOrder: true,
        atol: 1e-4,
        rtol: 1e-3,
      });
    }),
    params(15),
  );
});

test('layerNorm forward and gradients equal the composed ops (float32 and float64)', () => {
  fc.assert(
    fc.property(caseArb, fc.constantFrom('float32', 'float64'), ([x, wv, bv, { norm, withW, withB, eps }], dtype) => {
      const xs = new Tensor(x.view(x.leaf).data.astype(dtype), true);
      const w = withW ? new Tensor(nd.NDArray.fromTyped(Float64Array.from(wv), norm).astype(dtype), true) : null;
      const b = withB ? new Tensor(nd.NDArray.fromTyped(Float64Array.from(bv), norm).astype(dtype), true) : null;
      const inputs = [xs, ...(w ? [w] : []), ...(b ? [b] : [])];
      const y1 = layerNorm(xs, norm, w, b, eps);
      const y2 = composed(xs, norm, w, b, eps);
      const tol = dtype === 'float32' ? 2e-5 : 1e-12;
      assert.ok(maxAbsDiff(y1.data.toFloat64Array(), y2.data.toFloat64Array()) <= tol, 'forward');
      const c = new Tensor(nd.randn(y1.shape, { seed: 5, dtype }));
      const g1 = gradients(y1, inputs, { gradOutput: c });
      const g2 = gradients(y2, inputs, { gradOutput: c });
      g1.forEach((g, i) => {
        assert.equal(g!.shape, inputs[i]!.shape);
        const d = maxAbsDiff(g!.data.toFloat64Array(), g2[i]!.data.toFloat64Array());
        if (!(d <= 10 * tol * Math.max(1, sizeOf(x.leaf.shape)))) assert.unreachable(`gradient ${i} differs by ${d}`);
      });
    }),
    params(60),
  );
});

test('layerNorm: errors name the shapes', () => {
  const x = new Tensor(nd.ones([2, 3]));
  assert.throws(() => layerNorm(x, [4]), /layerNorm: input of shape \[2, 3\] does not end in normalizedShape \[4\]/);
  assert.throws(() => layerNorm(x, [3], new Tensor(nd.ones([2]))), /layerNorm: weight of shape \[2\] does not match normalizedShape \[3\]/);
});

test.run();
