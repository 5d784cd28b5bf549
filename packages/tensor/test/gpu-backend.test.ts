/**
 * Equivalence suite: every primitive of the gpu.js backend against the js reference
 * backend, on random shapes and on contiguous, offset, transposed, strided-slice and
 * broadcast (stride-0) views. float32 results must agree to 1e-4 relative (scaled by
 * the magnitudes summed where a primitive sums); comparisons, selections, indexing,
 * casts and the scatter sums must agree exactly.
 *
 * The gpu.js mode comes from TSGRAD_GPU_MODE (see scripts/test-gl.sh for headless-gl).
 * If gpu.js cannot start that mode, the suite prints why and registers no tests.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import type { Backend, BinaryOp, ReduceOp, UnaryOp } from '../src/backend.ts';
import { allocate, type DType } from '../src/dtype.ts';
import { NDArray } from '../src/ndarray.ts';
import { Rng } from '../src/random.ts';
import { fastBackend as js } from '../src/backends/fast/index.ts';
import { createGpuBackend, gpuBackendInfo } from '../src/backends/gpu/index.ts';

const RUNS = 100;

const notices: string[] = [];
let maybeGpu: Backend | null = null;
try {
  maybeGpu = createGpuBackend({ warn: (m) => notices.push(m) });
  console.log(`gpu-backend: testing gpu.js mode '${gpuBackendInfo(maybeGpu).mode}'`);
} catch (e) {
  console.log(`gpu-backend: SKIPPED, gpu.js cannot initialise: ${(e as Error).message}`);
}

// ------------------------------------------------------------------ views

type Layout = 'contiguous' | 'offset' | 'transposed' | 'sliced' | 'broadcast';
const LAYOUTS: Layout[] = ['contiguous', 'offset', 'transposed', 'sliced', 'broadcast'];
const WRITABLE: Layout[] = ['contiguous', 'offset', 'transposed', 'sliced'];

type Fill = (rng: Rng) => number;

/** Mostly normal values, with the odd special one (NaN, infinities, signed zeros, halves). */
const floatFill: Fill = (rng) => {
  if (rng.uniform() < 0.06) return [NaN, Infinity, -Infinity, 0, -0, 0.5, -2.5, 1.5][rng.int(0, 8)]!;
  return rng.normal() * 2;
};
const finiteFill: Fill = (rng) => rng.normal() * 2;
const boolFill: Fill = (rng) => (rng.uniform() < 0.5 ? 1 : 0);
const intFill: Fill = (rng) => rng.int(-6, 7);

function fillFor(dtype: DType): Fill {
  return dtype === 'bool' ? boolFill : dtype === 'int32' ? intFill : floatFill;
}

/** A view of the given shape whose storage is laid out as `layout` says. Deterministic in `seed`. */
function makeView(shape: readonly number[], dtype: DType, layout: Layout, seed: number, fill: Fill = fillFor(dtype)): NDArray {
  const rng = new Rng(seed);
  const filled = (n: number) => {
    const d = allocate(dtype, n);
    for (let i = 0; i < n; i++) d[i] = fill(rng);
    return d;
  };
  const nd = shape.length;
  const size = shape.reduce((a, b) => a * b, 1);
  switch (layout) {
    case 'contiguous':
      return new NDArray(filled(size), shape, undefined, 0, dtype);
    case 'offset': {
      const data = filled(size + 3);
      return new NDArray(data, shape, undefined, 3, dtype);
    }
    case 'transposed': {
      // storage in reversed axis order, viewed back in the wanted order
      const rev = [...shape].reverse();
      const base = new NDArray(filled(size), rev, undefined, 0, dtype);
      return base.permute(rev.map((_, i) => nd - 1 - i));
    }
    case 'sliced': {
      // every other element of a larger array, starting at 1
      const big = shape.map((d) => 2 * d + 1);
      let v = new NDArray(filled(big.reduce((a, b) => a * b, 1)), big, undefined, 0, dtype);
      for (let d = 0; d < nd; d++) v = v.slice(d, 1, undefined, 2);
      return v;
    }
    case 'broadcast': {
      // some axes (and possibly a leading one) are stride 0
      const small = shape.map((d) => (rng.uniform() < 0.5 ? 1 : d));
      const lead = nd > 0 && rng.uniform() < 0.3 ? 1 : 0;
      const kept = small.slice(lead);
      const base = new NDArray(filled(kept.reduce((a, b) => a * b, 1)), kept, undefined, 0, dtype);
      return base.expand(shape);
    }
  }
}

