/**
 * The WebAssembly SIMD layer norm (src/backends/fast/layer-norm-wasm.ts, wasm/layer-norm.ts),
 * forward and backward, on the fast backend: against the JS loops it replaces (kernels
 * off) and against a float64 evaluation of the same formulas, over drawn shapes (rows
 * 1..64, widths 1..1100, so rows that are not whole vectors and inputs of several
 * chunks), with and without weight and bias, several eps, offset operands, large
 * magnitudes and special values (NaN, +-Infinity, +-0).
 *
 * The kernel works in float64 lanes with the JS kernel's formulas; only the row sums are
 * added in another order. So, for the same mean and rstd, dweight and dbias are bitwise
 * the JS kernel's, and everything else is within one float32 rounding of it (a float64
 * difference of a few units in the last place may round the other way) plus a float64
 * summation error (n 2^-53 of the sum of magnitudes, below 1e-12 of the row's scale).
 */
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { layerNorm, layerNormBackward } from '../src/backends/fast/layer-norm-kernel.ts';
import { layerNormBackwardF32, layerNormF32 } from '../src/backends/fast/layer-norm-wasm.ts';
import { setVectorKernels } from '../src/backends/fast/wasm/instance.ts';
import * as nd from '../src/index.ts';
import { seedArb } from './arbitraries.ts';

const SEED = Number(process.env.TSGRAD_FC_SEED ?? 20_261_203);
const params = (numRuns: number) => ({ numRuns, seed: SEED });
/** One float32 rounding, relative (two units of the last place, for a rounding that flipped plus the one before). */
const U = 2 ** -22;

interface Case {
  x: nd.NDArray;
  g: nd.NDArray;
  w: nd.NDArray | null;
  b: nd.NDArray | null;
  eps: number;
}

/** A float32 `[rows, n]` operand at a drawn offset into its buffer, values ±scale, some of them special. */
function operand(rows: number, n: number, seed: number, scale: number, special: number, offset: number): nd.NDArray {
  const rng = new nd.Rng(seed);
  const data = new Float32Array(offset + Math.max(rows, 1) * n);
  const specials = [NaN, Infinity, -Infinity, 0, -0];
  for (let i = 0; i < data.length; i++) data[i] = rng.uniform() < special ? specials[Math.floor(rng.uniform() * 5)]! : scale * (2 * rng.uniform() - 1);
  return new nd.NDArray(data, rows === 0 ? [n] : [rows, n], undefined, offset, 'float32');
}

const caseArb: fc.Arbitrary<Case> = fc
  .record({
    rows: fc.integer({ min: 1, max: 64 }),
    n: fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 1100 })),
    weight: fc.boolean(),
    bias: fc.boolean(),
    eps: fc.constantFrom(1e-5, 1e-3, 0.5, 0),
    scale: fc.constantFrom(1, 3, 1e3, 1e-3),
    special: fc.constantFrom(0, 0, 0, 0.01),
    offset: fc.constantFrom(0, 0, 3),
    seed: seedArb(),
  })
  .map((c) => ({
    x: operand(c.rows, c.n, c.seed, c.scale, c.special, c.offset),
    g: operand(c.rows, c.n, c.seed + 1, 1, c.special, c.offset),
    w: c.weight ? operand(0, c.n, c.seed + 2, 2, 0, c.offset) : null,
    b: c.bias ? operand(0, c.n, c.seed + 3, 1, 0, 0) : null,
    eps: c.eps,
  }));

/** Runs `f` with the vector kernels on or off. */
function withKernels<T>(on: boolean, f: () => T): T {
  setVectorKernels(on);
  try {
    return f();
  } finally {
    setVectorKernels(null);
  }
}

/** NaN where `want` is NaN, equal where `want` is infinite, else within tol(i). */
function check(got: nd.NDArray, want: nd.NDArray, tol: (i: number) => number, what: string): void {
  const [a, b] = [got.toFloat64Array(), want.toFloat64Array()];
  assert.is(a.length, b.length, `${what}: length`);
  for (let i = 0; i < b.length; i++) {
    const [u, v] = [a[i]!, b[i]!];
    if (Number.isNaN(v) ? Number.isNaN(u) : u === v || (Number.isFinite(v) && Math.abs(u - v) <= tol(i))) continue;
    assert.unreachable(`${what}: element ${i} is ${u}, expected ${v} (tolerance ${tol(i)})`);
  }
}

