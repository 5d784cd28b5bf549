/**
 * Which backend runs the primitives. One backend is active per process; choose it
 * with `setBackend(name)` or the `TSGRAD_BACKEND` environment variable.
 */
import type { Backend } from '../backend.ts';
import { fastBackend } from './fast/index.ts';
import { referenceBackend } from './reference/index.ts';

// `fast` is the default: on the CPU-only machines we measured, its matmul (the JS tile, and
// the wasm SIMD kernel for float32) is 3x to 19x faster than gpu.js's webasm mode (see
// bench/RESULTS.md). `gpu` is opt-in: it registers itself when '@tsgrad/tensor/gpu' is
// imported, so `import '@tsgrad/tensor'` never loads gpu.js.
const backends = new Map<string, Backend | (() => Backend)>([
  ['fast', fastBackend],
  ['reference', referenceBackend], // the textbook loops: slow, for reading and as the conformance oracle
]);
/** What `setBackend` says about a known backend that is not registered (yet). */
const missing = new Map<string, string>([
  ['gpu', "import '@tsgrad/tensor/gpu' first (the gpu.js backend registers itself when imported)"],
]);
/** Older names that still select a backend: `js` was the fast backend's name before 0.2. */
const aliases = new Map<string, string>([['js', 'fast']]);
let active: Backend | null = null;

/** Makes a backend available to `setBackend` (a factory is called on first use). */
export function registerBackend(name: string, backend: Backend | (() => Backend)): void {
  backends.set(name, backend);
}

/**
 * Tells `setBackend(name)` what to say while `name` is not registered (e.g. a missing package).
 * @example explainMissingBackend('webgpu', "install my-webgpu-backend and import it first");
 */
export function explainMissingBackend(name: string, how: string): void {
  missing.set(name, how);
}

/** Names of every registered backend (a backend that needs an import is listed once imported). */
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
  if (!entry) {
    const how = missing.get(name);
    const available = `available: ${listBackends().join(', ')}`;
    throw new Error(how ? `setBackend: backend '${name}' is not registered; ${how} (${available})` : `setBackend: unknown backend '${name}' (${available})`);
  }
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