const shapeArb = (minRank = 0, maxRank = 4, maxDim = 5) => fc.array(fc.integer({ min: 1, max: maxDim }), { minLength: minRank, maxLength: maxRank });
const layoutArb = fc.constantFrom(...LAYOUTS);
const seedArb = fc.integer({ min: 0, max: 2 ** 31 - 1 });

// ------------------------------------------------------------------ comparison

/**
 * Fails unless `got` matches `want` in dtype, shape and values: equal, both NaN, or
 * |got - want| <= atol_i + rtol |want| (atol may be per element).
 */
function assertMatches(got: NDArray, want: NDArray, what: string, rtol = 0, atol: number | Float64Array = 0): void {
  assert.is(got.dtype, want.dtype, `${what}: dtype`);
  assert.equal([...got.shape], [...want.shape], `${what}: shape`);
  const g = got.toFloat64Array();
  const w = want.toFloat64Array();
  for (let i = 0; i < w.length; i++) {
    const a = g[i]!;
    const b = w[i]!;
    if (a === b || (Number.isNaN(a) && Number.isNaN(b))) continue;
    const tol = (typeof atol === 'number' ? atol : atol[i]!) + rtol * Math.abs(b);
    if (!(Math.abs(a - b) <= tol)) {
      assert.unreachable(`${what}: element ${i} is ${a}, js backend gives ${b} (tolerance ${tol})`);
    }
  }
}

/** The same call on both backends must either agree or both throw. */
function bothThrow(f: (b: Backend) => unknown, what: string): void {
  let jsErr: unknown = null;
  let gpuErr: unknown = null;
  try {
    f(js);
  } catch (e) {
    jsErr = e;
  }
  try {
    f(gpu());
  } catch (e) {
    gpuErr = e;
  }
  assert.ok(jsErr !== null, `${what}: js backend did not throw`);
  assert.ok(gpuErr !== null, `${what}: gpu backend did not throw`);
  assert.is((gpuErr as Error).message, (jsErr as Error).message, `${what}: messages differ`);
}

function gpu(): Backend {
  return maybeGpu!;
}

/**
 * Whole-storage comparison for in-place ops (nothing outside the view may change). Sums are
 * exact on float32 targets (webasm); gpu.js's cpu target adds in float64, so allow rounding there.
 */
function assertStorage(got: NDArray, want: NDArray, what: string): void {
  const exact = gpuBackendInfo(gpu()).mode !== 'cpu';
  const g = Array.from(got.data);
  const w = Array.from(want.data);
  if (exact) {
    assert.equal(g, w, what);
    return;
  }
  for (let i = 0; i < w.length; i++) {
    assert.ok(Math.abs(g[i]! - w[i]!) <= 1e-5 * (1 + Math.abs(w[i]!)), `${what}: storage ${i} is ${g[i]}, js backend gives ${w[i]}`);
  }
}

const abs = (x: NDArray) => js.unary('abs', x.dtype === 'float32' ? x : js.cast(x, 'float32'), 'float32');

// ------------------------------------------------------------------ tests

