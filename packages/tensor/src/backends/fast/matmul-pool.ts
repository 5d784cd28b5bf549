/**
 * Large matrix products on several cores: a small pool of worker threads, Node's
 * worker_threads or a page's Web Workers (see pool-host.ts, the only part that differs).
 *
 * The product is cut into units (one batch item x a band of rows x a band of columns
 * of C). The main thread posts the job to the workers and then works on it itself:
 * each thread claims the next unit with an atomic counter until none are left, so a
 * core slowed down by another process simply claims fewer units. The main thread
 * computes its units straight into the result; workers read copies of A and B in
 * SharedArrayBuffers and write into a shared C, from which the main thread copies
 * their units. When the queue is empty the main thread blocks (`Atomics.wait`) for
 * about one unit's time for the units workers are still on, and computes any that are
 * not done by then itself, so a worker that the OS has descheduled never stalls it.
 *
 * On a machine whose cores are all busy the workers get no core of their own; the pool
 * notices (the process's CPU time stops outgrowing wall time) and steps aside a while.
 *
 * The pool is an optimisation only. Without worker threads or SharedArrayBuffer (a page
 * that is not cross-origin isolated), when
 * `TSGRAD_THREADS=1`, below `PARALLEL_MIN_FLOPS`, or after any worker error,
 * `parallelMatmul` returns false and the caller runs the single-threaded kernel, which
 * gives bitwise the same numbers (each unit runs the same code on the same values; for
 * float32, the wasm kernel of wasm/gemm.ts in every thread, or the JS one in every thread).
 * Node's workers are `unref`'d, so they never keep a process alive.
 *
 * Memory: the shared C a job's workers write into is taken from a few reused slots
 * (see `takeSlot`), never allocated per job. A SharedArrayBuffer posted to a worker is
 * freed only once that worker's heap collects it too, so a fresh buffer per product
 * grew the process by the size of every product until the workers happened to collect.
 */
import { DONE, FAILED, LEFT, MC, NEXT, newScratch, NR, runUnit, STATE, unitBlock, workerSource, type Operands, type Plan, type StridedBatch } from './matmul-kernel.ts';
import { poolHost, waitWhile, type PoolHost, type PoolWorker } from './pool-host.ts';
import { f32Kernel, wasmMatmulStrided, wasmWorkerSource } from './wasm/gemm.ts';

export type { StridedBatch } from './matmul-kernel.ts';

/**
 * Products with fewer flops (2 B m k n) than this run on one thread: below about a
 * millisecond of work, posting a job and waking a worker costs more than it saves.
 */
export const PARALLEL_MIN_FLOPS = 4e6;

/**
 * The same threshold when the float32 wasm kernel runs (about 8x faster per thread than
 * the JS one): copying A and B into shared memory then costs as much as the second
 * thread saves until a product takes well over 10 ms. Measured on the idle 2-core machine
 * (2026-12-03, blocks of 15 products alternating pooled / one thread, medians of 6 blocks,
 * sandbox-style script as in bench/pool-threshold.ts): one-thread / pooled time 0.77 at
 * 384^3 (1.1e8 flops), 0.83-1.22 at 512^3 (2.7e8; the bench's matmul 512 row measured
 * 0.90x the same day), 0.99 at 640^3 (5.2e8), 1.29 at 768^3 (9.1e8), 1.16 at 1024^3. So
 * products below 6e8 flops stay on one thread, where the pool is at best even.
 */
export const PARALLEL_MIN_FLOPS_WASM = 6e8;

interface Pool {
  host: PoolHost;
  workers: PoolWorker[];
  broken: boolean;
  /** Resolves once every worker has started, or failed to, or `readyTimeoutMs` passed. */
  ready: Promise<void>;
  /** Shared result buffers, reused by later jobs once no worker can still write them. */
  slots: Slot[];
}

/**
 * A shared C and the control array of the last job that used it. The slot is free once
 * every worker has left that job (the control array's LEFT count equals the number of
 * workers): a worker still finishing a unit of an earlier job could otherwise write into
 * a later job's result.
 */
interface Slot {
  c: SharedArrayBuffer;
  ctrl: SharedArrayBuffer;
}

