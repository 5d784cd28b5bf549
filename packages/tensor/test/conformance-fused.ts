/**
 * The conformance suite's part for the optional fused kernels (`softmax`, `layerNorm`,
 * `layerNormBackward`, `geluBackward`). Softmax and layer norm are checked through the op
 * layer, which runs a backend's fused kernel when it has one and composes primitives
 * otherwise, against the composition on the reference backend. The two backward kernels
 * are checked, where a backend has them, against central differences of the forward
 * on the reference in float64 (an oracle that does not restate the derivative).
 */
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend } from '../src/backend.ts';
import * as nd from '../src/index.ts';
import { shapeArb, viewArb } from './arbitraries.ts';
import { assertMatches, fillFor } from './conformance-support.ts';

const ref = nd.referenceBackend;
const floatArb = fc.constantFrom<nd.DType>('float32', 'float64');
const onReference = <T,>(f: () => T): T => nd.withBackend('reference', f);

/** Registers the fused-kernel tests for one backend (`runs` scales fast-check's run count). */
export function checkFusedKernels(name: string, b: Backend, runs: (n: number) => fc.Parameters<unknown>): void {
  if (b === ref) return; // the oracle itself: it has no fused kernels, and its composition is what the others are compared with
  const how = (kernel: unknown) => (kernel ? 'its fused kernel' : 'the composed ops');
  const on = <T,>(f: () => T): T => nd.withBackend(name, f);

  test(`${name}: softmax and logSoftmax (${how(b.softmax)}) on strided views with NaN and infinities`, () => {
    const args = fc.tuple(floatArb, fc.boolean(), shapeArb({ minRank: 1, maxRank: 4, maxSide: 4 }), fc.nat());
    fc.assert(
      fc.property(
        args.chain(([dtype, log, shape, pick]) => fc.tuple(fc.constant(log), viewArb(shape, fillFor(dtype, false)), fc.constant(pick % shape.length))),
        ([log, x, axis]) => {
          const f = () => (log ? nd.logSoftmax(x, axis) : nd.softmax(x, axis));
          const tol = x.dtype === 'float32' ? 2e-6 : 1e-13;
          const want = onReference(f);
          assertMatches(on(f), want, `${log ? 'logSoftmax' : 'softmax'} of ${x.dtype} [${x.shape}] axis ${axis}`, tol, tol);
        },
      ),
      runs(150),
    );
  });

  test(`${name}: layerNorm (${how(b.layerNorm)}) over the last one or two axes, with and without weight and bias`, () => {
    const args = fc.tuple(floatArb, shapeArb({ minRank: 1, maxRank: 3, maxSide: 4 }), fc.integer({ min: 1, max: 2 }), fc.boolean());
    fc.assert(
      fc.property(
        args.chain(([dtype, shape, k, affine]) => {
          const norm = shape.slice(shape.length - Math.min(k, shape.length));
          const fill = { dtype };
          return fc.tuple(fc.constant(norm), viewArb(shape, fill), affine ? fc.tuple(viewArb(norm, fill), viewArb(norm, fill)) : fc.constant(null));
        }),
        ([norm, x, affine]) => {
          const f = () => nd.layerNorm(x, norm, affine?.[0] ?? null, affine?.[1] ?? null, 1e-3);
          const [got, want] = [on(f), onReference(f)];
          const tol = (x.dtype === 'float32' ? 3e-5 : 1e-11) * x.size;
          for (const key of ['y', 'mean', 'rstd'] as const) assertMatches(got[key], want[key], `layerNorm ${key} of ${x.dtype} [${x.shape}] over [${norm}]`, tol, tol);
        },
      ),
      runs(100),
    );
  });

  if (b.layerNormBackward) {
    test(`${name}: layerNormBackward (fused) equals central differences of the reference layer norm`, () => {
      const args = fc.tuple(floatArb, fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 5 }), fc.boolean(), fc.boolean());
      fc.assert(
        fc.property(
          args.chain(([dtype, rows, n, affine, withBias]) => {
            const fill = { dtype };
            return fc.tuple(viewArb([rows, n], fill), viewArb([rows, n], fill), affine ? viewArb([n], fill) : fc.constant(null), fc.constant(withBias));
          }),
          ([xv, gv, wv, withBias]) => {
            const [x, g, w] = [xv.contiguous(), gv.contiguous(), wv?.contiguous() ?? null];
            const { mean, rstd } = onReference(() => nd.layerNorm(x, [x.shape[1]!], w, null, 1e-3));
            const got = b.layerNormBackward!(g, x, w, withBias, mean, rstd);
            const want = layerNormGradsByDifferences(x, g, w, 1e-3);
            const tol = (x.dtype === 'float32' ? 3e-5 : 1e-6) * x.size;
            assertMatches(nd.cast(got.dx, 'float64'), want.dx, 'dx', tol, tol);
            if (w) assertMatches(nd.cast(got.dweight!, 'float64'), want.dweight, 'dweight', tol, tol);
            else assert.is(got.dweight, null, 'no dweight without a weight');
            if (withBias) assertMatches(nd.cast(got.dbias!, 'float64'), want.dbias, 'dbias', tol, tol);
            else assert.is(got.dbias, null, 'no dbias without a bias');
          },
        ),
        runs(60),
      );
    });
  }

  if (b.geluBackward) {
    test(`${name}: geluBackward (fused, tanh and exact) equals g times central differences of the reference GELU`, () => {
      const args = fc.tuple(floatArb, fc.constantFrom<'tanh' | 'none'>('tanh', 'none'), shapeArb({ maxRank: 3, maxSide: 4 }));
      fc.assert(
        fc.property(
          args.chain(([dtype, approximate, shape]) => fc.tuple(fc.constant(approximate), viewArb(shape, { dtype }), viewArb(shape, { dtype }))),
          ([approximate, x, g]) => {
            const got = b.geluBackward!(x, g, approximate);
            assert.is(got.dtype, x.dtype);
            const op = approximate === 'tanh' ? 'gelu' : 'geluErf';
            const x64 = ref.cast(x, 'float64');
            const h = 1e-5;
            const at = (shift: number) => ref.unary(op, ref.binary('add', x64, nd.full(x.shape, shift, 'float64'), 'float64'), 'float64');
            const slope = ref.binary('div', ref.binary('sub', at(h), at(-h), 'float64'), nd.full(x.shape, 2 * h, 'float64'), 'float64');
            const want = ref.binary('mul', ref.cast(g, 'float64'), slope, 'float64');
            const tol = x.dtype === 'float32' ? 1e-5 : 1e-8;
            assertMatches(nd.cast(got, 'float64'), want, `gelu'(${approximate}) of ${x.dtype} [${x.shape}]`, tol, tol);
          },
        ),
        runs(100),
      );
    });
  }
}

