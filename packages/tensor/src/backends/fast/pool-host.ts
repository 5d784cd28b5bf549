/**
 * Where the matmul pool's threads come from: Node's `worker_threads`, or Web Workers in a
 * browser. matmul-pool.ts sees only the small `PoolHost` interface below, so the pool's
 * logic (units, slots, deadlines) is the same code in both.
 *
 * - **Node**: `worker_threads` (looked up with `process.getBuiltinModule`, Node >= 20.16,
 *   so no bundle ever imports a `node:` module); workers are unref'd.
 * - **Browser**: Web Workers started from a Blob URL of the same source text. Jobs go
 *   through a MessageChannel port: Chromium delivers a `Worker.postMessage` only once the
 *   page's main thread returns to its event loop (long after a synchronous product is done),
 *   a port's messages at once. Threads need
 *   `SharedArrayBuffer`, which a page has only when it is cross-origin isolated (served with
 *   `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy:
 *   require-corp`); otherwise there is no host and products run single-threaded.
 *
 * A page's main thread may not block (`Atomics.wait` throws there), so `waitWhile` spins
 * instead; the pool only ever waits about one unit's time.
 */
import { nodeBuiltin } from '../../node-builtin.ts';

/** One worker thread, as the pool uses it. */
export interface PoolWorker {
  post(message: unknown): void;
  /** Keep the process alive while someone awaits this worker (Node); a no-op in a browser. */
  ref(): void;
  unref(): void;
  terminate(): void;
}

/** What the pool needs from its runtime. */
export interface PoolHost {
  kind: 'node' | 'web';
  /** Logical cores of this machine. */
  cores(): number;
  /**
   * Source text defining `workerPort` inside a worker (`post(message)`, `listen(fn)`), the
   * channel the worker loop of matmul-kernel.ts talks through.
   */
  prelude: string;
  /** Starts a worker on `source`; `ready` once it says so, `fail` if it errors or exits. */
  spawn(source: string, events: { ready(): void; fail(): void }): PoolWorker;
  /** CPU time of the whole process in ms, where the runtime tells (Node); the pool's back-off reads it. */
  cpuMs?: () => number;
}

type NodeProcess = { cpuUsage?: () => { user: number; system: number } };

function nodeHost(): PoolHost | undefined {
  const wt = nodeBuiltin<typeof import('node:worker_threads')>('node:worker_threads');
  const os = nodeBuiltin<typeof import('node:os')>('node:os');
  const proc = (globalThis as { process?: NodeProcess }).process;
  if (!wt || !os || typeof proc?.cpuUsage !== 'function') return undefined;
  const cpuUsage = proc.cpuUsage.bind(proc);
  return {
    kind: 'node',
    cores: () => os.availableParallelism?.() ?? os.cpus().length,
    prelude: [
      "const workerPort = { post: (m) => require('node:worker_threads').parentPort.postMessage(m),",
      "  listen: (fn) => require('node:worker_threads').parentPort.on('message', fn) };",
    ].join('\n'),
    spawn(source, events) {
      const w = new wt.Worker(source, { eval: true });
      w.on('message', (msg) => msg === 'ready' && events.ready());
      w.on('error', () => events.fail());
      w.on('exit', () => events.fail()); // after 'ready' the pool ignores it
      // unref after adding listeners (a 'message' listener refs the worker's port again),
      // so the pool never keeps a process alive
      w.unref();
      return { post: (m) => w.postMessage(m), ref: () => w.ref(), unref: () => w.unref(), terminate: () => void w.terminate() };
    },
    cpuMs: () => {
      const u = cpuUsage();
      return (u.user + u.system) / 1000;
    },
  };
}

/** The parts of the browser's worker API used here (the project's `lib` has no DOM types). */
interface WebWorker {
  postMessage(message: unknown, transfer?: unknown[]): void;
  terminate(): void;
  addEventListener(type: 'message' | 'error' | 'messageerror', fn: (e: { data?: unknown }) => void): void;
}
interface WebPort {
  postMessage(message: unknown): void;
  close(): void;
  onmessage: ((e: { data?: unknown }) => void) | null;
}
interface WebGlobals {
  MessageChannel?: new () => { port1: WebPort; port2: unknown };
  Worker?: new (url: string, options?: { name?: string }) => WebWorker;
  Blob?: new (parts: string[], options: { type: string }) => unknown;
  URL?: { createObjectURL?(blob: unknown): string; revokeObjectURL?(url: string): void };
  navigator?: { hardwareConcurrency?: number };
  crossOriginIsolated?: boolean;
}

function webHost(): PoolHost | undefined {
  const g = globalThis as unknown as WebGlobals;
  const { Worker, Blob, URL, MessageChannel } = g;
  // without isolation a page has no SharedArrayBuffer to share A, B and C through
  if (!Worker || !MessageChannel || !Blob || !URL?.createObjectURL || g.crossOriginIsolated === false) return undefined;
  const createUrl = URL.createObjectURL.bind(URL);
  const revoke = URL.revokeObjectURL?.bind(URL) ?? (() => {});
  return {
    kind: 'web',
    cores: () => g.navigator?.hardwareConcurrency ?? 1,
    prelude: [
      // both directions go through the job port; 'ready' waits for it, so a ready worker gets jobs at once
      'let jobPort = null; const early = [];',
      'const workerPort = { post: (m) => (jobPort ? jobPort.postMessage(m) : early.push(m)),',
      "  listen: (fn) => self.addEventListener('message', (e) => { if (!e.data || !e.data.jobPort) return;",
      '    jobPort = e.data.jobPort; jobPort.onmessage = (j) => fn(j.data); for (const m of early.splice(0)) jobPort.postMessage(m); }) };',
    ].join('\n'),
    spawn(source, events) {
      const url = createUrl(new Blob([source], { type: 'text/javascript' }));
      const w = new Worker(url, { name: 'tsgrad-matmul' });
      const channel = new MessageChannel();
      w.postMessage({ jobPort: channel.port2 }, [channel.port2]);
      const jobs = channel.port1;
      let settled = false;
      const settle = (ok: boolean) => {
        if (settled) return;
        settled = true;
        revoke(url); // the worker has loaded (or failed to): the URL is no longer needed
        if (ok) events.ready();
        else events.fail();
      };
      jobs.onmessage = (e) => e.data === 'ready' && settle(true);
      // after 'ready' a worker's failure is its job's business: it sets the job's FAILED flag,
      // and the main thread computes what the worker left undone
      w.addEventListener('error', () => settle(false));
      w.addEventListener('messageerror', () => settle(false));
      const terminate = () => {
        jobs.close();
        w.terminate();
      };
      return { post: (m) => jobs.postMessage(m), ref: () => {}, unref: () => {}, terminate };
    },
  };
}

/** Node's host, else the browser's, else undefined (no threads in this runtime). */
export function poolHost(): PoolHost | undefined {
  return nodeHost() ?? webHost();
}

let canBlock = true;

/**
 * Waits while `ctrl[index] === value`, at most `ms`: `Atomics.wait` where this thread may
 * block, a spin on `Atomics.load` on a page's main thread (where `Atomics.wait` throws).
 */
export function waitWhile(ctrl: Int32Array, index: number, value: number, ms: number): void {
  if (canBlock) {
    try {
      Atomics.wait(ctrl, index, value, ms);
      return;
    } catch {
      canBlock = false;
    }
  }
  const deadline = performance.now() + ms;
  while (Atomics.load(ctrl, index) === value && performance.now() < deadline) {
    // spin: the wait is at most about one unit of work
  }
}