/**
 * Counters for tests and benchmarks: jobs run on the pool, units the workers did, and
 * units the main thread redid because a worker had not finished them in time.
 */
export const matmulPoolStats = { jobs: 0, workerUnits: 0, redoneUnits: 0, backoffs: 0 };

/** `adaptive`: skip the pool for a while when its threads get no second core (see `trackParallelism`); tests turn it off. */
export const matmulPoolOptions = {
  /** Step aside while the machine's cores are busy (see trackParallelism). */
  adaptive: true,
  /** Smallest product (flops) sent to the pool when the float32 wasm kernel runs. */
  minFlopsWasm: PARALLEL_MIN_FLOPS_WASM,
  /** A worker that has not started after this long is given up: the pool is off (`matmulPoolReady` resolves false). */
  readyTimeoutMs: 20_000,
};

/** For tests only: rewrites the workers' source, e.g. into one that never starts. */
export const matmulPoolHooks = { workerSource: (source: string): string => source };

/** Slots kept between jobs; up to `MAX_SLOTS` exist while workers lag behind, the extra ones are dropped once free. */
const KEEP_SLOTS = 2;
/** With every slot still written by a lagging worker, a product runs single-threaded. */
const MAX_SLOTS = 8;
/** After this long without a pooled product, the shared buffers are dropped. */
const IDLE_DROP_MS = 10_000;

let pool: Pool | null | undefined; // undefined: not tried yet; null: unavailable
const BACKOFF_MS = 2000;
const backoff = { until: 0, average: 2 }; // see trackParallelism
let threadsOverride: number | null = null;
const mainScratch = newScratch();
const shared = { a: null as SharedArrayBuffer | null, b: null as SharedArrayBuffer | null };
const idle = { lastJob: 0, timer: null as ReturnType<typeof setTimeout> | null };

/** Number of threads (main included) large products use: `TSGRAD_THREADS`, else the core count. */
export function matmulThreads(): number {
  if (threadsOverride !== null) return threadsOverride;
  const env = typeof process !== 'undefined' ? process.env?.TSGRAD_THREADS : undefined;
  if (env !== undefined && env !== '') {
    const t = Number(env);
    if (Number.isInteger(t) && t >= 1) return t;
  }
  return Math.max(1, Math.min(poolHost()?.cores() ?? 1, 8));
}

/**
 * Sets the thread count for large products (1 turns the pool off); `null` goes back to
 * `TSGRAD_THREADS` or the core count. Existing workers are stopped.
 * @example setMatmulThreads(1); // single-threaded, e.g. to time the kernel alone
 */
export function setMatmulThreads(threads: number | null): void {
  if (threads !== null && (!Number.isInteger(threads) || threads < 1)) {
    throw new RangeError(`setMatmulThreads: expected a positive integer or null, got ${threads}`);
  }
  threadsOverride = threads;
  shutdownMatmulPool();
}

/** Stops the workers (they are unref'd, so this is only needed to free them early). */
export function shutdownMatmulPool(): void {
  if (pool) for (const w of pool.workers) w.terminate();
  pool = undefined;
  backoff.until = 0;
  backoff.average = 2;
}

/**
 * Starts the pool if it is enabled and resolves once its workers are up, so a benchmark
 * or test does not time their start-up. Resolves false when products run single-threaded:
 * no pool (one thread, no worker threads or SharedArrayBuffer), or a worker that failed, exited before it was
 * ready, or did not start within `matmulPoolOptions.readyTimeoutMs` (the pool is then off
 * for the rest of the process, until `setMatmulThreads` makes a new one). Never rejects.
 * @example await matmulPoolReady();
 */
export async function matmulPoolReady(): Promise<boolean> {
  const p = getPool();
  if (p === null) return false;
  // keep the process alive while waiting (the workers are unref'd otherwise)
  for (const w of p.workers) w.ref();
  try {
    await p.ready;
  } finally {
    for (const w of p.workers) w.unref();
  }
  return !p.broken;
}

