/**
 * The fused attention kernels of the fast backend (`attention`, `attentionBackward`)
 * against the composition on the reference backend, which states the math in matmul,
 * where and softmax: on strided (transposed, sliced, broadcast) q, k, v of drawn shapes,
 * causal and not, float32 (with the WebAssembly kernels on and off) and float64. Also the op
 * layer's dtype promotion and its errors.
 */
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as nd from '../src/index.ts';
import { setMatmulWasm } from '../src/backends/fast/wasm/gemm.ts';
import { setVectorKernels } from '../src/backends/fast/wasm/instance.ts';
import { params, shapeArb, viewArb } from './arbitraries.ts';
import { assertMatches } from './conformance-support.ts';

/** Leading axes (0-2), then T, S, D, Dv (up to 10, so the GEMM's 4 x 8 tiles have remainders). */
const caseArb = fc
  .tuple(
    fc.constantFrom<nd.DType>('float32', 'float64'),
    shapeArb({ minRank: 0, maxRank: 2, maxSide: 3 }),
    shapeArb({ minRank: 4, maxRank: 4, maxSide: 10 }),
    fc.boolean(),
    fc.option(fc.double({ min: 0.1, max: 2, noNaN: true }), { nil: undefined }),
    fc.boolean(),
  )
  .chain(([dtype, lead, [t, s, d, dv], causal, scale, wasm]) => {
    const fill = { dtype, low: -2, high: 2 };
    return fc.record({
      q: viewArb([...lead, t!, d!], fill),
      k: viewArb([...lead, s!, d!], fill),
      v: viewArb([...lead, s!, dv!], fill),
      g: viewArb([...lead, t!, dv!], fill),
      opts: fc.constant({ causal, scale }),
      wasm: fc.constant(wasm),
    });
  });

/** Tolerances: float32 products of up to 10 terms of size ~4, softmax weights in [0, 1]. */
const tol = (dtype: nd.DType): [number, number] => (dtype === 'float32' ? [2e-5, 2e-5] : [1e-12, 1e-12]);

test('fast attention forward (out and lse) matches the reference composition, strided, causal and not, float32 and float64', () => {
  fc.assert(
    fc.property(caseArb, ({ q, k, v, opts, wasm }) => {
      setMatmulWasm(wasm);
      setVectorKernels(wasm);
      try {
        const f = () => nd.attention(q, k, v, opts);
        const [got, want] = [nd.withBackend('fast', f), nd.withBackend('reference', f)];
        const [rtol, atol] = tol(q.dtype);
        const what = `attention ${q.dtype} q [${q.shape}] k [${k.shape}] v [${v.shape}] ${JSON.stringify(opts)}`;
        assertMatches(got.out, want.out, `${what}: out`, rtol, atol);
        assertMatches(got.lse, want.lse, `${what}: lse`, rtol, atol);
      } finally {
        setMatmulWasm(null);
        setVectorKernels(null);
      }
    }),
    params(120),
  );
});

test('fast attentionBackward (dq, dk, dv) matches the reference composition, strided, causal and not, float32 and float64', () => {
  fc.assert(
    fc.property(caseArb, ({ q, k, v, g, opts, wasm }) => {
      setMatmulWasm(wasm);
      setVectorKernels(wasm);
      try {
        const { lse } = nd.withBackend('reference', () => nd.attention(q, k, v, opts));
        const f = () => nd.attentionBackward(g, q, k, v, lse, opts);
        const [got, want] = [nd.withBackend('fast', f), nd.withBackend('reference', f)];
        const [rtol, atol] = tol(q.dtype);
        const what = `attentionBackward ${q.dtype} q [${q.shape}] k [${k.shape}] v [${v.shape}] ${JSON.stringify(opts)}`;
        // gradients sum up to T (or S) terms of the products above
        for (const key of ['dq', 'dk', 'dv'] as const) assertMatches(got[key], want[key], `${what}: ${key}`, rtol, atol * 10);
      } finally {
        setMatmulWasm(null);
        setVectorKernels(null);
      }
    }),
    params(120),
  );
});

test('attention: with causal, row i equals attention over the first i + 1 keys alone', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 1000 }), fc.constantFrom('fast', 'reference'), (t, d, seed, backend) =>
      nd.withBackend(backend, () => {
        const [q, k, v] = [0, 1, 2].map((i) => nd.randn([t, d], { seed: seed + i, dtype: 'float64' })) as [nd.NDArray, nd.NDArray, nd.NDArray];
        const full = nd.attention(q, k, v, { causal: true }).out;
        for (let i = 0; i < t; i++) {
          const part = nd.attention(q.slice(0, i, i + 1), k.slice(0, 0, i + 1), v.slice(0, 0, i + 1)).out;
          assertMatches(full.slice(0, i, i + 1).contiguous(), part, `row ${i} of ${t}`, 1e-12, 1e-12);
        }
      }),
    ),
    params(30),
  );
});

test('attention: promotes to float64 when any operand is float64, to float32 from int32; the default scale is 1 / sqrt(D)', () => {
  const q = nd.randn([2, 3, 4], { seed: 1, dtype: 'float32' });
  const k = nd.randn([2, 5, 4], { seed: 2, dtype: 'float64' });
  const v = nd.randn([2, 5, 3], { seed: 3, dtype: 'float32' });
  assert.is(nd.attention(q, k, v).out.dtype, 'float64');
  const i = nd.NDArray.fromTyped(Int32Array.from([1, 2, 3, 4]), [2, 2]);
  assert.is(nd.attention(i, i, i).out.dtype, 'float32');
  const a = nd.attention(q, k, v).out;
  const b = nd.attention(q, k, v, { scale: 0.5 }).out; // 1 / sqrt(4)
  assertMatches(a, b, 'default scale', 0, 0);
});

test('attention and attentionBackward: bad shapes and bool inputs throw with the op and the shapes', () => {
  const z = (shape: number[]) => nd.zeros(shape, 'float32');
  assert.throws(() => nd.attention(z([2, 4, 3]), z([2, 4, 2]), z([2, 4, 3])), /^attention: k's feature size must equal q's; got q \[2, 4, 3\], k \[2, 4, 2\], v \[2, 4, 3\]/);
  assert.throws(() => nd.attention(z([2, 4, 3]), z([2, 4, 3]), nd.zeros([2, 4, 3], 'bool')), /attention: v must be numeric/);
  assert.throws(() => nd.attention(z([4, 3]), z([4, 3]), z([4, 3]), { scale: Infinity }), /attention: scale must be finite/);
  assert.throws(() => nd.attentionBackward(z([4, 2]), z([4, 3]), z([4, 3]), z([4, 3]), z([4])), /attentionBackward: g \[4, 2\] and lse \[4\] must have shapes \[4, 3\] and \[4\]/);
});

test.run();
