/**
 * The WebAssembly SIMD Adam / AdamW step (src/backends/fast/adam-wasm.ts, wasm/adam.ts)
 * against the plain float64 loop that nn's optimizer runs (copied below, since the tensor
 * package cannot import nn): bitwise equal, over drawn sizes (across the 8192-element
 * chunks and not multiples of four), strided gradients, every option (L2 or decoupled
 * decay, amsgrad, maximize), several steps, and gradients with zeros, NaN and infinities.
 */
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AdamStepConstants } from '../src/backend.ts';
import { adamUpdateF32 } from '../src/backends/fast/adam-wasm.ts';
import { setVectorKernels } from '../src/backends/fast/wasm/instance.ts';
import * as nd from '../src/index.ts';
import { layoutArb, makeView, seedArb } from './arbitraries.ts';

const SEED = Number(process.env.TSGRAD_FC_SEED ?? 20_261_203);
const params = (numRuns: number) => ({ numRuns, seed: SEED });

type F = Float32Array | Float64Array;

/** nn's plain update (packages/nn/src/optim/adam.ts, adamLoop), on a dense gradient. */
function plainStep(w: F, g: F, m: F, v: F, vmax: F | null, k: AdamStepConstants): void {
  const { b1, b2, l2, shrink, sign, stepSize, bc2Sqrt, eps } = k;
  for (let i = 0; i < w.length; i++) {
    let wi = w[i]!;
    const gi = sign * g[i]! + l2 * wi;
    wi *= shrink;
    const mi = b1 * m[i]! + (1 - b1) * gi;
    let vi = b2 * v[i]! + (1 - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    if (vmax) {
      vi = Math.max(vmax[i]!, v[i]!);
      vmax[i] = vi;
    }
    w[i] = wi - (stepSize * m[i]!) / (Math.sqrt(vi) / bc2Sqrt + eps);
  }
}

/** The constants of step `t` as nn computes them. */
function constants(t: number, o: { lr: number; b1: number; b2: number; eps: number; wd: number; decoupled: boolean; maximize: boolean }): AdamStepConstants {
  return {
    b1: o.b1,
    b2: o.b2,
    l2: o.decoupled ? 0 : o.wd,
    shrink: o.decoupled ? 1 - o.lr * o.wd : 1,
    sign: o.maximize ? -1 : 1,
    stepSize: o.lr / (1 - o.b1 ** t),
    bc2Sqrt: Math.sqrt(1 - o.b2 ** t),
    eps: o.eps,
  };
}

/** Same bits, NaN for NaN (the payload may differ). */
function sameBits(got: Float32Array, want: Float32Array, what: string): void {
  assert.is(got.length, want.length);
  for (let i = 0; i < want.length; i++) {
    if (Number.isNaN(want[i]!) && Number.isNaN(got[i]!)) continue;
    if (!Object.is(got[i], want[i])) assert.unreachable(`${what}[${i}]: kernel ${got[i]}, plain loop ${want[i]}`);
  }
}

const optionsArb = fc.record({
  lr: fc.constantFrom(1e-3, 3e-4, 0.1),
  b1: fc.constantFrom(0.9, 0, 0.5),
  b2: fc.constantFrom(0.999, 0.95, 0),
  eps: fc.constantFrom(1e-8, 0, 1e-3),
  wd: fc.constantFrom(0, 1e-2, 0.1),
  decoupled: fc.boolean(),
  maximize: fc.boolean(),
  amsgrad: fc.boolean(),
});

const caseArb = fc
  .record({
    shape: fc.oneof(
      fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 3 }),
      fc.constantFrom([97, 113], [8192], [8193], [3, 5461]),
    ),
    special: fc.constantFrom(0, 0, 0.05),
    steps: fc.integer({ min: 1, max: 3 }),
    seed: seedArb(),
  })
  .chain((c) => fc.tuple(fc.constant(c), layoutArb(c.shape.length), optionsArb));