function getPool(): Pool | null {
  if (pool !== undefined) return pool;
  pool = null;
  const threads = matmulThreads();
  const host = poolHost();
  if (threads < 2 || !host || typeof SharedArrayBuffer === 'undefined' || typeof Atomics?.wait !== 'function' || !namesKept()) return pool;
  try {
    const source = matmulPoolHooks.workerSource(workerSource(`${host.prelude}\n${wasmWorkerSource()}`));
    const workers: PoolWorker[] = [];
    const started: Promise<void>[] = [];
    const created: Pool = { host, workers, broken: false, ready: Promise.resolve(), slots: [] };
    for (let t = 1; t < threads; t++) {
      let settle!: () => void;
      started.push(new Promise<void>((resolve) => (settle = resolve)));
      const fail = () => {
        created.broken = true;
        settle(); // after 'ready' the promise stays settled; the pool is off from now on
      };
      workers.push(host.spawn(source, { ready: () => settle(), fail }));
    }
    created.ready = withTimeout(Promise.all(started), matmulPoolOptions.readyTimeoutMs, () => {
      // a worker that never starts: products run single-threaded from now on
      created.broken = true;
      for (const w of workers) w.terminate();
    });
    pool = created;
  } catch {
    pool = null;
  }
  return pool;
}

/**
 * Whether the kernels still call each other by the names they were written with. Workers
 * run them from their source text, with each function defined under its own name; a bundle
 * whose identifiers were minified (esbuild's `minify`; `minifyIdentifiers: false` keeps them)
 * renames the calls, so its workers would fail: such a bundle runs single-threaded.
 */
function namesKept(): boolean {
  return /\bunitBlock\(/.test(runUnit.toString()) && /\bpackA4f32\(/.test(wasmMatmulStrided.toString());
}

/** Resolves when `p` does, or after `ms` having called `onTimeout` (the timer does not keep the process alive). */
function withTimeout(p: Promise<unknown>, ms: number, onTimeout: () => void): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      onTimeout();
      resolve();
    }, ms);
    (timer as { unref?: () => void }).unref?.();
    void p.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * A free slot whose C holds `bytes` and whose control array holds `units` units, its
 * control array zeroed; null when `MAX_SLOTS` slots are all still in use by workers.
 * Reuses the free slot that fits, else regrows a free one, else adds one.
 */
function takeSlot(p: Pool, bytes: number, units: number): Slot | null {
  const ctrlBytes = (STATE + units) * 4;
  const free = p.slots.filter((s) => Atomics.load(new Int32Array(s.ctrl), LEFT) >= p.workers.length);
  let slot = free.find((s) => s.c.byteLength >= bytes) ?? free[0];
  if (!slot) {
    if (p.slots.length >= MAX_SLOTS) return null;
    slot = { c: new SharedArrayBuffer(bytes), ctrl: new SharedArrayBuffer(ctrlBytes) };
    p.slots.push(slot);
  }
  if (slot.c.byteLength < bytes) slot.c = new SharedArrayBuffer(bytes);
  if (slot.ctrl.byteLength < ctrlBytes) slot.ctrl = new SharedArrayBuffer(ctrlBytes);
  else new Int32Array(slot.ctrl).fill(0);
  // a burst of lagging jobs may have added slots: keep only a few once they are free
  const spare = free.filter((s) => s !== slot);
  for (let i = KEEP_SLOTS - 1; i < spare.length; i++) p.slots.splice(p.slots.indexOf(spare[i]!), 1);
  return slot;
}

/** Drops the shared buffers (of whichever pool is current) once no product has used the pool for `IDLE_DROP_MS`. */
function scheduleIdleDrop(): void {
  idle.lastJob = performance.now();
  if (idle.timer !== null) return;
  const check = () => {
    const left = idle.lastJob + IDLE_DROP_MS - performance.now();
    if (left > 0) {
      idle.timer = setTimeout(check, left);
      (idle.timer as { unref?: () => void }).unref?.();
      return;
    }
    idle.timer = null;
    const p = pool;
    if (p) p.slots = p.slots.filter((s) => Atomics.load(new Int32Array(s.ctrl), LEFT) < p.workers.length);
    shared.a = null;
    shared.b = null;
  };
  idle.timer = setTimeout(check, IDLE_DROP_MS);
  (idle.timer as { unref?: () => void }).unref?.();
}

