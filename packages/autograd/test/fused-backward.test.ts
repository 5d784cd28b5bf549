/**
 * Derivative rules with an optional fused backward kernel (gelu, layerNorm): each rule is
 * written once in autograd, in tensor ops, and calls the backend's kernel
 * (`Backend.geluBackward`, `Backend.layerNormBackward`) for a plain backward when the
 * backend has one. Both paths are checked: float64 gradchecks on a copy of the fast
 * backend without the fused kernels (the composed rule) and on the fast backend itself
 * (the kernel, which is shown to run), and the two give the same gradients in float32
 * and float64 on strided inputs.
 */
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as nd from '@tsgrad/tensor';
import { gradients, layerNorm, Tensor } from '../src/index.ts';
import { checkViewed, maxAbsDiff, params, shapeArb, sizeOf, valuesArb, viewedArb, type Viewed } from './arbitraries.ts';

/** The fast backend without its fused kernels: the rules fall back to their composed form. */
nd.registerBackend('fast-unfused', { ...nd.fastBackend, name: 'fast-unfused', layerNorm: undefined, layerNormBackward: undefined, softmax: undefined, geluBackward: undefined });

/** The fast backend, counting the calls of its fused backward kernels. */
const calls = { gelu: 0, layerNorm: 0 };
nd.registerBackend('fast-counting', {
  ...nd.fastBackend,
  name: 'fast-counting',
  geluBackward: (...a) => (calls.gelu++, nd.fastBackend.geluBackward!(...a)),
  layerNormBackward: (...a) => (calls.layerNorm++, nd.fastBackend.layerNormBackward!(...a)),
});

const APPROX = ['none', 'tanh'] as const;

/** x's shape (0-2 leading axes, 1-2 normalised axes), which parameters exist, eps. */
const lnCaseArb = fc
  .tuple(shapeArb({ minDims: 0, maxDims: 2 }), shapeArb({ minDims: 1, maxDims: 2, minSide: 2, maxSide: 4 }), fc.boolean(), fc.boolean(), fc.constantFrom(1e-5, 0.1))
  .chain(([lead, norm, withW, withB, eps]) =>
    fc.tuple(viewedArb([...lead, ...norm]), viewedArb(norm, (n) => valuesArb(n, 0.5, 2)), viewedArb(norm), fc.constant({ norm, withW, withB, eps })),
  );

/** layerNorm on the leaves' views, with the parameters that exist. */
function lnCall(x: Viewed, w: Viewed, b: Viewed, c: { norm: number[]; withW: boolean; withB: boolean; eps: number }) {
  const inputs = [x, ...(c.withW ? [w] : []), ...(c.withB ? [b] : [])];
  const f = (xv: Tensor, ...ps: Tensor[]) => {
    let i = 0;
    return layerNorm(xv, c.norm, c.withW ? ps[i++]! : null, c.withB ? ps[i++]! : null, c.eps);
  };
  return { inputs, f };
}

for (const backend of ['fast-unfused', 'fast-counting']) {
  const path = backend === 'fast-unfused' ? 'composed rule' : 'fused kernel';
  test(`gradcheck: gelu (both forms) on strided views, ${path}`, () => {
    const before = calls.gelu;
    fc.assert(
      fc.property(shapeArb().chain((s) => viewedArb(s, (n) => valuesArb(n, -4, 4))), fc.constantFrom(...APPROX), (x, approximate) =>
        nd.withBackend(backend, () => checkViewed((t) => t.gelu(approximate), [x])),
      ),
      params(40),
    );
    assert.is(calls.gelu > before, backend === 'fast-counting', 'the fused kernel ran exactly on the backend that has it');
  });

  test(`gradcheck: layerNorm on strided inputs and parameters, ${path}`, () => {
    const before = calls.layerNorm;
    fc.assert(
      fc.property(lnCaseArb, ([x, w, b, c]) => {
        const { inputs, f } = lnCall(x, w, b, c);
        return nd.withBackend(backend, () => checkViewed(f, inputs, { atol: 1e-5, rtol: 1e-3 }));
      }),
      params(40),
    );
    assert.is(calls.layerNorm > before, backend === 'fast-counting', 'the fused kernel ran exactly on the backend that has it');
  });
}

/** Gradients of sum(c * f(inputs)) for the inputs cast to `dtype`, on `backend`. */
function grads(backend: string, dtype: nd.DType, inputs: readonly Viewed[], f: (...xs: Tensor[]) => Tensor): Float64Array[] {
  return nd.withBackend(backend, () => {
    const leaves = inputs.map((v) => new Tensor(v.leaf.data.astype(dtype), true));
    const y = f(...leaves.map((l, i) => inputs[i]!.view(l)));
    const c = new Tensor(nd.randn(y.shape, { seed: 5, dtype }));
    return gradients(y, leaves, { gradOutput: c }).map((g, i) => {
      assert.is(g!.dtype, dtype, `gradient ${i} dtype`);
      return g!.data.toFloat64Array();
    });
  });
}

test('the fused kernels and the composed rules give the same gradients (float32 and float64)', () => {
  fc.assert(
    fc.property(
      lnCaseArb,
      shapeArb().chain((s) => viewedArb(s, (n) => valuesArb(n, -4, 4))),
      fc.constantFrom(...APPROX),
      fc.constantFrom<nd.DType>('float32', 'float64'),
      ([x, w, b, c], gx, approximate, dtype) => {
        const tol = dtype === 'float32' ? 1e-5 : 1e-12;
        const { inputs, f } = lnCall(x, w, b, c);
        const cases: [string, readonly Viewed[], (...xs: Tensor[]) => Tensor, number][] = [
          ['layerNorm', inputs, f, 10 * tol * Math.max(1, sizeOf(x.leaf.shape))],
          [`gelu(${approximate})`, [gx], (t) => t.gelu(approximate), tol],
        ];
        for (const [name, ins, fn, bound] of cases) {
          const fused = grads('fast-counting', dtype, ins, fn);
          const composed = grads('fast-unfused', dtype, ins, fn);
          fused.forEach((g, i) => {
            const d = maxAbsDiff(g, composed[i]!);
            if (!(d <= bound)) assert.unreachable(`${name} (${dtype}) gradient ${i}: fused and composed differ by ${d}`);
          });
        }
      },
    ),
    params(60),
  );
});

test.run();
