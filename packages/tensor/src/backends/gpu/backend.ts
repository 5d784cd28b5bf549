/**
 * `createGpuBackend`: starts gpu.js, builds the guards and the launcher, and binds each
 * primitive to them as a `Backend`; `gpuBackendInfo` reports what it ran on.
 */
import type { Backend } from '../../backend.ts';
import { assign, binary, cast, unary, where } from './elementwise.ts';
import { requestedMode, startGpu, type GpuJsConstructor } from './gpujs.ts';
import { createGuards, DELEGATED_CASES, GL_DELEGATED_CASES } from './guards.ts';
import { gather, indexAdd, indexSelect, scatterAdd } from './indexing.ts';
import { createLauncher, type KernelContext } from './launch.ts';
import { matmul } from './matmul.ts';
import { argReduce, reduce } from './reduce.ts';

/** Options of {@link createGpuBackend}. */
export interface GpuBackendOptions {
  /**
   * gpu.js mode: `webasm`, `cpu`, `headlessgl`, `webgl`, `webgl2`, or `gpu` (gpu.js picks
   * the best it can start). Defaults to the `TSGRAD_GPU_MODE` environment variable, else `gpu`.
   */
  mode?: string;
  /** Most compiled kernels kept; the least recently used beyond this are destroyed. Default 256. */
  maxKernels?: number;
  /** Receives the one-time fallback notices instead of `console.warn`. */
  warn?: (message: string) => void;
  /**
   * gpu.js's `GPU` class to use instead of loading the installed `gpu.js` package (e.g. the
   * one a browser bundle imported).
   */
  gpujs?: GpuJsConstructor;
}

/** What a gpu backend ran on and what it handed to the `js` backend. */
export interface GpuBackendInfo {
  /** The mode asked for (option, `TSGRAD_GPU_MODE`, or `gpu`). */
  requestedMode: string;
  /** The gpu.js target that compiles the kernels, e.g. `webasm` or `headlessgl`. */
  mode: string;
  /** Whether the webasm target emits f32x4 SIMD (null for other targets). */
  simd: boolean | null;
  /** Primitives that run as gpu.js kernels for float32/bool data. */
  native: readonly string[];
  /** Cases always handed to the `js` backend (on GL targets, including the GL-only ones). */
  delegatedCases: readonly string[];
  /** Fallbacks that actually happened in this process, as `op: reason`. */
  fallbacks: string[];
  /** Kernels compiled so far, kernels in the cache, and kernel launches. */
  kernelsCompiled: number;
  kernelsCached: number;
  kernelCalls: number;
}

const NATIVE_PRIMITIVES = [
  'unary',
  'binary',
  'where',
  'reduce',
  'argReduce',
  'matmul',
  'cast',
  'assign',
  'gather',
  'scatterAdd',
  'indexSelect',
  'indexAdd',
] as const;

/** Per-backend state behind the `Backend` object, for {@link gpuBackendInfo}. */
const states = new WeakMap<Backend, () => GpuBackendInfo>();
let lastCreated: Backend | null = null;

/**
 * Creates the gpu.js backend, loading gpu.js on first use. Throws, naming the mode, when
 * gpu.js cannot start it (e.g. `headlessgl` without a built `gl` package), and says how to
 * install gpu.js when it is missing.
 * @example
 * import { registerBackend, setBackend } from '@tsgrad/tensor';
 * import { createGpuBackend } from '@tsgrad/tensor/gpu';
 * registerBackend('gpu-cpu', createGpuBackend({ mode: 'cpu' }));
 * setBackend('gpu-cpu');
 */
export function createGpuBackend(options: GpuBackendOptions = {}): Backend {
  const requested = requestedMode(options.mode);
  const { gpu, mode, glLike, simd } = startGpu(requested, options.gpujs);
  const guards = createGuards(glLike, options.warn ?? ((m: string) => console.warn(m)));
  const launcher = createLauncher(gpu, glLike, options.maxKernels ?? 256);
  const ctx: KernelContext = { ...guards, ...launcher, glLike };
  const backend: Backend = {
    name: 'gpu',
    unary: (op, x, outDtype) => unary(ctx, op, x, outDtype),
    binary: (op, a, b, outDtype) => binary(ctx, op, a, b, outDtype),
    where: (cond, a, b, outDtype) => where(ctx, cond, a, b, outDtype),
    reduce: (op, x, axes) => reduce(ctx, op, x, axes),
    argReduce: (op, x, axis) => argReduce(ctx, op, x, axis),
    matmul: (a, b) => matmul(ctx, a, b),
    cast: (x, dtype) => cast(ctx, x, dtype),
    assign: (dst, src) => assign(ctx, dst, src),
    gather: (x, axis, index) => gather(ctx, x, axis, index),
    scatterAdd: (dst, axis, index, src) => scatterAdd(ctx, dst, axis, index, src),
    indexSelect: (x, axis, index) => indexSelect(ctx, x, axis, index),
    indexAdd: (dst, axis, index, src) => indexAdd(ctx, dst, axis, index, src),
  };
  states.set(backend, () => {
    const { compiled, cached, calls } = launcher.stats();
    return {
      requestedMode: requested,
      mode,
      simd,
      native: NATIVE_PRIMITIVES,
      delegatedCases: glLike ? [...DELEGATED_CASES, ...GL_DELEGATED_CASES] : DELEGATED_CASES,
      fallbacks: [...guards.warned],
      kernelsCompiled: compiled,
      kernelsCached: cached,
      kernelCalls: calls,
    };
  });
  lastCreated = backend;
  return backend;
}

/**
 * Reports what a gpu backend runs on: the gpu.js mode, which primitives run as kernels,
 * what was handed to the js backend, and kernel counts. Without an argument it describes
 * the most recently created gpu backend (creating one if there is none).
 * @example console.log(gpuBackendInfo().mode); // 'webasm' on a machine without GL
 */
export function gpuBackendInfo(backend?: Backend): GpuBackendInfo {
  const b = backend ?? lastCreated ?? createGpuBackend();
  const state = states.get(b);
  if (!state) throw new Error(`gpuBackendInfo: backend '${b.name}' was not made by createGpuBackend`);
  return state();
}
