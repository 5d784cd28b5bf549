/**
 * The fast backend's kernels against references simple enough to trust: the blocked
 * matmul against the reference backend's triple loop (any sizes, strides, dtypes, with
 * sizes past the kernel's blocks), the worker pool against the single-threaded kernel
 * (bitwise), and strided reductions, copies, binary/where/assign against element-by-
 * element reads on the active backend. The fused softmax, layer norm and GELU kernels
 * are checked by the conformance suite (conformance-fused.ts).
 */
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { matmulStrided, newScratch, type StridedMatrix } from '../src/backends/fast/matmul-kernel.ts';
import {
  matmulPoolOptions,
  matmulPoolReady,
  matmulPoolStats,
  parallelMatmul,
  PARALLEL_MIN_FLOPS,
  PARALLEL_MIN_FLOPS_WASM,
  setMatmulThreads,
} from '../src/backends/fast/matmul-pool.ts';
import { f32Kernel } from '../src/backends/fast/wasm/gemm.ts';
import * as nd from '../src/index.ts';

const SEED = Number(process.env.TSGRAD_FC_SEED ?? 20_240_611);
const params = (numRuns: number) => ({ numRuns, seed: SEED });

/** C = A B by the reference backend's triple loop (float64 sums, rounded once to the dtype of A and B). */
function naiveMatmul(a: StridedMatrix, b: StridedMatrix, m: number, k: number, n: number): nd.TypedArray {
  // every matrix of this file is stored in a Float32Array or Float64Array
  const view = (x: StridedMatrix, rows: number, cols: number) => new nd.NDArray(x.data as nd.TypedArray, [1, rows, cols], [0, x.rowStride, x.colStride], x.offset);
  return nd.referenceBackend.matmul(view(a, m, k), view(b, k, n)).data;
}

/** Fills a typed array with values in [-1, 1) from a seed. */
function filled(ctor: Float32ArrayConstructor | Float64ArrayConstructor, size: number, seed: number): Float32Array | Float64Array {
  const rng = new nd.Rng(seed);
  const out = new ctor(size);
  for (let i = 0; i < size; i++) out[i] = 2 * rng.uniform() - 1;
  return out;
}

/**
 * An m x n matrix stored either row-major or transposed (column-major), inside a
 * larger buffer with an offset, so packing has to honour strides.
 */
function stored(ctor: Float32ArrayConstructor | Float64ArrayConstructor, rows: number, cols: number, transposed: boolean, offset: number, seed: number): StridedMatrix {
  const data = filled(ctor, offset + rows * cols + 3, seed);
  return transposed ? { data, offset, rowStride: 1, colStride: rows } : { data, offset, rowStride: cols, colStride: 1 };
}

const dim = fc.oneof(fc.constantFrom(1, 2, 3, 4, 5, 7), fc.integer({ min: 1, max: 70 }));

test('blocked matmul equals the triple loop for any m, k, n, strides, float32 and float64', () => {
  fc.assert(
    fc.property(dim, fc.oneof(dim, fc.integer({ min: 250, max: 300 })), dim, fc.boolean(), fc.boolean(), fc.constantFrom('float32', 'float64'), fc.nat(5), fc.nat(1000), (m, k, n, ta, tb, dtype, off, seed) => {
      const ctor = dtype === 'float32' ? Float32Array : Float64Array;
      const a = stored(ctor, m, k, ta, off, seed);
      const b = stored(ctor, k, n, tb, 0, seed + 1);
      const pad = 2;
      const c = new ctor(m * (n + pad) + 1).fill(7);
      matmulStrided(a, b, { data: c, offset: 1, rowStride: n + pad }, m, k, n, newScratch());
      const ref = naiveMatmul(a, b, m, k, n);
      // float32 output rounds each KC-panel partial sum once; float64 only reorders the sum
      const tol = dtype === 'float32' ? 2e-6 * (k + 1) : 1e-12 * (k + 1);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          const got = c[1 + i * (n + pad) + j]!;
          if (!(Math.abs(got - ref[i * n + j]!) <= tol)) assert.unreachable(`C[${i}][${j}] = ${got}, expected ${ref[i * n + j]} (m=${m} k=${k} n=${n})`);
        }
        // the padding between rows of C is left alone
        for (let j = n; j < n + pad && i < m - 1; j++) assert.is(c[1 + i * (n + pad) + j], 7);
      }
      assert.is(c[0], 7);
    }),
    params(120),
  );
});

