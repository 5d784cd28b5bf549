/**
 * The WebAssembly SIMD softmax (src/backends/fast/softmax-wasm.ts, wasm/softmax.ts):
 * its vector exp against Math.exp in float32 ulps, and softmax / log-softmax on the fast
 * backend against the reference backend, over drawn shapes, axes, strided views, large
 * magnitudes, -Infinity masks and NaN / +Infinity, with error bounds derived from the
 * kernel's float32 arithmetic (tighter than the conformance suite's).
 */
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { softmaxModule } from '../src/backends/fast/softmax-wasm.ts';
import { EXP_LO } from '../src/backends/fast/wasm/expf.ts';
import { setVectorKernels } from '../src/backends/fast/wasm/instance.ts';
import { DATA_PTR } from '../src/backends/fast/wasm/softmax.ts';
import * as nd from '../src/index.ts';
import { layoutArb, makeView, seedArb } from './arbitraries.ts';

const SEED = Number(process.env.TSGRAD_FC_SEED ?? 20_261_203);
const params = (numRuns: number) => ({ numRuns, seed: SEED });
const U = 2 ** -24; // float32 unit roundoff

/** The module's exp applied to `xs` (length a multiple of 4), read back. */
function wasmExp(xs: Float32Array): Float32Array {
  const w = softmaxModule();
  if (!w) throw new Error('no WebAssembly SIMD in this runtime');
  w.reserve(DATA_PTR + xs.length * 4);
  w.f32.set(xs, DATA_PTR / 4);
  w.fns.exp(DATA_PTR, xs.length / 4);
  return w.f32.slice(DATA_PTR / 4, DATA_PTR / 4 + xs.length);
}

/** |got - exp(x)| in units of the last place of exp(x) (float32); 0 below EXP_LO requires got === 0. */
function ulpError(x: number, got: number): number {
  const want = Math.exp(x);
  if (x < EXP_LO) return got === 0 ? 0 : Infinity;
  const ulp = 2 ** (Math.floor(Math.log2(want)) - 23);
  return Math.abs(got - want) / ulp;
}

test('vector exp is within one float32 ulp of exp on [ln 2^-126, 0], and exactly 0 below', () => {
  // a sweep of the whole softmax range plus the edges
  const n = 1 << 16;
  const xs = new Float32Array(n + 8);
  for (let i = 0; i < n; i++) xs[i] = (EXP_LO * i) / (n - 1);
  xs.set([0, -0, EXP_LO, -87.4, -88, -1e30, -Infinity, -1e-30], n);
  const got = wasmExp(xs);
  let worst = 0;
  for (let i = 0; i < xs.length; i++) worst = Math.max(worst, ulpError(xs[i]!, got[i]!));
  assert.ok(worst <= 1, `worst error ${worst} ulp`);
  assert.is(got[n], 1, 'exp(0) is exactly 1');
  assert.is(got[n + 6], 0, 'exp(-Infinity) is 0');
  fc.assert(
    fc.property(fc.array(fc.float({ min: -100, max: 0, noNaN: true }), { minLength: 4, maxLength: 64 }), (list) => {
      const v = new Float32Array(list.slice(0, list.length - (list.length % 4)));
      const e = wasmExp(v);
      for (let i = 0; i < v.length; i++) {
        const err = ulpError(v[i]!, e[i]!);
        if (!(err <= 1)) assert.unreachable(`exp(${v[i]}) = ${e[i]}, ${err} ulp from ${Math.exp(v[i]!)}`);
      }
    }),
    params(200),
  );
});

/**
 * Compares `got` with the reference's `want`: NaN where NaN, equal infinities, else
 * within atol + rtol |want| (+ extra[i]).
 */
function assertClose(got: nd.NDArray, want: nd.NDArray, rtol: number, atol: number, what: string, extra?: Float64Array): void {
  assert.is(got.dtype, want.dtype, `${what}: dtype`);
  assert.equal([...got.shape], [...want.shape], `${what}: shape`);
  const g = got.toFloat64Array();
  const w = want.toFloat64Array();
  for (let i = 0; i < w.length; i++) {
    const [a, b] = [g[i]!, w[i]!];
    if (Number.isNaN(b) ? Number.isNaN(a) : a === b || Math.abs(a - b) <= atol + rtol * Math.abs(b) + (extra?.[i] ?? 0)) continue;
    assert.unreachable(`${what}: element ${i} is ${a}, the reference gives ${b}`);
  }
}

/**
 * Float32 bounds. Softmax: exp within one ulp, the block sums within 7 u, the final
 * product two roundings (about 12 u relative in all), plus the rounding of x - m, which
 * moves exp(d) by at most |d| u e^d <= u / e absolutely. Log-softmax: log s inherits
 * the sum's relative error as an absolute one (about 10 u), then one rounding of x - lse;
 * and the reference rounds lse to float32 before subtracting, an error of up to
 * u |lse| <= u (|x| + |out|) on its side (`logExtra`).
 */