/** Per row, the largest |x - mean| rstd |w| + |b| (the scale of y's terms) and of dx's terms. */
function rowScales(c: Case, mean: Float64Array, rstd: Float64Array): { y: Float64Array; dx: Float64Array } {
  const [rows, n] = c.x.shape as [number, number];
  const [x, g] = [c.x.toFloat64Array(), c.g.toFloat64Array()];
  const w = c.w?.toFloat64Array();
  const b = c.b?.toFloat64Array();
  const y = new Float64Array(rows);
  const dx = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let [my, md, mh, mdh] = [0, 0, 0, 0];
    for (let j = 0; j < n; j++) {
      const xh = (x[r * n + j]! - mean[r]!) * rstd[r]!;
      const d = g[r * n + j]! * (w ? w[j]! : 1);
      my = Math.max(my, Math.abs(xh * (w ? w[j]! : 1)) + Math.abs(b ? b[j]! : 0), Math.abs(mean[r]! * rstd[r]!));
      md = Math.max(md, Math.abs(d));
      mh = Math.max(mh, Math.abs(xh));
      mdh = Math.max(mdh, Math.abs(d * xh));
    }
    y[r] = my;
    dx[r] = rstd[r]! * (md + mh * mdh);
  }
  return { y, dx };
}

test('layer norm on the wasm kernel equals the JS loops (forward, backward) to one float32 rounding; dweight and dbias bitwise', () => {
  fc.assert(
    fc.property(caseArb, (c) => {
      const [rows, n] = c.x.shape as [number, number];
      const fast = layerNormF32(c.x, c.w, c.b, c.eps);
      assert.ok(fast, 'the kernel runs');
      const slow = withKernels(false, () => layerNorm(c.x, c.w, c.b, c.eps));
      const [mean, rstd] = [slow.mean.toFloat64Array(), slow.rstd.toFloat64Array()];
      const scale = rowScales(c, mean, rstd);
      const what = `[${rows}, ${n}] w ${!!c.w} b ${!!c.b} eps ${c.eps}`;
      check(fast.mean, slow.mean, (r) => U * Math.abs(mean[r]!), `mean of ${what}`);
      check(fast.rstd, slow.rstd, (r) => U * Math.abs(rstd[r]!), `rstd of ${what}`);
      const ys = slow.y.toFloat64Array();
      check(fast.y, slow.y, (i) => U * Math.abs(ys[i]!) + 1e-12 * scale.y[Math.floor(i / n)]!, `y of ${what}`);
      // the backward, both from the JS forward's mean and rstd
      const got = layerNormBackwardF32(c.g, c.x, c.w, c.b !== null, slow.mean, slow.rstd);
      assert.ok(got, 'the backward kernel runs');
      const want = withKernels(false, () => layerNormBackward(c.g, c.x, c.w, c.b !== null, slow.mean, slow.rstd));
      const dxs = want.dx.toFloat64Array();
      check(got.dx, want.dx, (i) => U * Math.abs(dxs[i]!) + 1e-12 * scale.dx[Math.floor(i / n)]!, `dx of ${what}`);
      for (const key of ['dweight', 'dbias'] as const) {
        if (want[key] === null) assert.is(got[key], null, `no ${key}`);
        else check(got[key]!, want[key]!, () => 0, `${key} of ${what}`);
      }
    }),
    params(150),
  );
});

