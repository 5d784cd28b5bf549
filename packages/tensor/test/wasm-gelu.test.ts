/**
 * The WebAssembly SIMD tanh-GELU (src/backends/fast/gelu-wasm.ts, wasm/gelu.ts), forward
 * and backward, on the fast backend: against a float64 evaluation of the same function
 * with an error bound derived from the kernel's float32 arithmetic, and against the
 * reference backend, over drawn shapes, strided views, large magnitudes and infinities.
 */
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { setVectorKernels } from '../src/backends/fast/wasm/instance.ts';
import * as nd from '../src/index.ts';
import { geluTanh, geluTanhGrad } from '../src/special.ts';
import { layoutArb, makeView, seedArb } from './arbitraries.ts';

const SEED = Number(process.env.TSGRAD_FC_SEED ?? 20_261_203);
const params = (numRuns: number) => ({ numRuns, seed: SEED });
const U = 2 ** -24;
const C = Math.sqrt(2 / Math.PI);
const A = 0.044715;

/**
 * Per element of x: a float64 value of gelu (or g gelu') and the kernel's error bound.
 * The float32 argument z = -2u carries a relative error of about 4u, which moves exp(z),
 * s and so the result by up to 4u |z| relatively; exp, the division and the products add
 * a few u more. The backward's bracket 1 + x e s (2c + 6ca x^2) can cancel (gelu' has a
 * root), so its bound scales with the size of its terms, not of the result. Where the
 * forward is below 1e-36 in size the kernel may give 0; below x = -10 the backward is
 * gelu'(-10) (at most 3e-36 in size) where the exact one is smaller still.
 */
function oracle(x: number, g: number | null): { value: number; tol: number } {
  const z = -2 * C * (x + A * x * x * x);
  const e = Math.exp(z);
  const s = 1 / (1 + e);
  const rel = U * (4 * Math.abs(Math.min(z, 88)) + 12);
  if (g === null) return { value: x * s, tol: rel * Math.abs(x * s) + 1e-36 };
  const es = 1 / (1 + 1 / e); // e s, without Infinity * 0
  const inner = x * es * (2 * C + 6 * C * A * x * x);
  return { value: g * s * (1 + inner), tol: (rel + 4 * U) * Math.abs(g) * s * (1 + Math.abs(inner)) + 3e-36 * Math.abs(g) + 1e-36 };
}

/** A view whose values are scaled to ±scale, with some ±Infinity and NaN. */
const caseArb = fc
  .record({
    shape: fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 0, maxLength: 3 }),
    scale: fc.constantFrom(1, 4, 12, 1e4),
    special: fc.constantFrom(0, 0, 0.05),
    seed: seedArb(),
  })
  .chain((c) => fc.tuple(fc.constant(c), layoutArb(c.shape.length), layoutArb(c.shape.length)))
  .map(([c, lx, lg]) => {
    const x = makeView(c.shape, lx, c.seed, { dtype: 'float32', low: -c.scale, high: c.scale });
    const g = makeView(c.shape, lg, c.seed + 1, { dtype: 'float32' });
    const rng = new nd.Rng(c.seed + 2);
    for (let i = 0; i < x.data.length; i++) if (rng.uniform() < c.special) x.data[i] = [NaN, Infinity, -Infinity][Math.floor(rng.uniform() * 3)]!;
    return { x, g };
  });

/** NaN where `want` is NaN (the reference's formulas decide where), equal infinities, else within `tol[i]`. */
function check(got: Float64Array, want: Float64Array, tol: (i: number) => number, what: string): void {
  for (let i = 0; i < want.length; i++) {
    const [a, b] = [got[i]!, want[i]!];
    if (Number.isNaN(b) ? Number.isNaN(a) : a === b || Math.abs(a - b) <= tol(i)) continue;
    assert.unreachable(`${what}: element ${i} is ${a}, expected ${b} (tolerance ${tol(i)})`);
  }
}

test('gelu and its backward (tanh, float32) are within the float32 error bound of a float64 evaluation', () => {
  fc.assert(
    fc.property(caseArb, ({ x, g }) => {
      const be = nd.fastBackend;
      const xs = x.toFloat64Array();
      const gs = g.toFloat64Array();
      const y = be.unary('gelu', x, 'float32');
      const dy = be.geluBackward!(x, g, 'tanh');
      assert.is(y.dtype, 'float32');
      assert.is(dy.dtype, 'float32');
      const fw = xs.map((v) => oracle(v, null).value);
      // the reference formulas fix the specials: gelu(-inf), gelu'(+-inf) are NaN
      const special = (i: number, v: number) => (Number.isFinite(xs[i]!) ? v : xs[i] === Infinity && v === v ? Infinity : NaN);
      check(y.toFloat64Array(), fw.map((v, i) => special(i, v)), (i) => oracle(xs[i]!, null).tol, `gelu of [${x.shape}]`);
      const bw = xs.map((v, i) => (Number.isFinite(v) ? oracle(v, gs[i]!).value : NaN));
      check(dy.toFloat64Array(), bw, (i) => oracle(xs[i]!, gs[i]!).tol, `gelu' of [${x.shape}]`);
    }),
    params(200),
  );
});

test('gelu and its backward agree with the reference backend (and, kernels off, with the JS loop)', () => {
  for (const on of [true, false]) {
    setVectorKernels(on);
    try {
      fc.assert(
        fc.property(caseArb, ({ x, g }) => {
          const [fast, ref] = [nd.fastBackend, nd.referenceBackend];
          const xs = x.toFloat64Array();
          // the reference's 1 + tanh(u) is 0 below x = -5.5 or so, where the exact value is
          // up to |x| 1e-16: hence the absolute part
          const tol = (i: number) => 2e-6 * Math.abs(geluTanh(xs[i]!)) + 1e-15 * (1 + Math.abs(xs[i]!));
          check(fast.unary('gelu', x, 'float32').toFloat64Array(), ref.unary('gelu', x, 'float32').toFloat64Array(), tol, `gelu, kernels ${on}`);
          const gs = g.toFloat64Array();
          const tolB = (i: number) => 2e-6 * Math.abs(gs[i]!) * (1 + Math.abs(geluTanhGrad(xs[i]!)) + Math.abs(xs[i]!)) + 1e-15;
          check(fast.geluBackward!(x, g, 'tanh').toFloat64Array(), nd.withBackend('reference', () => nd.mul(g, nd.array(xs.map(geluTanhGrad), 'float32').reshape(x.shape))).toFloat64Array(), tolB, `gelu', kernels ${on}`);
        }),
        params(on ? 100 : 30),
      );
    } finally {
      setVectorKernels(null);
    }
  }
});

test('arrays of several chunks (16384 elements each) and a large broadcast gradient', () => {
  const x = nd.randn([3, 20_000], { seed: 5, dtype: 'float32', std: 3 });
  const g = nd.randn([20_000], { seed: 6, dtype: 'float32' }).reshape([1, 20_000]).expand([3, 20_000]);
  const be = nd.fastBackend;
  const xs = x.toFloat64Array();
  const gs = g.toFloat64Array();
  check(be.unary('gelu', x, 'float32').toFloat64Array(), xs.map((v) => oracle(v, null).value), (i) => oracle(xs[i]!, null).tol, 'gelu');
  check(be.geluBackward!(x, g, 'tanh').toFloat64Array(), xs.map((v, i) => oracle(v, gs[i]!).value), (i) => oracle(xs[i]!, gs[i]!).tol, "gelu'");
});

test.run();