/** A SharedArrayBuffer of at least `bytes`, reused between calls. */
function sharedBuffer(slot: 'a' | 'b', bytes: number): SharedArrayBuffer {
  const cur = shared[slot];
  if (cur && cur.byteLength >= bytes) return cur;
  const buf = new SharedArrayBuffer(Math.max(bytes, cur ? cur.byteLength * 2 : 0));
  shared[slot] = buf;
  return buf;
}

/** Copies a strided batch densely into shared memory (float32 stays float32, anything else becomes float64). */
function shareBatch(slot: 'a' | 'b', x: StridedBatch, count: number, rows: number, cols: number): StridedBatch {
  const f32 = x.data instanceof Float32Array;
  const size = count * rows * cols;
  const buf = sharedBuffer(slot, size * (f32 ? 4 : 8));
  const out = f32 ? new Float32Array(buf, 0, size) : new Float64Array(buf, 0, size);
  const src = x.data;
  const block = rows * cols;
  // a typed array (always, from the fast backend) can be copied with TypedArray.set
  const typed = ArrayBuffer.isView(src) ? (src as Float32Array | Float64Array) : null;
  if (typed && x.colStride === 1 && (x.rowStride === cols || rows === 1) && (count === 1 || x.batchStride === block)) {
    // one dense block (the usual operand): a single memcpy
    out.set(typed.subarray(x.offset, x.offset + size));
  } else if (typed && (x.colStride === 1 || cols === 1)) {
    // dense rows: copied a row at a time
    const step = cols === 1 ? x.rowStride : 1;
    for (let bi = 0, o = 0; bi < count; bi++) {
      for (let i = 0; i < rows; i++, o += cols) {
        const q = x.offset + bi * x.batchStride + i * x.rowStride;
        if (step === 1) out.set(typed.subarray(q, q + cols), o);
        else out[o] = typed[q]!;
      }
    }
  } else {
    let o = 0;
    for (let bi = 0; bi < count; bi++) {
      for (let i = 0; i < rows; i++) {
        let q = x.offset + bi * x.batchStride + i * x.rowStride;
        for (let j = 0; j < cols; j++, q += x.colStride) out[o++] = src[q]!;
      }
    }
  }
  return { data: out, offset: 0, batchStride: count === 1 ? 0 : rows * cols, rowStride: cols, colStride: 1 };
}

/** Cuts the product into units: 64-row bands, and column bands too when there are few rows. */
function makePlan(batch: number, m: number, k: number, n: number, threads: number): Plan {
  const rowBand = MC;
  const rowBands = Math.ceil(m / rowBand);
  const wanted = 4 * threads; // a few units per thread lets a busy core fall behind gracefully
  let colBands = 1;
  if (batch * rowBands < wanted) colBands = Math.min(Math.ceil(wanted / (batch * rowBands)), Math.ceil(n / 64));
  const colBand = Math.ceil(n / colBands / NR) * NR;
  colBands = Math.ceil(n / colBand);
  return { batch, m, k, n, rowBand, colBand, rowBands, colBands };
}

/**
 * Runs `out[bi] = a[bi] @ b[bi]` for bi < batch on the pool (out is dense [batch, m, n]).
 * Returns false, having written nothing, when the pool is off or the product is small;
 * the caller then runs the single-threaded kernel.
 */
