/**
 * The WebAssembly SIMD float32 kernel (src/backends/wasm/gemm.ts): against a float64
 * triple loop for any sizes and strides, through the backend's matmul (batches,
 * broadcast, transposes), with the worker pool, with TSGRAD_WASM=0, and its determinism.
 */
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { matmulStrided, newScratch, type StridedMatrix } from '../src/backends/fast/matmul-kernel.ts';
import { matmulPoolOptions, matmulPoolReady, matmulPoolStats, parallelMatmul, PARALLEL_MIN_FLOPS_WASM, setMatmulThreads } from '../src/backends/fast/matmul-pool.ts';
import { f32Kernel, setMatmulWasm, wasmSimdSupported, type F32Kernel } from '../src/backends/fast/wasm/gemm.ts';
import { sleb, uleb } from '../src/backends/fast/wasm/emit.ts';
import * as nd from '../src/index.ts';

const SEED = Number(process.env.TSGRAD_FC_SEED ?? 20_240_611);
const params = (numRuns: number) => ({ numRuns, seed: SEED });

/** Runs `f` on the fast backend, whose kernels this file tests, whatever TSGRAD_BACKEND selects. */
const onFast = <T,>(f: () => T): T => nd.withBackend('fast', f);

function kernel(): F32Kernel {
  const k = f32Kernel();
  if (!k) throw new Error('wasm kernel is off');
  return k;
}

/** An rows x cols float32 matrix, row-major or transposed, at an offset in a larger buffer. */
function stored(rows: number, cols: number, transposed: boolean, offset: number, seed: number): StridedMatrix & { data: Float32Array } {
  const rng = new nd.Rng(seed);
  const data = new Float32Array(offset + rows * cols + 3);
  for (let i = 0; i < data.length; i++) data[i] = 2 * rng.uniform() - 1;
  return transposed ? { data, offset, rowStride: 1, colStride: rows } : { data, offset, rowStride: cols, colStride: 1 };
}

/** Float64 triple loop, and the sum of |a||b| per element (the scale of its rounding error). */
function reference(a: StridedMatrix, b: StridedMatrix, m: number, k: number, n: number): { c: Float64Array; abs: Float64Array } {
  const c = new Float64Array(m * n);
  const abs = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      let t = 0;
      for (let p = 0; p < k; p++) {
        const x = a.data[a.offset + i * a.rowStride + p * a.colStride]! * b.data[b.offset + p * b.rowStride + j * b.colStride]!;
        s += x;
        t += Math.abs(x);
      }
      c[i * n + j] = s;
      abs[i * n + j] = t;
    }
  }
  return { c, abs };
}

/** Float32 summation of k products: error at most about (k + 2) u sum|a||b|, u = 2^-24. */
function assertClose(got: ArrayLike<number>, at: (i: number) => number, ref: { c: Float64Array; abs: Float64Array }, k: number, what: string): void {
  for (let i = 0; i < ref.c.length; i++) {
    const err = Math.abs(got[at(i)]! - ref.c[i]!);
    const bound = (k + 2) * 2 ** -24 * ref.abs[i]! + 1e-30;
    if (!(err <= bound)) assert.unreachable(`${what}: element ${i} is ${got[at(i)]}, expected ${ref.c[i]} (error ${err} > ${bound})`);
  }
}

test('the runtime has WebAssembly SIMD and the kernel is on by default', () => {
  assert.ok(wasmSimdSupported());
  assert.ok(f32Kernel() !== undefined);
});

test('LEB128 encodings', () => {
  assert.equal(uleb(0), [0]);
  assert.equal(uleb(127), [127]);
  assert.equal(uleb(128), [0x80, 1]);
  assert.equal(uleb(624485), [0xe5, 0x8e, 0x26]);
  assert.equal(sleb(-1), [0x7f]);
  assert.equal(sleb(64), [0xc0, 0]);
  assert.equal(sleb(-123456), [0xc0, 0xbb, 0x78]);
});

const dim = fc.oneof(fc.constantFrom(1, 2, 3, 4, 5, 7, 8, 9), fc.integer({ min: 1, max: 70 }));