test('k = 0 gives zeros; empty m or n gives an empty product', () => {
  const out = nd.matmul(nd.zeros([3, 0]), nd.zeros([0, 2]));
  assert.equal(out.toArray(), [
    [0, 0],
    [0, 0],
    [0, 0],
  ]);
  assert.equal(nd.matmul(nd.zeros([0, 4]), nd.ones([4, 2])).shape, [0, 2]);
});

test('fast backend matmul: batched, broadcast, transposed and int32 operands match the reference triple loop', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 3 }), dim, dim, dim, fc.boolean(), fc.boolean(), fc.constantFrom('float32', 'float64', 'int32'), fc.nat(1000), (batch, m, k, n, ta, broadcastB, dtype, seed) => {
      const a0 = nd.randn(ta ? [batch, k, m] : [batch, m, k], { seed, dtype: dtype === 'int32' ? 'float64' : dtype });
      const aF = ta ? a0.transpose(1, 2) : a0;
      const bF = nd.randn(broadcastB ? [k, n] : [batch, k, n], { seed: seed + 1, dtype: dtype === 'int32' ? 'float64' : dtype });
      const a = dtype === 'int32' ? nd.round(nd.mul(aF, 4)).astype('int32') : aF;
      const b = dtype === 'int32' ? nd.round(nd.mul(bF, 4)).astype('int32') : bF;
      const got = nd.withBackend('fast', () => nd.matmul(a, b));
      assert.is(got.dtype, dtype);
      assert.equal(got.shape, [batch, m, n]);
      const tol = dtype === 'float32' ? 3e-6 * (k + 1) : dtype === 'float64' ? 1e-12 * (k + 1) : 0;
      // the same call on the reference backend: the triple loop, with B broadcast over the batch by the op layer
      const want = nd.withBackend('reference', () => nd.matmul(a, b));
      for (let i = 0; i < want.size; i++) {
        const v = got.data[i]!;
        if (!(Math.abs(v - want.data[i]!) <= tol)) assert.unreachable(`element ${i} of [${batch}, ${m}, ${n}]: ${v} vs ${want.data[i]}`);
      }
    }),
    params(60),
  );
});

test('worker pool gives bitwise the same result as the single-threaded kernel', async () => {
  setMatmulThreads(2);
  matmulPoolOptions.adaptive = false; // on a busy machine the pool would step aside
  matmulPoolOptions.minFlopsWasm = PARALLEL_MIN_FLOPS; // these cases are small for the wasm kernel
  try {
    assert.ok(await matmulPoolReady(), 'the worker started');
    const before = matmulPoolStats.workerUnits;
    const cases: Case[] = [
      [1, 200, 130, 150, false, 'float32'], // row bands with a ragged last band
      [1, 9, 700, 1000, true, 'float64'], // few rows: split into column bands
      [5, 64, 80, 100, false, 'float32'], // several batch items, shared (broadcast) B
      [2, 128, 64, 200, true, 'float64'],
      [3, 70, 90, 120, false, 'float32', 3], // rows of A 3 apart beyond k, from offset 5: shared row by row
      [1, 100, 1, 30000, false, 'float64', 2], // one column of A, rows apart: shared element by element
    ];
    // Repeat until the worker has done some units (on a busy machine the main thread may
    // occasionally finish a job alone), so the comparison really covers worker output.
    // (at least 20 rounds, and up to 15 s: a loaded machine can keep the worker off a core for a while)
    const deadline = performance.now() + 15_000;
    for (let round = 0; (round === 0 || matmulPoolStats.workerUnits === before) && (round < 20 || performance.now() < deadline); round++) {
      compareCases(cases);
    }
    assert.ok(matmulPoolStats.workerUnits > before, 'the worker computed some units');
    // small products and a pool of one thread decline, so the caller runs the kernel itself
    const tiny = new Float32Array(4);
    const t = { data: new Float32Array(4), offset: 0, batchStride: 4, rowStride: 2, colStride: 1 };
    assert.not.ok(parallelMatmul(t, t, tiny, 1, 2, 2, 2));
    setMatmulThreads(1);
    const big = { data: new Float32Array(256 * 256), offset: 0, batchStride: 0, rowStride: 256, colStride: 1 };
    assert.not.ok(parallelMatmul(big, big, new Float32Array(256 * 256), 1, 256, 256, 256));
  } finally {
    setMatmulThreads(null);
    matmulPoolOptions.adaptive = true;
    matmulPoolOptions.minFlopsWasm = PARALLEL_MIN_FLOPS_WASM;
  }
});

