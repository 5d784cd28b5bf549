/**
 * Large matrix products on several cores: a small pool of worker threads (Node only).
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
 * The pool is an optimisation only. Without worker_threads or SharedArrayBuffer, when
 * `TSGRAD_THREADS=1`, below `PARALLEL_MIN_FLOPS`, or after any worker error,
 * `parallelMatmul` returns false and the caller runs the single-threaded kernel, which
 * gives bitwise the same numbers (each unit runs the same code on the same values; for
 * float32, the wasm kernel of wasm/gemm.ts in every thread, or the JS one in every thread).
 * Workers are `unref`'d, so they never keep a process alive.
 */
import { DONE, FAILED, MC, NEXT, newScratch, NR, runUnit, STATE, unitBlock, workerSource, type Operands, type Plan, type StridedBatch } from './matmul-kernel.ts';
import { f32Kernel, wasmWorkerSource } from './wasm/gemm.ts';

export type { StridedBatch } from './matmul-kernel.ts';

/**
 * Products with fewer flops (2 B m k n) than this run on one thread: below about a
 * millisecond of work, posting a job and waking a worker costs more than it saves.
 */
export const PARALLEL_MIN_FLOPS = 4e6;

/**
 * The same threshold when the float32 wasm kernel runs (about 8x faster per thread than
 * the JS one): copying A and B into shared memory then costs as much as the second
 * thread saves until a product takes ~10 ms. Measured on 2 cores: the 784-512-512-10
 * MLP step (products of about 1e8 flops) took 46 ms pooled and 34 ms on one thread,
 * while a 512 x 512 product (2.7e8) gained 1.1x and 1024 (2.1e9) 1.3x from the pool.
 */
export const PARALLEL_MIN_FLOPS_WASM = 2.5e8;

type WorkerLike = { postMessage(msg: unknown): void; ref(): void; unref(): void; terminate(): unknown; on(ev: string, fn: (...args: unknown[]) => void): unknown };

interface Pool {
  workers: WorkerLike[];
  broken: boolean;
  /** Resolves once every worker has started (or failed to). */
  ready: Promise<void>;
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
};

let pool: Pool | null | undefined; // undefined: not tried yet; null: unavailable
const BACKOFF_MS = 2000;
const backoff = { until: 0, average: 2 }; // see trackParallelism
let threadsOverride: number | null = null;
const mainScratch = newScratch();
const shared = { a: null as SharedArrayBuffer | null, b: null as SharedArrayBuffer | null };

/** Number of threads (main included) large products use: `TSGRAD_THREADS`, else the core count. */
export function matmulThreads(): number {
  if (threadsOverride !== null) return threadsOverride;
  const env = typeof process !== 'undefined' ? process.env?.TSGRAD_THREADS : undefined;
  if (env !== undefined && env !== '') {
    const t = Number(env);
    if (Number.isInteger(t) && t >= 1) return t;
  }
  const os = getBuiltin('node:os') as typeof import('node:os') | undefined;
  const cores = os ? (os.availableParallelism?.() ?? os.cpus().length) : 1;
  return Math.max(1, Math.min(cores, 8));
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
  if (pool) for (const w of pool.workers) void w.terminate();
  pool = undefined;
  backoff.until = 0;
  backoff.average = 2;
}

/**
 * Starts the pool if it is enabled and resolves once its workers are up, so a benchmark
 * or test does not time their start-up. Resolves false when products run single-threaded.
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

function getBuiltin(name: string): unknown {
  const proc = typeof process !== 'undefined' ? (process as { getBuiltinModule?: (n: string) => unknown }) : undefined;
  try {
    return proc?.getBuiltinModule?.(name);
  } catch {
    return undefined;
  }
}

function getPool(): Pool | null {
  if (pool !== undefined) return pool;
  pool = null;
  const threads = matmulThreads();
  const wt = getBuiltin('node:worker_threads') as typeof import('node:worker_threads') | undefined;
  if (threads < 2 || !wt || typeof SharedArrayBuffer === 'undefined' || typeof Atomics?.wait !== 'function') return pool;
  try {
    const source = workerSource(wasmWorkerSource());
    const workers: WorkerLike[] = [];
    const started: Promise<void>[] = [];
    const created: Pool = { workers, broken: false, ready: Promise.resolve() };
    for (let t = 1; t < threads; t++) {
      const w = new wt.Worker(source, { eval: true }) as unknown as WorkerLike;
      started.push(
        new Promise<void>((resolve) => {
          w.on('message', (msg) => msg === 'ready' && resolve());
          w.on('error', () => {
            created.broken = true;
            resolve();
          });
        }),
      );
      // unref after adding listeners (a 'message' listener refs the worker's port again),
      // so the pool never keeps a process alive
      w.unref();
      workers.push(w);
    }
    created.ready = Promise.all(started).then(() => undefined);
    pool = created;
  } catch {
    pool = null;
  }
  return pool;
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
  let o = 0;
  for (let bi = 0; bi < count; bi++) {
    for (let i = 0; i < rows; i++) {
      let q = x.offset + bi * x.batchStride + i * x.rowStride;
      for (let j = 0; j < cols; j++, q += x.colStride) out[o++] = src[q]!;
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
  const cpuStart = process.cpuUsage();

  const ctrlBuf = new SharedArrayBuffer((STATE + units) * 4);
  const ctrl = new Int32Array(ctrlBuf);
  // C gets a fresh buffer per job: with two or more workers, one still finishing a unit
  // of an earlier job (see the bounded wait below) must not write into this job's C.
  const cShared = out instanceof Float32Array ? new Float32Array(new SharedArrayBuffer(out.length * 4)) : new Float64Array(new SharedArrayBuffer(out.length * 8));
  const workerOps: Operands = {
    a: shareBatch('a', a, a.batchStride === 0 ? 1 : batch, m, k),
    b: shareBatch('b', b, b.batchStride === 0 ? 1 : batch, k, n),
    c: cShared,
  };
  // float32 units run on the wasm kernel (wasm/gemm.ts) when it is on, in every thread
  mainScratch.f32 = wasmKernel;
  const wasm = wasmKernel !== undefined;
  for (const w of p.workers) w.postMessage({ plan, ops: workerOps, ctrl: ctrlBuf, units, wasm });
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
  // of the shared C, which is then simply not read.
  const mainMs = performance.now() - started;
  const unitMs = mine > 0 ? mainMs / mine : 1;
  const deadline = performance.now() + unitMs;
  for (;;) {
    const done = Atomics.load(ctrl, DONE);
    const left = deadline - performance.now();
    if (done >= units || Atomics.load(ctrl, FAILED) !== 0 || left <= 0) break;
    Atomics.wait(ctrl, DONE, done, left);
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
    for (const w of p.workers) void w.terminate();
  }
  const cpu = process.cpuUsage(cpuStart);
  trackParallelism((cpu.user + cpu.system) / 1000, performance.now() - jobStart);
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