test('wasm kernel equals the float64 triple loop for any m, k, n and strides', () => {
  const f32 = kernel();
  fc.assert(
    fc.property(dim, fc.oneof(dim, fc.integer({ min: 250, max: 300 })), dim, fc.boolean(), fc.boolean(), fc.nat(5), fc.nat(1000), (m, k, n, ta, tb, off, seed) => {
      const a = stored(m, k, ta, off, seed);
      const b = stored(k, n, tb, 0, seed + 1);
      const pad = 2;
      const c = new Float32Array(m * (n + pad) + 1).fill(7);
      f32(a, b, { data: c, offset: 1, rowStride: n + pad }, m, k, n);
      assertClose(c, (i) => 1 + Math.floor(i / n) * (n + pad) + (i % n), reference(a, b, m, k, n), k, `${m}x${k}x${n}`);
      // the padding between rows is untouched
      for (let i = 0; i < m; i++) for (let j = n; j < n + pad && 1 + i * (n + pad) + j < c.length; j++) assert.is(c[1 + i * (n + pad) + j], 7);
      assert.is(c[0], 7);
    }),
    params(60),
  );
});

test('wasm kernel across every block boundary (MC, KC and NC) matches the JS kernel to float32 rounding', () => {
  const [m, k, n] = [133, 517, 1030];
  const a = stored(m, k, true, 1, 5);
  const b = stored(k, n, false, 0, 6);
  const c = new Float32Array(m * n);
  kernel()(a, b, { data: c, offset: 0, rowStride: n }, m, k, n);
  const js = new Float32Array(m * n);
  matmulStrided(a, b, { data: js, offset: 0, rowStride: n }, m, k, n, newScratch());
  const ref = reference(a, b, m, k, n);
  assertClose(c, (i) => i, ref, k, 'wasm');
  assertClose(js, (i) => i, ref, k, 'js');
});

test('backend matmul on float32: batched, broadcast and transposed operands', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 3 }), dim, dim, dim, fc.boolean(), fc.boolean(), fc.boolean(), fc.nat(1000), (batch, m, k, n, ta, tb, bcast, seed) => {
      const rng = new nd.Rng(seed);
      const rand = (shape: number[]) => nd.array(Array.from({ length: shape.reduce((x, y) => x * y, 1) }, () => 2 * rng.uniform() - 1), 'float32').reshape(shape);
      const a = ta ? rand([batch, k, m]).transpose(1, 2) : rand([batch, m, k]);
      const b = tb ? rand([bcast ? 1 : batch, n, k]).transpose(1, 2) : rand([bcast ? 1 : batch, k, n]);
      const got = onFast(() => nd.matmul(a, b));
      assert.equal(got.shape, [batch, m, n]);
      assert.is(got.dtype, 'float32');
      const flat = Array.from(got.contiguous().data);
      // matrix bi of a rank-3 array (its batch stride is 0 when broadcast)
      const item = (x: nd.NDArray, bi: number): StridedMatrix => ({ data: x.data, offset: x.offset + (x.shape[0] === 1 ? 0 : bi) * x.strides[0]!, rowStride: x.strides[1]!, colStride: x.strides[2]! });
      for (let bi = 0; bi < batch; bi++) {
        assertClose(flat, (i) => bi * m * n + i, reference(item(a, bi), item(b, bi), m, k, n), k, `batch ${bi}`);
      }
    }),
    params(40),
  );
});

