/**
 * jax-js's side: the `wasm` device (its default; WebAssembly it generates itself).
 * In Node it needs a `navigator` object before it loads. jax-js arrays are reference
 * counted and every function consumes its arguments, so inputs are passed as `.ref`.
 */
import type * as Jax from '@jax-js/jax';

let jax: typeof Jax | null = null;

/** Loads jax-js on its wasm device (once). */
export async function load(): Promise<typeof Jax> {
  if (jax) return jax;
  const g = globalThis as { navigator?: unknown };
  g.navigator ??= { hardwareConcurrency: 2, userAgent: 'Node.js' };
  const mod = await import('@jax-js/jax');
  const devices = await mod.init();
  if (!devices.includes('wasm')) throw new Error(`jax-js: no wasm device (found ${devices.join(', ')})`);
  mod.defaultDevice('wasm');
  jax = mod;
  return mod;
}

export function matmulCase(j: typeof Jax, n: number, a: Float32Array, b: Float32Array): () => unknown {
  const x = j.numpy.array(a, { shape: [n, n] });
  const y = j.numpy.array(b, { shape: [n, n] });
  return () => j.numpy.matmul(x.ref, y.ref).dataSync();
}

export function softmaxCase(j: typeof Jax, rows: number, cols: number, data: Float32Array): () => unknown {
  const x = j.numpy.array(data, { shape: [rows, cols] });
  return () => j.nn.softmax(x.ref, -1).dataSync();
}