/** y, mean, rstd of the float32 inputs, evaluated in float64 with one-pass-per-quantity sums. */
function forward64(c: Case): { y: Float64Array; mean: Float64Array; rstd: Float64Array } {
  const [rows, n] = c.x.shape as [number, number];
  const x = c.x.toFloat64Array();
  const w = c.w?.toFloat64Array();
  const b = c.b?.toFloat64Array();
  const [y, mean, rstd] = [new Float64Array(rows * n), new Float64Array(rows), new Float64Array(rows)];
  for (let r = 0; r < rows; r++) {
    const row = x.subarray(r * n, (r + 1) * n);
    const mu = row.reduce((s, v) => s + v, 0) / n;
    const rs = 1 / Math.sqrt(row.reduce((s, v) => s + (v - mu) ** 2, 0) / n + c.eps);
    [mean[r], rstd[r]] = [mu, rs];
    for (let j = 0; j < n; j++) y[r * n + j] = (row[j]! - mu) * rs * (w ? w[j]! : 1) + (b ? b[j]! : 0);
  }
  return { y, mean, rstd };
}

test('layer norm on the wasm kernel is within one float32 rounding of a float64 evaluation (finite inputs, rows up to 4096 wide)', () => {
  const wide = fc.record({ rows: fc.integer({ min: 1, max: 6 }), n: fc.integer({ min: 1000, max: 4096 }), seed: seedArb(), wb: fc.boolean() });
  fc.assert(
    fc.property(wide, ({ rows, n, seed, wb }) => {
      const c: Case = { x: operand(rows, n, seed, 5, 0, 0), g: operand(rows, n, seed + 1, 1, 0, 0), w: wb ? operand(0, n, seed + 2, 2, 0, 0) : null, b: wb ? operand(0, n, seed + 3, 1, 0, 0) : null, eps: 1e-5 };
      const got = layerNormF32(c.x, c.w, c.b, c.eps)!;
      const want = forward64(c);
      const scale = rowScales(c, want.mean, want.rstd);
      const arr = (a: Float64Array, shape: number[]) => nd.NDArray.fromTyped(a, shape, 'float64');
      check(got.mean, arr(want.mean, [rows, 1]), (r) => 2 ** -24 * Math.abs(want.mean[r]!) + 1e-13 * scale.y[r]! / want.rstd[r]!, 'mean');
      check(got.rstd, arr(want.rstd, [rows, 1]), (r) => 2 ** -23 * want.rstd[r]!, 'rstd');
      check(got.y, arr(want.y, [rows, n]), (i) => 2 ** -24 * Math.abs(want.y[i]!) + 1e-12 * scale.y[Math.floor(i / n)]!, 'y');
    }),
    params(30),
  );
});

test('rows wider than a chunk (16384 floats), and the backend entry points with kernels on and off', () => {
  const c: Case = { x: operand(3, 20_003, 7, 4, 0, 1), g: operand(3, 20_003, 8, 1, 0, 1), w: operand(0, 20_003, 9, 1, 0, 0), b: operand(0, 20_003, 10, 1, 0, 0), eps: 1e-5 };
  const be = nd.fastBackend;
  const [on, off] = [true, false].map((k) =>
    withKernels(k, () => {
      const f = be.layerNorm!(c.x, c.w, c.b, c.eps);
      return { f, g: be.layerNormBackward!(c.g, c.x, c.w, true, f.mean, f.rstd) };
    }),
  );
  const tol = (a: nd.NDArray) => (i: number) => 1e-6 * (1 + Math.abs(a.toFloat64Array()[i]!));
  for (const key of ['y', 'mean', 'rstd'] as const) check(on!.f[key], off!.f[key], tol(off!.f[key]), key);
  check(on!.g.dx, off!.g.dx, tol(off!.g.dx), 'dx');
  check(on!.g.dweight!, off!.g.dweight!, tol(off!.g.dweight!), 'dweight');
  check(on!.g.dbias!, off!.g.dbias!, tol(off!.g.dbias!), 'dbias');
});

test('float64 and kernels off take the JS loops', () => {
  const x = nd.randn([4, 6], { seed: 1, dtype: 'float32' });
  assert.is(withKernels(false, () => layerNormF32(x, null, null, 1e-5)), undefined);
  assert.is(layerNormF32(nd.cast(x, 'float64'), null, null, 1e-5), undefined);
  assert.is(layerNorm(nd.cast(x, 'float64'), null, null, 1e-5).y.dtype, 'float64');
});

test.run();