test('TSGRAD_WASM=0 and setMatmulWasm(false) use the JS kernel, bit for bit', () => {
  const [m, k, n] = [37, 300, 45];
  const a = stored(m, k, false, 0, 11);
  const b = stored(k, n, true, 0, 12);
  const js = new Float32Array(m * n);
  matmulStrided(a, b, { data: js, offset: 0, rowStride: n }, m, k, n, newScratch());
  const wasm = new Float32Array(m * n);
  kernel()(a, b, { data: wasm, offset: 0, rowStride: n }, m, k, n);
  assert.ok(wasm.some((x, i) => x !== js[i]), 'the kernels round differently (else this test proves nothing)');
  const viaBackend = () => onFast(() => nd.matmul(new nd.NDArray(a.data, [m, k], [k, 1], 0, 'float32'), new nd.NDArray(b.data, [k, n], [1, k], 0, 'float32'))).data as Float32Array;
  const saved = process.env.TSGRAD_WASM;
  try {
    process.env.TSGRAD_WASM = '0';
    assert.is(f32Kernel(), undefined);
    assert.equal(Array.from(viaBackend()), Array.from(js));
    delete process.env.TSGRAD_WASM;
    assert.equal(Array.from(viaBackend()), Array.from(wasm));
    setMatmulWasm(false);
    assert.equal(Array.from(viaBackend()), Array.from(js));
  } finally {
    setMatmulWasm(null);
    if (saved === undefined) delete process.env.TSGRAD_WASM;
    else process.env.TSGRAD_WASM = saved;
  }
});

test('float64 and int32 products stay on the JS kernel', () => {
  const a = stored(9, 13, false, 0, 21);
  const b = stored(13, 6, false, 0, 22);
  const a64 = new nd.NDArray(Float64Array.from(a.data.subarray(0, 9 * 13)), [9, 13], undefined, 0, 'float64');
  const b64 = new nd.NDArray(Float64Array.from(b.data.subarray(0, 13 * 6)), [13, 6], undefined, 0, 'float64');
  const want = new Float64Array(9 * 6);
  matmulStrided({ data: a64.data, offset: 0, rowStride: 13, colStride: 1 }, { data: b64.data, offset: 0, rowStride: 6, colStride: 1 }, { data: want, offset: 0, rowStride: 6 }, 9, 13, 6, newScratch());
  assert.equal(Array.from(onFast(() => nd.matmul(a64, b64)).data), Array.from(want));
});

test('wasm kernel is deterministic, alone and on the worker pool', async () => {
  const [batch, m, k, n] = [3, 150, 260, 140];
  const a = stored(batch * m, k, false, 0, 31);
  const b = stored(k, n, false, 0, 32);
  const one = () => {
    const c = new Float32Array(batch * m * n);
    for (let bi = 0; bi < batch; bi++) kernel()({ ...a, offset: bi * m * k }, b, { data: c, offset: bi * m * n, rowStride: n }, m, k, n);
    return c;
  };
  const first = one();
  assert.equal(Array.from(one()), Array.from(first));
  setMatmulThreads(2);
  matmulPoolOptions.adaptive = false;
  // below the wasm threshold the pool declines; lower it so this product is pooled
  assert.not.ok(parallelMatmul({ ...a, batchStride: m * k }, { ...b, batchStride: 0 }, new Float32Array(batch * m * n), batch, m, k, n), 'small float32 products stay on one thread');
  matmulPoolOptions.minFlopsWasm = 0;
  try {
    assert.ok(await matmulPoolReady(), 'the worker started');
    const before = matmulPoolStats.workerUnits;
    // Repeat until the worker has computed some units (at least 20 rounds, and up to 15 s: a
    // loaded machine can keep the worker off a core for a while). While a worker that has not
    // yet reached earlier jobs holds every result slot, the pool declines by design; wait then.
    const deadline = performance.now() + 15_000;
    let pooledRuns = 0;
    for (let round = 0; (round === 0 || matmulPoolStats.workerUnits === before) && (round < 20 || performance.now() < deadline); round++) {
      const pooled = new Float32Array(batch * m * n);
      if (!parallelMatmul({ ...a, batchStride: m * k }, { ...b, batchStride: 0 }, pooled, batch, m, k, n)) {
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      pooledRuns++;
      for (let i = 0; i < pooled.length; i++) if (pooled[i] !== first[i]) assert.unreachable(`element ${i}: ${pooled[i]} pooled, ${first[i]} alone`);
    }
    assert.ok(pooledRuns > 0, 'the pool ran');
    assert.ok(matmulPoolStats.workerUnits > before, 'the worker computed some units');
  } finally {
    setMatmulThreads(null);
    matmulPoolOptions.adaptive = true;
    matmulPoolOptions.minFlopsWasm = PARALLEL_MIN_FLOPS_WASM;
  }
});

test.run();
