/**
 * Bytes allocated per call of a step function, in two parts, each from its own untimed pass:
 *
 * - **typed-array storage** (tensor data lives in ArrayBuffers outside V8's heap, so heap
 *   statistics do not see it): for the pass, the global `ArrayBuffer`,
 *   `SharedArrayBuffer` and typed-array constructors are replaced by proxies that add up
 *   the bytes of every new buffer (a view over an existing buffer allocates nothing and
 *   is not counted; `slice`/`map` go through the proxy via `constructor`, which is
 *   redirected for the pass too). Proxies keep `instanceof` and every prototype as they
 *   were, so the step runs exactly the code it runs when timed. WebAssembly memory growth
 *   is not counted (the kernels' memories are sized once).
 * - **JS heap** (tensor objects, graph nodes, closures, small arrays): `v8.GCProfiler`
 *   reports the used heap before and after every garbage collection, so what was
 *   allocated is the growth of the used heap over the pass plus what each collection freed.
 *
 * Both are averages over `steps` calls after one warm-up call.
 */
import v8 from 'node:v8';

export interface Allocation {
  /** Bytes of new ArrayBuffer / typed-array storage per step. */
  storageBytes: number;
  /** Bytes allocated on V8's JS heap per step. */
  heapBytes: number;
}

const TYPED = ['Float32Array', 'Float64Array', 'Int32Array', 'Uint32Array', 'Int16Array', 'Uint16Array', 'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'BigInt64Array', 'BigUint64Array'] as const;

type Ctor = new (...args: unknown[]) => { byteLength: number };

/**
 * Runs `fn` with the buffer constructors counting; returns the bytes of new buffers.
 * `onAlloc`, if given, hears of each new buffer as it is made (its caller's stack is live).
 */
function countingStorage(fn: () => void, onAlloc?: (bytes: number) => void): number {
  let bytes = 0;
  const g = globalThis as unknown as Record<string, Ctor>;
  const saved: [string, Ctor][] = [];
  const restoreCtor: [object, Ctor][] = [];
  const isBuffer = (x: unknown) => x instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && x instanceof SharedArrayBuffer);
  const wrap = (name: string, counts: (args: unknown[], made: { byteLength: number }) => boolean) => {
    const original = g[name];
    if (!original) return;
    const proxy = new Proxy(original, {
      construct(target, args, newTarget) {
        const made = Reflect.construct(target, args, newTarget === proxy ? target : newTarget) as { byteLength: number };
        if (counts(args, made)) {
          bytes += made.byteLength;
          onAlloc?.(made.byteLength);
        }
        return made;
      },
    });
    saved.push([name, original]);
    g[name] = proxy;
    // `slice`, `map`, `subarray` build their result through `this.constructor`
    const proto = (original as unknown as { prototype: { constructor: Ctor } }).prototype;
    restoreCtor.push([proto, proto.constructor]);
    Object.defineProperty(proto, 'constructor', { value: proxy, writable: true, configurable: true, enumerable: false });
  };
  wrap('ArrayBuffer', () => true);
  wrap('SharedArrayBuffer', () => true);
  for (const name of TYPED) wrap(name, (args) => !isBuffer(args[0]));
  try {
    fn();
  } finally {
    for (const [name, original] of saved) g[name] = original;
    for (const [proto, ctor] of restoreCtor) Object.defineProperty(proto, 'constructor', { value: ctor, writable: true, configurable: true, enumerable: false });
  }
  return bytes;
}

/** Bytes allocated on the JS heap while `fn` runs. */
function heapAllocated(fn: () => void): number {
  const profiler = new v8.GCProfiler();
  const before = v8.getHeapStatistics().used_heap_size;
  profiler.start();
  fn();
  const after = v8.getHeapStatistics().used_heap_size;
  const stats = profiler.stop()?.statistics ?? [];
  const freed = stats.reduce((s, gc) => s + Math.max(0, gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize), 0);
  return after - before + freed;
}

/**
 * Average bytes allocated per call of `step` (see the module comment for the method).
 * @example const a = allocationPerStep(mlpStep(mlpInputs()), 5); // a.storageBytes, a.heapBytes
 */
export function allocationPerStep(step: () => unknown, steps: number): Allocation {
  step();
  const run = () => {
    for (let i = 0; i < steps; i++) step();
  };
  const heapBytes = heapAllocated(run) / steps;
  step();
  const storageBytes = countingStorage(run) / steps;
  return { storageBytes, heapBytes };
}

/**
 * Typed-array storage one call of `step` allocates, by call site: each new buffer is
 * charged to its first `frames` stack frames inside tsgrad's packages (file:line, innermost
 * first). For aiming allocation work, not for timing (capturing stacks is slow).
 * @example const sites = allocationBySite(gptStep(gptModel(), gptBatch()), 3); // Map site -> { bytes, count }
 */
export function allocationBySite(step: () => unknown, frames: number): Map<string, { bytes: number; count: number }> {
  const sites = new Map<string, { bytes: number; count: number }>();
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 60;
  try {
    countingStorage(
      () => void step(),
      (bytes) => {
        const lines = (new Error().stack ?? '').split('\n').slice(1);
        const ours = lines
          .map((l) => /packages\/([^)]*?):(\d+):\d+\)?$/.exec(l.trim()))
          .filter((m): m is RegExpExecArray => m !== null)
          .map((m) => `${m[1]}:${m[2]}`)
          .slice(0, frames);
        const site = ours.join(' < ') || '(outside packages)';
        const entry = sites.get(site) ?? { bytes: 0, count: 0 };
        entry.bytes += bytes;
        entry.count += 1;
        sites.set(site, entry);
      },
    );
  } finally {
    Error.stackTraceLimit = limit;
  }
  return sites;
}