/** batch, m, k, n, A transposed, dtype, and (optional) padding after each row of A (then A starts at offset 5). */
type Case = [number, number, number, number, boolean, 'float32' | 'float64', number?];

function compareCases(cases: Case[]): void {
  for (const [batch, m, k, n, transposeA, dtype, pad = 0] of cases) {
    assert.ok(2 * batch * m * k * n >= PARALLEL_MIN_FLOPS, 'case is large enough for the pool');
    const ctor = dtype === 'float32' ? Float32Array : Float64Array;
    const start = pad > 0 ? 5 : 0;
    const aData = filled(ctor, start + batch * m * (k + pad), m + k);
    const bData = filled(ctor, k * n, n);
    const a = { data: aData, offset: start, batchStride: m * (k + pad), rowStride: transposeA ? 1 : k + pad, colStride: transposeA ? m : 1 };
    const b = { data: bData, offset: 0, batchStride: 0, rowStride: n, colStride: 1 };
    const pooled = new ctor(batch * m * n);
    // repeat until the worker did some of this product (it computes from the shared copies)
    // (the pool may decline while a descheduled worker still holds every result slot: wait a little)
    const units = matmulPoolStats.workerUnits;
    let ran = false;
    for (let round = 0; round < 50 && (!ran || matmulPoolStats.workerUnits === units); round++) {
      if (parallelMatmul(a, b, pooled, batch, m, k, n)) ran = true;
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
    assert.ok(ran, 'the pool ran');
    const single = new ctor(batch * m * n);
    // float32 runs on the wasm kernel (wasm/gemm.ts) in every thread when it is on
    const f32 = single instanceof Float32Array ? f32Kernel() : undefined;
    for (let bi = 0; bi < batch; bi++) {
      if (f32) f32({ ...a, offset: start + bi * a.batchStride }, b, { data: single as Float32Array, offset: bi * m * n, rowStride: n }, m, k, n);
      else matmulStrided({ ...a, offset: start + bi * a.batchStride }, b, { data: single, offset: bi * m * n, rowStride: n }, m, k, n, newScratch());
    }
    for (let i = 0; i < single.length; i++) {
      if (pooled[i] !== single[i]) assert.unreachable(`case ${[batch, m, k, n]}: element ${i} is ${pooled[i]} pooled, ${single[i]} single-threaded`);
    }
  }
}

/** A random array of `shape` seen through a random permutation and a step-2 slice, so it is strided. */
function stridedView(shape: number[], seed: number, dtype: nd.DType, special: boolean): nd.NDArray {
  const rng = new nd.Rng(seed);
  const perm = Array.from(shape.keys());
  for (let i = perm.length - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  // storage of the permuted shape, twice as long on axis 0 so a step-2 slice gives `shape` back
  const base = perm.map((p) => shape[p]!);
  if (base.length > 0) base[0] = base[0]! * 2;
  const size = base.reduce((x, y) => x * y, 1);
  const data = nd.allocate(dtype, size);
  for (let i = 0; i < size; i++) {
    const u = rng.uniform();
    data[i] = special && u < 0.03 ? NaN : special && u < 0.08 ? -Infinity : special && u < 0.1 ? Infinity : dtype === 'int32' ? Math.floor(u * 7) - 3 : 4 * rng.uniform() - 2;
  }
  let v = nd.NDArray.fromTyped(data, base, dtype);
  if (base.length > 0) v = v.slice(0, 0, undefined, 2);
  const inverse = new Array<number>(perm.length);
  perm.forEach((p, i) => (inverse[p] = i));
  return v.permute(inverse);
}

/** Every multi-index of `shape`, row-major. */
function allIndices(shape: readonly number[]): number[][] {
  let out: number[][] = [[]];
  for (const d of shape) out = out.flatMap((prefix) => Array.from({ length: d }, (_, i) => [...prefix, i]));
  return out;
}

const shapeArb = fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 });