test('the wasm Adam step is bitwise the plain loop (drawn sizes, layouts, options, specials)', () => {
  fc.assert(
    fc.property(caseArb, ([c, layout, o]) => {
      const size = (c.shape as readonly number[]).reduce((a, b) => a * b, 1);
      const rng = new nd.Rng(c.seed);
      const w0 = Float32Array.from({ length: size }, () => rng.normal());
      const [w1, w2] = [w0.slice(), w0.slice()];
      const [m1, v1, x1] = [new Float32Array(size), new Float32Array(size), new Float32Array(size)];
      const [m2, v2, x2] = [new Float32Array(size), new Float32Array(size), new Float32Array(size)];
      for (let t = 1; t <= c.steps; t++) {
        const g = makeView(c.shape, layout, c.seed + t, { dtype: 'float32', low: -3, high: 3 });
        for (let i = 0; i < g.data.length; i++) {
          const u = rng.uniform();
          if (u < c.special) g.data[i] = [NaN, Infinity, -Infinity, 0][Math.floor((u / c.special) * 4)]!;
        }
        const k = constants(t, o);
        assert.ok(adamUpdateF32(w1, g, m1, v1, o.amsgrad ? x1 : null, k), 'the kernel took the case');
        plainStep(w2, g.contiguous().data as Float32Array, m2, v2, o.amsgrad ? x2 : null, k);
      }
      sameBits(w1, w2, 'w');
      sameBits(m1, m2, 'm');
      sameBits(v1, v2, 'v');
      if (o.amsgrad) sameBits(x1, x2, 'vmax');
    }),
    params(150),
  );
});

test('transposed gradients (the weight gradient of x W^T), gathered column-wise by whole rows, give the plain loop\'s bits', () => {
  // [rows, cols] views of [cols, rows] arrays: rows of 784 (10 per chunk), of 3000 (2 per
  // chunk), and of 9000 (longer than a chunk: the row-by-row gather)
  for (const [rows, cols] of [[512, 784], [7, 3000], [3, 9000]] as const) {
    const rng = new nd.Rng(rows);
    const w0 = Float32Array.from({ length: rows * cols }, () => rng.normal());
    const [w1, w2] = [w0.slice(), w0.slice()];
    const [m1, v1, m2, v2] = [0, 1, 2, 3].map(() => new Float32Array(rows * cols)) as [Float32Array, Float32Array, Float32Array, Float32Array];
    const o = { lr: 1e-3, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0.01, decoupled: true, maximize: false };
    for (let t = 1; t <= 2; t++) {
      const g = nd.NDArray.fromTyped(Float32Array.from({ length: rows * cols }, () => rng.normal()), [cols, rows]).transpose(0, 1);
      assert.ok(adamUpdateF32(w1, g, m1, v1, null, constants(t, o)));
      plainStep(w2, g.contiguous().data as Float32Array, m2, v2, null, constants(t, o));
    }
    sameBits(w1, w2, `w [${rows}, ${cols}]`);
    sameBits(m1, m2, `m [${rows}, ${cols}]`);
    sameBits(v1, v2, `v [${rows}, ${cols}]`);
  }
});

test('the wasm Adam step declines (changing nothing) what it does not take', () => {
  const k = constants(1, { lr: 1e-3, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0, decoupled: false, maximize: false });
  const g32 = nd.NDArray.fromTyped(new Float32Array([1, 2, 3, 4, 5]), [5]);
  const w = new Float32Array([1, 1, 1, 1, 1]);
  const m = new Float32Array(5);
  const v = new Float32Array(5);
  assert.not.ok(adamUpdateF32(new Float64Array(5), nd.cast(g32, 'float64'), new Float64Array(5), new Float64Array(5), null, k), 'float64');
  assert.not.ok(adamUpdateF32(w, nd.cast(g32, 'float64'), m, v, null, k), 'a float64 gradient');
  assert.not.ok(adamUpdateF32(w, g32, new Float32Array(4), v, null, k), 'a short moment buffer');
  assert.not.ok(adamUpdateF32(w, g32, m, v, new Float32Array(6), k), 'a long vmax buffer');
  setVectorKernels(false);
  try {
    assert.not.ok(adamUpdateF32(w, g32, m, v, null, k), 'kernels off');
  } finally {
    setVectorKernels(null);
  }
  assert.equal([...w, ...m, ...v], [1, 1, 1, 1, 1, ...new Array(10).fill(0)]);
  assert.ok(adamUpdateF32(w, g32, m, v, null, k), 'and it takes the float32 case');
  assert.ok(w.every((x) => x < 1), 'a positive gradient lowers every weight');
});

test('the fast backend exposes the step as Backend.adamUpdate; the reference backend has none', () => {
  assert.is(nd.fastBackend.adamUpdate, adamUpdateF32);
  assert.is(nd.referenceBackend.adamUpdate, undefined);
});

test.run();
