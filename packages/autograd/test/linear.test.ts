/**
 * The fused `linear` op: float64 gradcheck (and second order) over drawn shapes, and bitwise
 * agreement with the composition `x.matmul(weight.mT).add(bias)` it replaces, values and
 * gradients, in float32 and float64, including strided (transposed) operands.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import * as nd from '@tsgrad/tensor';
import { gradcheck, gradgradcheck, gradients, linear, Tensor } from '../src/index.ts';
import { params, valuesArb } from './arbitraries.ts';

const dims = fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }));
const caseArb = dims.chain(([rows, inF, outF]) =>
  fc.record({
    rows: fc.constant(rows),
    inF: fc.constant(inF),
    outF: fc.constant(outF),
    x: valuesArb(rows * inF),
    w: valuesArb(outF * inF),
    b: valuesArb(outF),
    g: valuesArb(rows * outF),
    withBias: fc.boolean(),
    transposedX: fc.boolean(),
  }),
);
type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

/** The case's tensors in `dtype`; `transposedX` hands x over as the transpose of an [in, rows] leaf. */
function tensors(c: Case, dtype: 'float32' | 'float64'): { leaves: Tensor[]; x: () => Tensor; w: Tensor; b: Tensor | null } {
  const make = (v: number[], shape: number[]) => new Tensor(nd.cast(nd.NDArray.fromTyped(Float64Array.from(v), shape), dtype), true);
  const xLeaf = c.transposedX ? make(c.x, [c.inF, c.rows]) : make(c.x, [c.rows, c.inF]);
  const w = make(c.w, [c.outF, c.inF]);
  const b = c.withBias ? make(c.b, [c.outF]) : null;
  return { leaves: [xLeaf, w, ...(b ? [b] : [])], x: () => (c.transposedX ? xLeaf.mT : xLeaf), w, b };
}

const bytes = (t: Tensor): number[] => {
  const a = t.data.toTyped();
  return [...new Uint8Array(a.buffer, a.byteOffset, a.byteLength)];
};

test('linear is bitwise the composition x.matmul(W.mT).add(b), values and gradients (float32, float64)', () => {
  fc.assert(
    fc.property(caseArb, fc.constantFrom('float32' as const, 'float64' as const), (c, dtype) => {
      const results = [true, false].map((fused) => {
        const { leaves, x, w, b } = tensors(c, dtype);
        const y = fused ? linear(x(), w, b) : b ? x().matmul(w.mT).add(b) : x().matmul(w.mT);
        const g = new Tensor(nd.cast(nd.NDArray.fromTyped(Float64Array.from(c.g), [c.rows, c.outF]), dtype));
        return [bytes(y), ...gradients(y, leaves, { gradOutput: g }).map(bytes)];
      });
      assert.equal(results[0], results[1]);
    }),
    params(60),
  );
});

test('gradcheck and gradgradcheck: linear over drawn shapes, with and without bias, strided x', () => {
  fc.assert(
    fc.property(caseArb, (c) => {
      const { leaves } = tensors(c, 'float64');
      const f = (xl: Tensor, w: Tensor, b?: Tensor) => linear(c.transposedX ? xl.mT : xl, w, b ?? null).tanh();
      gradcheck(f, leaves);
      gradgradcheck(f, leaves);
    }),
    params(30),
  );
});

test('linear: other ranks and mismatched shapes take the composition, with its errors', () => {
  const x = new Tensor(nd.ones([2, 3, 4]), true);
  const w = new Tensor(nd.ones([5, 4]), true);
  const b = new Tensor(nd.ones([5]), true);
  assert.equal(linear(x, w, b).shape, [2, 3, 5]);
  assert.throws(() => linear(new Tensor(nd.ones([2, 3])), w, b), /matmul/);
  assert.throws(() => linear(new Tensor(nd.ones([2, 4])), w, new Tensor(nd.ones([4]))), /\[4\]/);
});

test.run();