test('reduce over any axes of strided views equals a per-output loop (sum, prod, max, min; NaN propagates)', () => {
  fc.assert(
    fc.property(shapeArb, fc.nat(), fc.constantFrom('sum', 'prod', 'max', 'min'), fc.constantFrom('float32', 'float64', 'int32'), fc.nat(1000), fc.boolean(), (shape, axisBits, op, dtype, seed, special) => {
      const x = stridedView(shape, seed, dtype, special && dtype !== 'int32');
      const axes = shape.map((_, i) => i).filter((i) => (axisBits >> i) & 1);
      const got = nd.getBackend().reduce(op, x, axes);
      const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
      assert.equal(got.shape, outShape);
      for (const o of allIndices(outShape)) {
        let acc = op === 'sum' ? 0 : op === 'prod' ? 1 : op === 'max' ? -Infinity : Infinity;
        for (const idx of allIndices(shape)) {
          if (idx.some((v, i) => !axes.includes(i) && v !== o[i])) continue;
          const v = x.get(...idx);
          if (op === 'sum') acc += v;
          else if (op === 'prod') acc *= v;
          else if (Number.isNaN(v) || Number.isNaN(acc)) acc = NaN;
          else acc = op === 'max' ? Math.max(acc, v) : Math.min(acc, v);
        }
        const want = nd.castScalar(acc, got.dtype);
        const have = got.get(...o);
        const ok = Number.isNaN(want) ? Number.isNaN(have) : want === have || Math.abs(have - want) <= 1e-6 * Math.max(1, Math.abs(want));
        if (!ok) assert.unreachable(`${op} over [${axes}] of ${dtype} [${shape}] at [${o}]: ${have}, expected ${want}`);
      }
    }),
    params(150),
  );
  assert.throws(() => nd.max(nd.zeros([2, 0]), 1), /max: cannot reduce over an empty axis/);
  assert.equal(nd.sum(nd.zeros([2, 0]), 1).toArray(), [0, 0]);
});

test('strided copies (toTyped, toFloat64Array, astype) match element-by-element reads', () => {
  fc.assert(
    fc.property(shapeArb, fc.constantFrom('float32', 'float64', 'int32'), fc.constantFrom('float32', 'float64', 'int32', 'bool'), fc.nat(1000), (shape, dtype, to, seed) => {
      const x = stridedView(shape, seed, dtype, false);
      const idx = allIndices(shape);
      const typed = x.toTyped();
      const f64 = x.toFloat64Array();
      const cast = x.astype(to);
      assert.is(cast.dtype, to);
      idx.forEach((ix, i) => {
        const v = x.get(...ix);
        assert.is(typed[i], v);
        assert.is(f64[i], v);
        const want = to === 'bool' ? (v ? 1 : 0) : to === 'int32' ? Math.trunc(v) : nd.castScalar(v, to);
        assert.is(cast.data[i], want);
      });
    }),
    params(100),
  );
});

test('binary, where and assign on strided and broadcast views match element-by-element reads and writes', () => {
  fc.assert(
    fc.property(shapeArb, fc.nat(1000), fc.boolean(), (shape, seed, broadcastB) => {
      const a = stridedView(shape, seed, 'float64', false);
      const b = broadcastB ? nd.scalar(0.25, 'float64').expand(shape) : stridedView(shape, seed + 1, 'float64', false);
      const cond = nd.gt(stridedView(shape, seed + 2, 'float64', false), 0);
      const got = nd.getBackend().where(cond.permute(Array.from(shape.keys())), a, b, 'float64');
      const idx = allIndices(shape);
      idx.forEach((ix, i) => assert.is(got.data[i], cond.get(...ix) ? a.get(...ix) : b.get(...ix)));
      // binary ops over the same layouts, arithmetic (spelled-out loops) and others
      const sum = nd.getBackend().binary('add', a, b, 'float64');
      const quo = nd.getBackend().binary('div', b, a, 'float64');
      const big = nd.getBackend().binary('maximum', a, b, 'float64');
      const gt = nd.getBackend().binary('gt', a, b, 'bool');
      idx.forEach((ix, i) => {
        const [x, y] = [a.get(...ix), b.get(...ix)];
        assert.is(sum.data[i], x + y);
        assert.is(quo.data[i], y / x);
        assert.is(big.data[i], Math.max(x, y));
        assert.is(gt.data[i], x > y ? 1 : 0);
      });
      // assign writes through the destination's strides and leaves the rest of its storage alone
      const dst = stridedView(shape, seed + 3, 'float64', false);
      const before = Float64Array.from(dst.data);
      nd.getBackend().assign(dst, a);
      const touched = new Set(idx.map((ix) => dst.index(ix)));
      idx.forEach((ix) => assert.is(dst.get(...ix), a.get(...ix)));
      for (let p = 0; p < before.length; p++) if (!touched.has(p)) assert.is(dst.data[p], before[p]);
    }),
    params(100),
  );
});

test.run();