const TOL = {
  float32: { softmax: { rtol: 12 * U, atol: U / Math.E + 1e-30 }, log: { rtol: 2 * U, atol: 12 * U } },
  float64: { softmax: { rtol: 1e-13, atol: 1e-300 }, log: { rtol: 1e-13, atol: 1e-13 } },
};

/** u (|x| + |out|) per element: the reference's rounding of lse to float32 (see TOL). */
function logExtra(x: nd.NDArray, out: nd.NDArray): Float64Array {
  const xs = x.toFloat64Array();
  return out.toFloat64Array().map((o, i) => (Number.isFinite(o) && Number.isFinite(xs[i]!) ? U * (Math.abs(xs[i]!) + Math.abs(o)) : 0));
}

/** A view of `shape` whose values are scaled to ±scale, with -Infinity masks and some NaN / +Infinity. */
const caseArb = fc
  .record({
    dtype: fc.constantFrom<nd.DType>('float32', 'float64'),
    log: fc.boolean(),
    outer: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 0, maxLength: 2 }),
    d: fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 10, max: 90 })),
    axisPick: fc.nat(),
    scale: fc.constantFrom(1, 30, 1e4, 1e30),
    mask: fc.constantFrom(0, 0, 0.3, 0.9, 1),
    special: fc.constantFrom(0, 0, 0, 0.01, 0.1),
    seed: seedArb(),
  })
  .chain((c) => {
    // the long axis goes anywhere; the softmax axis is any axis
    const shape = [...c.outer];
    shape.splice(c.axisPick % (shape.length + 1), 0, c.d);
    return fc.tuple(fc.constant({ ...c, shape, axis: (c.axisPick >> 2) % shape.length }), layoutArb(shape.length));
  })
  .map(([c, layout]) => {
    const x = makeView(c.shape, layout, c.seed, { dtype: c.dtype, low: -c.scale, high: c.scale });
    const rng = new nd.Rng(c.seed + 1);
    for (let i = 0; i < x.data.length; i++) {
      const u = rng.uniform();
      if (u < c.mask) x.data[i] = -Infinity;
      else if (u < c.mask + c.special) x.data[i] = [NaN, Infinity, -Infinity][Math.floor(rng.uniform() * 3)]!;
    }
    return { x, axis: c.axis, log: c.log };
  });

test('softmax and logSoftmax on the fast backend match the reference (views, masks, large values, NaN, infinities)', () => {
  fc.assert(
    fc.property(caseArb, ({ x, axis, log }) => {
      const f = () => (log ? nd.logSoftmax(x, axis) : nd.softmax(x, axis));
      const tol = TOL[x.dtype as 'float32' | 'float64'][log ? 'log' : 'softmax'];
      const want = nd.withBackend('reference', f);
      const extra = log && x.dtype === 'float32' ? logExtra(x, want) : undefined;
      assertClose(nd.withBackend('fast', f), want, tol.rtol, tol.atol, `${log ? 'logSoftmax' : 'softmax'} of ${x.dtype} [${x.shape}] strides [${x.strides}] axis ${axis}`, extra);
    }),
    params(150),
  );
});

test('with the vector kernels off, float32 softmax still matches (the plain JS loop)', () => {
  setVectorKernels(false);
  try {
    fc.assert(
      fc.property(caseArb, ({ x, axis, log }) => {
        const f = () => (log ? nd.logSoftmax(x, axis) : nd.softmax(x, axis));
        assertClose(nd.withBackend('fast', f), nd.withBackend('reference', f), 1e-6, 1e-6, 'JS softmax');
      }),
      params(30),
    );
  } finally {
    setVectorKernels(null);
  }
});

test('rows longer than a chunk (the module memory grows) and more rows than a chunk holds', () => {
  for (const [rows, d] of [
    [2, 40_000],
    [5000, 3],
    [70, 300],
  ] as const) {
    const x = nd.randn([rows, d], { seed: rows + d, dtype: 'float32', std: 5 });
    for (const log of [false, true]) {
      const f = () => (log ? nd.logSoftmax(x, 1) : nd.softmax(x, 1));
      const tol = TOL.float32[log ? 'log' : 'softmax'];
      const want = nd.withBackend('reference', f);
      assertClose(nd.withBackend('fast', f), want, tol.rtol, tol.atol, `[${rows}, ${d}] log=${log}`, log ? logExtra(x, want) : undefined);
    }
  }
});

test('a row of all -Infinity is NaN, a row with +Infinity gives -Infinity / NaN in log-softmax, as on the reference', () => {
  const x = nd.array([
    [-Infinity, -Infinity, -Infinity, -Infinity, -Infinity],
    [1, Infinity, 2, -Infinity, 3],
    [1, Infinity, NaN, -Infinity, 3],
    [1, 2, 3, 4, NaN],
  ]);
  for (const log of [false, true]) {
    const f = () => (log ? nd.logSoftmax(x, 1) : nd.softmax(x, 1));
    assertClose(nd.withBackend('fast', f), nd.withBackend('reference', f), 0, 0, `specials, log=${log}`);
  }
});

test.run();
