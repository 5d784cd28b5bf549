/**
 * The `gpu` backend: the backend primitives as gpu.js kernels. Importing this module
 * (`import '@tsgrad/tensor/gpu'`) registers it as `gpu`, so `setBackend('gpu')` and
 * `TSGRAD_BACKEND=gpu` select it; gpu.js itself loads only when the backend is first
 * created, and `import '@tsgrad/tensor'` alone never touches it.
 *
 * gpu.js (2.24) compiles a JavaScript kernel function for one of several targets:
 * `headlessgl`/`webgl`/`webgl2` (GLSL fragment shaders), `webasm` (WebAssembly with f32x4
 * SIMD; the only fast target on a machine without a GL context) and `cpu` (transpiled
 * JavaScript). Every target computes in float32, so float32 and bool data run as kernels,
 * int32 data only as indices or as the input of a conversion, and everything else is handed
 * to the CPU backend with a one-time notice. Synchronous calls are the only ones tsgrad
 * makes, and gpu.js's webasm target runs synchronous kernels on one thread (its worker pool
 * needs the Promise API).
 *
 * The files, in the order a reader needs them:
 * - `gpujs.ts`: loading gpu.js (an optional dependency) and choosing its mode (`TSGRAD_GPU_MODE`);
 * - `guards.ts`: what goes back to the CPU and why (float64, int32 arithmetic, 2^24 or more
 *   elements, GL special values), with the one-time notices;
 * - `layout.ts`: which storage range of a strided view is uploaded, and host-side copies;
 * - `kernel-sources.ts`: the kernel bodies of every unary and binary op;
 * - `launch.ts`: generating, compiling, caching and running kernels;
 * - `elementwise.ts`, `reduce.ts`, `matmul.ts`, `indexing.ts`: the primitives;
 * - `backend.ts`: `createGpuBackend` binds them into a `Backend`.
 *
 * Measured on the 2-core CPU-only machine (webasm, 2026-11): matmul 2.1-2.2 GFLOP/s
 * (n = 256..1024), above a plain-JS 4-row register tile (1.6) but below the fast
 * backend's packed kernel (3.7-4.0); elementwise ops are bound by copying data in and
 * out of wasm memory, and Math functions without a wasm opcode (exp, log, tanh, ...)
 * are calls from wasm into JavaScript, about 2x slower than the fast backend. So `fast`
 * stays the default and this backend is opt-in.
 * @example
 * import '@tsgrad/tensor/gpu';
 * import { setBackend, matmul, ones } from '@tsgrad/tensor';
 * setBackend('gpu');
 * matmul(ones([64, 64]), ones([64, 64]));
 */
import { explainMissingBackend, registerBackend } from '../registry.ts';
import { createGpuBackend } from './backend.ts';
import { gpuJsInstalled, GPUJS_IN_BROWSER, MISSING_GPUJS, provideGpuJs, type GpuJsConstructor } from './gpujs.ts';

export { createGpuBackend, gpuBackendInfo, type GpuBackendInfo, type GpuBackendOptions } from './backend.ts';

// Created on first use, so importing this module compiles nothing. Without gpu.js installed,
// `gpu` stays unregistered (listBackends() lists only usable backends) and setBackend('gpu')
// says how to install it.
// In a browser gpu.js cannot be found by name: the page registers the backend with the class.
const inNode = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';
if (gpuJsInstalled()) registerBackend('gpu', () => createGpuBackend());
else explainMissingBackend('gpu', inNode ? MISSING_GPUJS : GPUJS_IN_BROWSER);

/**
 * Registers the `gpu` backend with gpu.js's `GPU` class handed in, for a page (where gpu.js
 * cannot be found by name); afterwards `setBackend('gpu')` and `createGpuBackend()` work as in Node.
 * @example
 * import { GPU } from 'gpu.js';
 * useGpuJs(GPU);
 * setBackend('gpu');
 */
export function useGpuJs(GPU: unknown): void {
  provideGpuJs(GPU as GpuJsConstructor);
  registerBackend('gpu', () => createGpuBackend());
}
