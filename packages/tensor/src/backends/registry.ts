/**
 * Which backend runs the primitives. One backend is active per process; choose it
 * with `setBackend(name)` or the `TSGRAD_BACKEND` environment variable.
 */
import type { Backend } from '../backend.ts';
import { createGpuBackend } from './gpu/index.ts';
import { fastBackend } from './fast/index.ts';
import { referenceBackend } from './reference/index.ts';

// `fast` is the default: on the CPU-only machines we measured, its matmul (the JS tile, and
// the wasm SIMD kernel for float32) is 3x to 19x faster than gpu.js's webasm mode (see
// bench/RESULTS.md). `gpu` is opt-in and is created on first use, so gpu.js compiles
// nothing unless asked.
const backends = new Map<string, Backend | (() => Backend)>([
  ['fast', fastBackend],
  ['reference', referenceBackend], // the textbook loops: slow, for reading and as the conformance oracle
  ['gpu', () => createGpuBackend()],
]);
/** Older names that still select a backend: `js` was the fast backend's name before 0.2. */
const aliases = new Map<string, string>([['js', 'fast']]);
let active: Backend | null = null;

/** Makes a backend available to `setBackend` (a factory is called on first use). */
export function registerBackend(name: string, backend: Backend | (() => Backend)): void {
  backends.set(name, backend);
}

/** Names of every registered backend. */
export function listBackends(): string[] {
  return [...backends.keys()];
}

/**
 * Selects the backend for every following op.
 * @example setBackend('fast');
 */
export function setBackend(name: string): Backend {
  name = aliases.get(name) ?? name;
  const entry = backends.get(name);
  if (!entry) throw new Error(`setBackend: unknown backend '${name}' (available: ${listBackends().join(', ')})`);
  const backend = typeof entry === 'function' ? entry() : entry;
  backends.set(name, backend);
  active = backend;
  return backend;
}

/** The active backend (from `TSGRAD_BACKEND` on first use, else `fast`). */
export function getBackend(): Backend {
  if (active === null) {
    const fromEnv = typeof process !== 'undefined' ? process.env.TSGRAD_BACKEND : undefined;
    active = setBackend(fromEnv && fromEnv.length > 0 ? fromEnv : 'fast');
  }
  return active;
}

/** Runs `fn` with `name` as the active backend, restoring the previous one afterwards. */
export function withBackend<T>(name: string, fn: () => T): T {
  const previous = getBackend();
  setBackend(name);
  try {
    return fn();
  } finally {
    active = previous;
  }
}