if (maybeGpu) {
  const UNARY: UnaryOp[] = ['neg', 'abs', 'sign', 'exp', 'log', 'log1p', 'expm1', 'sqrt', 'rsqrt', 'reciprocal', 'square', 'tanh', 'sigmoid', 'relu', 'gelu', 'geluErf', 'erf', 'sin', 'cos', 'floor', 'ceil', 'round', 'logicalNot', 'isnan', 'isfinite'];
  const TO_BOOL = new Set<UnaryOp>(['logicalNot', 'isnan', 'isfinite']);

  test('unary: every op on float32 views of every layout', () => {
    fc.assert(
      fc.property(fc.constantFrom(...UNARY), shapeArb(), layoutArb, seedArb, (op, shape, layout, seed) => {
        const x = makeView(shape, 'float32', layout, seed);
        const out: DType = TO_BOOL.has(op) ? 'bool' : 'float32';
        assertMatches(gpu().unary(op, x, out), js.unary(op, x, out), `unary ${op} ${layout} [${shape}]`, 1e-4, 1e-6);
      }),
      { numRuns: RUNS * 4 },
    );
  });

  test('unary: bool inputs (float, bool and int32 results)', () => {
    fc.assert(
      fc.property(fc.constantFrom<[UnaryOp, DType]>(['neg', 'int32'], ['abs', 'bool'], ['square', 'int32'], ['relu', 'bool'], ['exp', 'float32'], ['logicalNot', 'bool'], ['sign', 'int32']), shapeArb(1), layoutArb, seedArb, ([op, out], shape, layout, seed) => {
        const x = makeView(shape, 'bool', layout, seed);
        assertMatches(gpu().unary(op, x, out), js.unary(op, x, out), `unary ${op} on bool`, 1e-4, 1e-6);
      }),
      { numRuns: RUNS },
    );
  });

  test('unary: round is half to even, including large odd integers', () => {
    const x = NDArray.fromTyped(new Float32Array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997, 8388609, -8388609, 16777215, 3.7, -3.7, NaN, Infinity]), [14]);
    assertMatches(gpu().unary('round', x, 'float32'), js.unary('round', x, 'float32'), 'round');
  });

  test('specials: GL-sensitive cases (NaN/Infinity, pow edge cases, tiny and huge arguments)', () => {
    const f32 = (v: number[]) => NDArray.fromTyped(Float32Array.from(v), [v.length]);
    // pow: every ECMAScript special case, with magnitudes small enough that GL runs it as a kernel
    const bases = [0, -0, 0.5, -0.5, 1, -1, 1.5, -1.5, 2, -2, 3, -3, Infinity, -Infinity, NaN];
    const exps = [0, -0, 1, -1, 2, -2, 3, -3, 0.5, -0.5, 2.5, -1.5, Infinity, -Infinity, NaN];
    const u = f32(bases.flatMap((b) => exps.map(() => b)));
    const w = f32(bases.flatMap(() => exps));
    const before = notices.length;
    const got = gpu().binary('pow', u, w, 'float32');
    assert.is(notices.slice(before).filter((m) => m.includes('binary pow')).length, 0, 'small pow runs as a kernel');
    assertMatches(got, js.binary('pow', u, w, 'float32'), 'pow specials', 1e-6);
    // signed zeros must survive: compare the signs too
    const gs = got.toFloat64Array();
    const ws = js.binary('pow', u, w, 'float32').toFloat64Array();
    gs.forEach((v, i) => assert.ok(v !== 0 || Object.is(v, ws[i]), `pow(${u.toFloat64Array()[i]}, ${w.toFloat64Array()[i]}) is ${Object.is(v, -0) ? '-0' : v}, js gives ${ws[i]}`));
    // large results and exponents must match too (on GL they go to js)
    const big = f32([1e30, 3, 1.5, -2, 10]);
    const bigExp = f32([1, 50, 100, 7, 30]);
    assertMatches(gpu().binary('pow', big, bigExp, 'float32'), js.binary('pow', big, bigExp, 'float32'), 'pow large', 1e-6);
    // unary ops whose GLSL forms overflow, drop NaN or lose relative accuracy near 0
    const x = f32([NaN, Infinity, -Infinity, 0, -0, 3e38, -3e38, 50, -50, 100, 1e-30, -1e-30, 1e-5, -1e-5, 0.04, -0.04, 0.3, 2]);
    for (const op of ['relu', 'tanh', 'gelu', 'expm1', 'log1p', 'sigmoid', 'sign'] as UnaryOp[]) {
      assertMatches(gpu().unary(op, x, 'float32'), js.unary(op, x, 'float32'), `unary ${op} specials`, 1e-5);
    }
    for (const op of ['isnan', 'isfinite', 'logicalNot'] as UnaryOp[]) {
      assertMatches(gpu().unary(op, x, 'bool'), js.unary(op, x, 'bool'), `unary ${op} specials`);
    }
    // sin/cos of huge arguments, and subnormal inputs (GL flushes those to zero)
    const huge = f32([1e30, -3e38, 12345678, 1e5, 0.5]);
    for (const op of ['sin', 'cos'] as UnaryOp[]) assertMatches(gpu().unary(op, huge, 'float32'), js.unary(op, huge, 'float32'), `${op} huge`, 1e-5, 1e-6);
    const tiny = f32([1e-40, -1e-40, 0, 1]);
    assertMatches(gpu().unary('sign', tiny, 'float32'), js.unary('sign', tiny, 'float32'), 'sign subnormal');
    assertMatches(gpu().binary('eq', tiny, f32([0, 0, 0, 0]), 'bool'), js.binary('eq', tiny, f32([0, 0, 0, 0]), 'bool'), 'eq subnormal');
    assertMatches(gpu().cast(tiny, 'bool'), js.cast(tiny, 'bool'), 'cast subnormal to bool');
    // max/min of rows that are all -Infinity/+Infinity, and NaN winning
    const rows = NDArray.fromTyped(Float32Array.from([-Infinity, -Infinity, Infinity, Infinity, 1, NaN, -Infinity, 2]), [4, 2]);
    for (const op of ['max', 'min'] as ReduceOp[]) {
      for (const axes of [[1], [], [0, 1]]) assertMatches(gpu().reduce(op, rows, axes), js.reduce(op, rows, axes), `reduce ${op} axes [${axes}] of infinities`);
    }
    const info = gpuBackendInfo(gpu());
    if (info.mode !== 'webasm' && info.mode !== 'cpu') {
      assert.ok(info.delegatedCases.some((c) => c.includes('subnormal')), 'GL info lists the GL-only delegations');
      assert.ok(info.fallbacks.some((c) => c.includes('subnormal')), 'GL subnormal inputs were delegated');
    }
  });

  const BINARY: BinaryOp[] = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'logicalAnd', 'logicalOr'];
  const COMPARE = new Set<BinaryOp>(['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'logicalAnd', 'logicalOr']);

  test('binary: every op on two independently laid-out float32 operands', () => {
    fc.assert(
      fc.property(fc.constantFrom(...BINARY), shapeArb(), layoutArb, layoutArb, seedArb, (op, shape, la, lb, seed) => {
        const a = makeView(shape, 'float32', la, seed);
        const b = makeView(shape, 'float32', lb, seed + 1);
        const out: DType = COMPARE.has(op) ? 'bool' : 'float32';
        assertMatches(gpu().binary(op, a, b, out), js.binary(op, a, b, out), `binary ${op} ${la}/${lb} [${shape}]`, 1e-6, 1e-6);
      }),
      { numRuns: RUNS * 3 },
    );
  });

  test('binary: bool operands', () => {
    fc.assert(
      fc.property(fc.constantFrom<BinaryOp>('logicalAnd', 'logicalOr', 'eq', 'ne', 'lt', 'maximum'), shapeArb(1), layoutArb, layoutArb, seedArb, (op, shape, la, lb, seed) => {
        const a = makeView(shape, 'bool', la, seed);
        const b = makeView(shape, 'bool', lb, seed + 1);
        assertMatches(gpu().binary(op, a, b, 'bool'), js.binary(op, a, b, 'bool'), `binary ${op} on bool`);
      }),
      { numRuns: RUNS },
    );
  });

  test('where: bool and float32 conditions, strided and broadcast operands', () => {
    fc.assert(
      fc.property(fc.constantFrom<DType>('bool', 'float32'), shapeArb(), layoutArb, layoutArb, layoutArb, seedArb, (cdt, shape, lc, la, lb, seed) => {
        const c = makeView(shape, cdt, lc, seed);
        const a = makeView(shape, 'float32', la, seed + 1);
        const b = makeView(shape, 'float32', lb, seed + 2);
        assertMatches(gpu().where(c, a, b, 'float32'), js.where(c, a, b, 'float32'), `where ${lc}/${la}/${lb}`);
      }),
      { numRuns: RUNS * 2 },
    );
  });

  /** A shape and a sorted, unique subset of its axes. */
  const shapeAxesArb = shapeArb(1, 4).chain((shape) =>
    fc.tuple(
      fc.constant(shape),
      fc.subarray(shape.map((_, i) => i)),
    ),
  );

  test('reduce: sum/prod/max/min over any axes (float32 with specials, and bool)', () => {
    fc.assert(
      fc.property(fc.constantFrom<ReduceOp>('sum', 'prod', 'max', 'min'), fc.constantFrom<DType>('float32', 'float32', 'bool'), shapeAxesArb, layoutArb, seedArb, (op, dtype, [shape, axes], layout, seed) => {
        const x = makeView(shape, dtype, layout, seed);
        const want = js.reduce(op, x, axes);
        // float32 sums may differ by rounding: allow 1e-4 of the summed magnitudes
        const atol = op === 'sum' && dtype === 'float32' ? js.reduce('sum', abs(x), axes).toFloat64Array().map((v) => 1e-4 * v + 1e-6) : 0;
        assertMatches(gpu().reduce(op, x, axes), want, `reduce ${op} ${dtype} ${layout} [${shape}] axes [${axes}]`, op === 'prod' ? 1e-4 : 0, atol);
      }),
      { numRuns: RUNS * 3 },
    );
  });

  test('argReduce: argmax/argmin, first index on ties and NaN', () => {
    fc.assert(
      fc.property(fc.constantFrom<'argmax' | 'argmin'>('argmax', 'argmin'), shapeArb(1, 4), fc.nat(), layoutArb, fc.boolean(), seedArb, (op, shape, axisSeed, layout, ties, seed) => {
        const axis = axisSeed % shape.length;
        // small integers make ties common
        const fill: Fill = ties ? (rng) => (rng.uniform() < 0.05 ? NaN : rng.int(-2, 3)) : floatFill;
        const x = makeView(shape, 'float32', layout, seed, fill);
        assertMatches(gpu().argReduce(op, x, axis), js.argReduce(op, x, axis), `${op} ${layout} [${shape}] axis ${axis}`);
      }),
      { numRuns: RUNS * 2 },
    );
  });

  test('matmul: batched, strided, transposed and batch-broadcast operands, mixed dtypes', () => {
    const mmLayout = fc.constantFrom('contiguous', 'transposed', 'sliced', 'batch-broadcast', 'offset');
    const makeMat = (batch: number, rows: number, cols: number, dtype: DType, layout: string, seed: number): NDArray => {
      const fill = dtype === 'float32' ? finiteFill : fillFor(dtype);
      switch (layout) {
        case 'transposed':
          return makeView([batch, cols, rows], dtype, 'contiguous', seed, fill).transpose(1, 2);
        case 'batch-broadcast':
          return makeView([1, rows, cols], dtype, 'contiguous', seed, fill).expand([batch, rows, cols]);
        default:
          return makeView([batch, rows, cols], dtype, layout as Layout, seed, fill);
      }
    };
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 13 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 9 }),
        mmLayout,
        mmLayout,
        fc.constantFrom<[DType, DType]>(['float32', 'float32'], ['float32', 'float32'], ['float32', 'float32'], ['int32', 'float32'], ['float32', 'bool']),
        seedArb,
        (batch, m, k, n, la, lb, [da, db], seed) => {
          const a = makeMat(batch, m, k, da, la, seed);
          const b = makeMat(batch, k, n, db, lb, seed + 1);
          const scale = js.matmul(abs(a), abs(b)).toFloat64Array().map((v) => 1e-5 * v + 1e-6);
          assertMatches(gpu().matmul(a, b), js.matmul(a, b), `matmul [${batch},${m},${k}]@[${batch},${k},${n}] ${la}/${lb} ${da}/${db}`, 1e-5, scale);
        },
      ),
      { numRuns: RUNS * 3 },
    );
  });

  test('matmul: 64x96 @ 96x40 against the js register tile', () => {
    const a = makeView([1, 64, 96], 'float32', 'contiguous', 1, finiteFill);
    const b = makeView([1, 96, 40], 'float32', 'transposed', 2, finiteFill);
    const scale = js.matmul(abs(a), abs(b)).toFloat64Array().map((v) => 1e-5 * v);
    assertMatches(gpu().matmul(a, b), js.matmul(a, b), 'matmul 64x96x40', 0, scale);
  });

  test('cast: float32, bool and int32 sources to float32, bool and int32', () => {
    fc.assert(
      fc.property(fc.constantFrom<DType>('float32', 'bool', 'int32'), fc.constantFrom<DType>('float32', 'bool', 'int32'), shapeArb(), layoutArb, seedArb, (from, to, shape, layout, seed) => {
        // large and fractional values check truncation and float32 rounding of big integers
        const fill: Fill = from === 'int32' ? (rng) => rng.int(-(2 ** 30), 2 ** 30) : from === 'float32' ? (rng) => (rng.uniform() < 0.2 ? rng.normal() * 3e9 : floatFill(rng)) : boolFill;
        const x = makeView(shape, from, layout, seed, fill);
        assertMatches(gpu().cast(x, to), js.cast(x, to), `cast ${from} -> ${to} ${layout}`);
      }),
      { numRuns: RUNS * 2 },
    );
  });

  test('assign: into strided views, converting dtypes', () => {
    fc.assert(
      fc.property(fc.constantFrom<DType>('float32', 'bool', 'int32'), fc.constantFrom<DType>('float32', 'bool'), shapeArb(1), fc.constantFrom(...WRITABLE), layoutArb, seedArb, (dstType, srcType, shape, ld, ls, seed) => {
        const dj = makeView(shape, dstType, ld, seed);
        const dg = makeView(shape, dstType, ld, seed);
        const src = makeView(shape, srcType, ls, seed + 1);
        js.assign(dj, src);
        gpu().assign(dg, src);
        // the whole storage must match: nothing outside the view may change
        assert.equal(Array.from(dg.data), Array.from(dj.data), `assign ${srcType} -> ${dstType} ${ls} -> ${ld}`);
      }),
      { numRuns: RUNS * 2 },
    );
  });

  /** A shape, an axis, and an index shape that fits it along the other axes (torch.gather rules). */
  const gatherArb = shapeArb(1, 3).chain((shape) =>
    fc.tuple(
      fc.constant(shape),
      fc.integer({ min: 0, max: shape.length - 1 }),
      fc.tuple(...shape.map((d) => fc.integer({ min: 1, max: d }))),
      fc.integer({ min: 1, max: 5 }),
    ),
  );

  const indexFill = (size: number): Fill => (rng) => rng.int(-size, size);

  test('gather: strided sources and index arrays, negative indices', () => {
    fc.assert(
      fc.property(gatherArb, fc.constantFrom<DType>('float32', 'bool'), layoutArb, fc.constantFrom(...LAYOUTS), seedArb, ([shape, axis, idxShape, along], dtype, lx, li, seed) => {
        const ishape = [...idxShape];
        ishape[axis] = along;
        const x = makeView(shape, dtype, lx, seed);
        const index = makeView(ishape, 'int32', li, seed + 1, indexFill(shape[axis]!));
        assertMatches(gpu().gather(x, axis, index), js.gather(x, axis, index), `gather [${shape}] axis ${axis} index [${ishape}]`);
      }),
      { numRuns: RUNS * 2 },
    );
  });

  test('scatterAdd: duplicate targets add up in the js order, into strided destinations', () => {
    fc.assert(
      fc.property(gatherArb, fc.constantFrom(...WRITABLE), layoutArb, fc.constantFrom(...LAYOUTS), seedArb, ([shape, axis, idxShape, along], ld, ls, li, seed) => {
        const ishape = [...idxShape];
        ishape[axis] = along;
        // the op layer slices src to the index's shape before calling a backend
        const sshape = ishape;
        const dj = makeView(shape, 'float32', ld, seed, finiteFill);
        const dg = makeView(shape, 'float32', ld, seed, finiteFill);
        const index = makeView(ishape, 'int32', li, seed + 1, indexFill(shape[axis]!));
        const src = makeView(sshape, 'float32', ls, seed + 2, finiteFill);
        js.scatterAdd(dj, axis, index, src);
        gpu().scatterAdd(dg, axis, index, src);
        assertStorage(dg, dj, `scatterAdd [${shape}] axis ${axis} index [${ishape}]`);
      }),
      { numRuns: RUNS * 2 },
    );
  });

  /** A shape, an axis and a 1-D index length. */
  const selectArb = shapeArb(1, 3).chain((shape) => fc.tuple(fc.constant(shape), fc.integer({ min: 0, max: shape.length - 1 }), fc.integer({ min: 1, max: 7 })));

  test('indexSelect: any axis, repeated and negative indices', () => {
    fc.assert(
      fc.property(selectArb, fc.constantFrom<DType>('float32', 'bool'), layoutArb, seedArb, ([shape, axis, len], dtype, lx, seed) => {
        const x = makeView(shape, dtype, lx, seed);
        const index = makeView([len], 'int32', 'contiguous', seed + 1, indexFill(shape[axis]!));
        assertMatches(gpu().indexSelect(x, axis, index), js.indexSelect(x, axis, index), `indexSelect [${shape}] axis ${axis}`);
      }),
      { numRuns: RUNS * 2 },
    );
  });

  test('indexAdd: repeated indices accumulate in order, into strided destinations', () => {
    fc.assert(
      fc.property(selectArb, fc.constantFrom(...WRITABLE), layoutArb, seedArb, ([shape, axis, len], ld, ls, seed) => {
        const sshape = [...shape];
        sshape[axis] = len;
        const dj = makeView(shape, 'float32', ld, seed, finiteFill);
        const dg = makeView(shape, 'float32', ld, seed, finiteFill);
        const index = makeView([len], 'int32', 'contiguous', seed + 1, indexFill(shape[axis]!));
        const src = makeView(sshape, 'float32', ls, seed + 2, finiteFill);
        js.indexAdd(dj, axis, index, src);
        gpu().indexAdd(dg, axis, index, src);
        assertStorage(dg, dj, `indexAdd [${shape}] axis ${axis} len ${len}`);
      }),
      { numRuns: RUNS * 2 },
    );
  });

  test('indexing: out-of-range indices throw the js backend errors', () => {
    const x = makeView([3, 4], 'float32', 'contiguous', 5);
    const bad = NDArray.fromTyped(new Int32Array([0, 4]), [2]);
    bothThrow((b) => b.indexSelect(x, 1, bad), 'indexSelect');
    const badGather = NDArray.fromTyped(new Int32Array([0, 1, 2, -5, 0, 0]), [3, 2]);
    bothThrow((b) => b.gather(x, 1, badGather), 'gather');
    bothThrow((b) => b.scatterAdd(x.contiguous(), 1, badGather, x), 'scatterAdd');
    bothThrow((b) => b.reduce('max', NDArray.zeros([2, 0]), [1]), 'max over an empty axis');
  });

  test('fallbacks: float64 and int32 arithmetic run on js, with one notice per op', () => {
    const x64 = makeView([3, 2], 'float64', 'transposed', 7);
    const before = notices.length;
    assertMatches(gpu().unary('exp', x64, 'float64'), js.unary('exp', x64, 'float64'), 'exp float64');
    assertMatches(gpu().unary('exp', x64, 'float64'), js.unary('exp', x64, 'float64'), 'exp float64 again');
    assertMatches(gpu().matmul(x64.reshape([1, 3, 2]), x64.reshape([1, 2, 3])), js.matmul(x64.reshape([1, 3, 2]), x64.reshape([1, 2, 3])), 'matmul float64');
    const i32 = makeView([4], 'int32', 'contiguous', 8);
    assertMatches(gpu().binary('add', i32, i32, 'int32'), js.binary('add', i32, i32, 'int32'), 'add int32');
    const fresh = notices.slice(before);
    assert.is(fresh.filter((m) => m.includes('unary exp')).length, 1, `one notice for exp: ${fresh.join(' | ')}`);
    assert.ok(fresh.some((m) => m.includes('matmul') && m.includes('float64')), 'matmul notice names float64');
    assert.ok(fresh.some((m) => m.includes('binary add') && m.includes('int32')), 'add notice names int32');
    assert.ok(gpuBackendInfo(gpu()).fallbacks.length >= 3, 'info lists fallbacks');
  });

  test('kernel cache: repeated shapes and layouts do not recompile', () => {
    const a = makeView([7, 5], 'float32', 'transposed', 11);
    const b = makeView([7, 5], 'float32', 'broadcast', 12);
    const run = () => {
      gpu().binary('mul', a, b, 'float32');
      gpu().reduce('sum', a, [1]);
      gpu().matmul(a.reshape([1, 7, 5]), a.reshape([1, 7, 5]).transpose(1, 2));
    };
    run();
    const compiled = gpuBackendInfo(gpu()).kernelsCompiled;
    // fresh arrays with the same shapes and strides reuse the kernels
    makeView([7, 5], 'float32', 'transposed', 13);
    for (let i = 0; i < 3; i++) run();
    assert.is(gpuBackendInfo(gpu()).kernelsCompiled, compiled);
  });

  test('info: reports the mode and the native primitives', () => {
    const info = gpuBackendInfo(gpu());
    assert.ok(info.mode.length > 0);
    assert.ok(info.native.includes('matmul'));
    assert.ok(info.kernelCalls > 0);
  });
}

test.run();
