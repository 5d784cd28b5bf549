/**
 * The matmul worker pool's resources: memory stays bounded over many pooled products
 * (shared result buffers are reused, not allocated per product), a late worker never
 * writes into a later product's result, and `matmulPoolReady()` settles when a worker
 * never starts. (Bitwise equality of pooled and single-threaded products is in
 * kernels.test.ts and wasm-gemm.test.ts.)
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { matmulStrided, newScratch } from '../src/backends/fast/matmul-kernel.ts';
import {
  matmulPoolHooks,
  matmulPoolOptions,
  matmulPoolReady,
  matmulPoolStats,
  parallelMatmul,
  PARALLEL_MIN_FLOPS,
  setMatmulThreads,
} from '../src/backends/fast/matmul-pool.ts';
import { Rng } from '../src/index.ts';

/** Runs `fn` with a pool of `threads` threads that is used for every product (and puts everything back). */
async function withPool<T>(threads: number, hook: (source: string) => string, fn: () => T | Promise<T>, readyTimeoutMs = matmulPoolOptions.readyTimeoutMs): Promise<T> {
  const saved = { ...matmulPoolOptions };
  const savedHook = matmulPoolHooks.workerSource;
  matmulPoolHooks.workerSource = hook;
  Object.assign(matmulPoolOptions, { adaptive: false, minFlopsWasm: PARALLEL_MIN_FLOPS, readyTimeoutMs });
  setMatmulThreads(threads);
  try {
    return await fn();
  } finally {
    setMatmulThreads(null);
    Object.assign(matmulPoolOptions, saved);
    matmulPoolHooks.workerSource = savedHook;
  }
}

test('memory stays within a few products over 200 pooled products (child process, --expose-gc)', () => {
  const script = join(import.meta.dirname, 'fixtures', 'pool-memory.ts');
  const run = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', script, '200', '512'], { encoding: 'utf8', timeout: 300_000 });
  assert.is(run.status, 0, `child failed: ${run.stderr}`);
  const r = JSON.parse(run.stdout.trim().split('\n').pop()!) as { productBytes: number; jobs: number; rssGrowth: number; arrayBuffersGrowth: number };
  assert.ok(r.jobs >= 180, `the products ran on the pool (${r.jobs} jobs)`);
  // Before the fix each product left its 1 MiB shared result behind (~195 MiB of array
  // buffers here, ~150 MiB of rss). Array-buffer memory is counted exactly; rss also
  // keeps what the allocator got back from collected results (up to ~35 MiB measured).
  assert.ok(r.arrayBuffersGrowth <= 4 * r.productBytes, `array buffers grew by ${r.arrayBuffersGrowth} bytes`);
  assert.ok(r.rssGrowth <= 48 * r.productBytes, `resident memory grew by ${r.rssGrowth} bytes`);
});

test('a late worker never writes into a later product (reused result buffers, 3 threads, one slow worker)', async () => {
  // the worker with an even thread id sleeps 15 ms before each unit, so the main thread
  // gives up on it and redoes its unit, and it writes into that job's result much later
  const slow = (source: string) => {
    const out = source.replace(
      /runUnit\(\s*job\.plan,\s*job\.ops,\s*u,\s*scratch\s*\)/,
      "(require('node:worker_threads').threadId % 2 === 0 && Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 15), runUnit(job.plan, job.ops, u, scratch))",
    );
    assert.is.not(out, source, 'the hook found the unit call');
    return out;
  };
  await withPool(3, slow, async () => {
    assert.ok(await matmulPoolReady(), 'the workers started');
    const rng = new Rng(7);
    const jobs0 = matmulPoolStats.jobs;
    for (let job = 0; job < 60; job++) {
      // shapes change from job to job, so a unit written late lands in the wrong place
      // of a later result (5.9 MFLOP and more: above PARALLEL_MIN_FLOPS; 9 to 12 units)
      const [m, k, n] = [192, 96 + 16 * (job % 2), 160 + 32 * (job % 3)];
      const a = Float64Array.from({ length: m * k }, () => rng.uniform() - 0.5 + job);
      const b = Float64Array.from({ length: k * n }, () => rng.uniform() - 0.5);
      const va = { data: a, offset: 0, batchStride: 0, rowStride: k, colStride: 1 };
      const vb = { data: b, offset: 0, batchStride: 0, rowStride: n, colStride: 1 };
      const pooled = new Float64Array(m * n);
      if (!parallelMatmul(va, vb, pooled, 1, m, k, n)) continue; // every slot still held by the slow worker
      const single = new Float64Array(m * n);
      matmulStrided(va, vb, { data: single, offset: 0, rowStride: n }, m, k, n, newScratch());
      for (let i = 0; i < single.length; i++) {
        if (pooled[i] !== single[i]) assert.unreachable(`job ${job}: element ${i} is ${pooled[i]} pooled, ${single[i]} single-threaded`);
      }
    }
    assert.ok(matmulPoolStats.jobs - jobs0 >= 30, `most products ran on the pool (${matmulPoolStats.jobs - jobs0})`);
  });
});

/** Resolves to what `matmulPoolReady()` resolves to, or 'hang' after `ms`. */
function readyWithin(ms: number): Promise<boolean | 'hang'> {
  return Promise.race([matmulPoolReady(), new Promise<'hang'>((r) => setTimeout(() => r('hang'), ms))]);
}

test('matmulPoolReady resolves false when a worker never starts (timeout), exits or throws at start', async () => {
  const never = () => 'setInterval(() => {}, 1000);'; // alive, never says ready
  await withPool(2, never, async () => {
    assert.is(await readyWithin(10_000), false, 'a worker that never starts times out');
    const big = { data: new Float64Array(256 * 256), offset: 0, batchStride: 0, rowStride: 256, colStride: 1 };
    assert.not.ok(parallelMatmul(big, big, new Float64Array(256 * 256), 1, 256, 256, 256), 'products then run single-threaded');
  }, 300);
  // these fail at once, well before the (long) timeout
  for (const source of ['', "throw new Error('no start')"]) {
    await withPool(2, () => source, async () => assert.is(await readyWithin(10_000), false, `worker source ${JSON.stringify(source)}`), 60_000);
  }
  // and a normal pool still starts afterwards
  await withPool(2, (s) => s, async () => assert.is(await readyWithin(20_000), true));
});

test.run();