/**
 * dL/dx, dL/dweight and dL/dbias of L = sum(g * layerNorm(x, weight, bias)) over the
 * last axis, by central differences in float64 on the reference backend (bias 0).
 */
function layerNormGradsByDifferences(x: nd.NDArray, g: nd.NDArray, w: nd.NDArray | null, eps: number) {
  const [x64, g64] = [nd.cast(x, 'float64'), nd.cast(g, 'float64')];
  const n = x.shape[1]!;
  const w64 = w ? nd.cast(w, 'float64') : nd.ones([n], 'float64');
  const b64 = nd.zeros([n], 'float64');
  const loss = (xs: nd.NDArray, ws: nd.NDArray, bs: nd.NDArray) => onReference(() => nd.sum(nd.mul(g64, nd.layerNorm(xs, [n], ws, bs, eps).y)).item());
  const h = 1e-5;
  /** The derivative of `loss` along each element of `args[which]`. */
  const partials = (args: [nd.NDArray, nd.NDArray, nd.NDArray], which: number): nd.NDArray => {
    const base = args[which]!;
    const out = nd.zeros(base.shape, 'float64');
    for (let i = 0; i < base.size; i++) {
      const moved = (d: number) => {
        const copy = nd.cast(base, 'float64');
        copy.data[i] = copy.data[i]! + d;
        const next: [nd.NDArray, nd.NDArray, nd.NDArray] = [...args];
        next[which] = copy;
        return loss(...next);
      };
      out.data[i] = (moved(h) - moved(-h)) / (2 * h);
    }
    return out;
  };
  const args: [nd.NDArray, nd.NDArray, nd.NDArray] = [x64, w64, b64];
  return { dx: partials(args, 0), dweight: partials(args, 1), dbias: partials(args, 2) };
}