export function parallelMatmul(a: StridedBatch, b: StridedBatch, out: Float32Array | Float64Array, batch: number, m: number, k: number, n: number): boolean {
  const flops = 2 * batch * m * k * n;
  const wasmKernel = out instanceof Float32Array ? f32Kernel() : undefined;
  if (flops < (wasmKernel ? matmulPoolOptions.minFlopsWasm : PARALLEL_MIN_FLOPS) || m === 0 || n === 0) return false;
  const p = getPool();
  if (p === null || p.broken) return false;
  if (matmulPoolOptions.adaptive && performance.now() < backoff.until) return false;
  const plan = makePlan(batch, m, k, n, p.workers.length + 1);
  const units = plan.batch * plan.rowBands * plan.colBands;
  if (units < 2) return false;
  const jobStart = performance.now();
  const cpuStart = p.host.cpuMs?.();

  const f32 = out instanceof Float32Array;
  const slot = takeSlot(p, out.length * (f32 ? 4 : 8), units);
  if (slot === null) return false;
  const ctrlBuf = slot.ctrl;
  const ctrl = new Int32Array(ctrlBuf);
  const cShared = f32 ? new Float32Array(slot.c, 0, out.length) : new Float64Array(slot.c, 0, out.length);
  const workerOps: Operands = {
    a: shareBatch('a', a, a.batchStride === 0 ? 1 : batch, m, k),
    b: shareBatch('b', b, b.batchStride === 0 ? 1 : batch, k, n),
    c: cShared,
  };
  // float32 units run on the wasm kernel (wasm/gemm.ts) when it is on, in every thread
  mainScratch.f32 = wasmKernel;
  const wasm = wasmKernel !== undefined;
  for (const w of p.workers) w.post({ plan, ops: workerOps, ctrl: ctrlBuf, units, wasm });
  matmulPoolStats.jobs++;

  // The main thread works on the same queue, writing straight into `out`.
  const mainOps: Operands = { a, b, c: out };
  const owner = new Uint8Array(units); // 1: computed here
  let mine = 0;
  const started = performance.now();
  for (;;) {
    const u = Atomics.add(ctrl, NEXT, 1);
    if (u >= units) break;
    runUnit(plan, mainOps, u, mainScratch);
    owner[u] = 1;
    mine++;
    Atomics.add(ctrl, DONE, 1);
  }

  // The queue is empty; workers may still be finishing the units they claimed. Wait
  // for them about as long as one unit takes here, then compute whatever is left
  // ourselves: a worker descheduled by a busy machine (or one that failed) then costs
  // at most one unit of time, never a stall. A late worker only writes its own unit
  // of the shared C, which is then simply not read, and the slot holding that C is not
  // reused until the worker has left the job (see takeSlot).
  const mainMs = performance.now() - started;
  const unitMs = mine > 0 ? mainMs / mine : 1;
  const deadline = performance.now() + unitMs;
  for (;;) {
    const done = Atomics.load(ctrl, DONE);
    const left = deadline - performance.now();
    if (done >= units || Atomics.load(ctrl, FAILED) !== 0 || left <= 0) break;
    waitWhile(ctrl, DONE, done, left);
  }
  for (let u = 0; u < units; u++) {
    if (owner[u] === 1) continue;
    if (Atomics.load(ctrl, STATE + u) === 1) {
      copyUnit(plan, u, cShared, out);
      matmulPoolStats.workerUnits++;
    } else {
      runUnit(plan, mainOps, u, mainScratch);
      matmulPoolStats.redoneUnits++;
    }
  }
  if (Atomics.load(ctrl, FAILED) !== 0) {
    // Stop using the pool for the rest of the process; the result above is complete.
    p.broken = true;
    for (const w of p.workers) w.terminate();
  }
  scheduleIdleDrop();
  // without the process's CPU time (a browser) there is no back-off: the deadline above still
  // keeps a starved worker from stalling the main thread
  if (cpuStart !== undefined) trackParallelism(p.host.cpuMs!() - cpuStart, performance.now() - jobStart);
  return true;
}

/**
 * When every core is already busy (other processes, or other tsgrad processes each with
 * their own pool), the workers get no core of their own: the threads take turns, a job
 * takes as long as on one thread, plus the copies. That shows in the process's CPU time
 * over the job's wall time (about 2 with a worker really running beside the main thread,
 * about 1 when they take turns). When its running average drops below 1.3 the pool is
 * skipped for `BACKOFF_MS`, then tried again.
 */
function trackParallelism(cpuMs: number, wallMs: number): void {
  if (!(wallMs > 0)) return;
  backoff.average = 0.7 * backoff.average + 0.3 * (cpuMs / wallMs);
  if (backoff.average < 1.3) {
    backoff.until = performance.now() + BACKOFF_MS;
    backoff.average = 1.6; // a few shared-core jobs in a row back off again
    matmulPoolStats.backoffs++;
  }
}

/** Copies unit u's block of C from the workers' shared output into `out`. */
function copyUnit(plan: Plan, u: number, from: Float32Array | Float64Array, out: Float32Array | Float64Array): void {
  const { bi, i0, j0, rows, cols } = unitBlock(plan, u);
  for (let i = 0; i < rows; i++) {
    const start = bi * plan.m * plan.n + (i0 + i) * plan.n + j0;
    out.set(from.subarray(start, start + cols), start);
  }
}
