/**
 * gpu.js itself: loading it (only when a gpu backend is created, so neither
 * `import '@tsgrad/tensor'` nor `import '@tsgrad/tensor/gpu'` pays for it), the few parts of
 * its API this backend uses, and choosing its mode (`TSGRAD_GPU_MODE`).
 *
 * gpu.js is an optional dependency of @tsgrad/tensor: an install without it
 * (`pnpm install --no-optional`) keeps every other backend, and asking for this one then
 * says how to install it.
 *
 * In Node gpu.js is found with `require` (Node's `createRequire`, looked up at run time so a
 * browser bundle imports no `node:` module). A page has no such loader: it imports gpu.js
 * itself and hands the class in, `createGpuBackend({ gpujs: GPU })`.
 */
import { nodeBuiltin } from '../../node-builtin.ts';

/** A compiled gpu.js kernel: called with its arguments, returns its output. */
export type GpuJsKernel = ((...args: unknown[]) => unknown) & { destroy?: (removeCanvasReferences?: boolean) => void };

/** The part of a gpu.js `GPU` instance this backend uses. */
export interface GpuJsInstance {
  createKernel(source: string, settings: object): GpuJsKernel;
  /** The kernel class gpu.js picked: its `mode` (webasm, cpu, gpu) and, for GL, its class name. */
  Kernel?: { name?: string; mode?: string; isSIMDSupported?: boolean };
}

/** gpu.js's `GPU` class. */
export type GpuJsConstructor = new (settings: { mode: string }) => GpuJsInstance;

/** The modes this backend accepts: gpu.js's synchronous ones (`gpu` lets gpu.js pick). */
export const SUPPORTED_MODES = ['gpu', 'webasm', 'cpu', 'headlessgl', 'webgl', 'webgl2'] as const;

/** What to tell a user whose install has no gpu.js. */
export const MISSING_GPUJS =
  "the 'gpu.js' package is not installed; install gpu.js to use the gpu backend " +
  '(`pnpm add gpu.js@2.24.1` in your project; in the tsgrad repository a plain `pnpm install` ' +
  'installs it, `pnpm install --no-optional` leaves it out)';

/** What to tell a page that asks for the gpu backend without handing gpu.js in. */
export const GPUJS_IN_BROWSER =
  "outside Node, gpu.js cannot be loaded by name: import it and register the backend with it, " +
  "`import { GPU } from 'gpu.js'; registerBackend('gpu', () => createGpuBackend({ gpujs: GPU }))`";

let cached: GpuJsConstructor | null = null;

/**
 * Hands gpu.js's `GPU` class in where it cannot be loaded by name (a browser page, which
 * imports gpu.js itself); `loadGpuJs` then returns it. See `useGpuJs` in ./index.ts.
 */
export function provideGpuJs(GPU: GpuJsConstructor): void {
  if (typeof GPU !== 'function') throw new Error("gpu backend: provideGpuJs expects gpu.js's GPU class");
  cached = GPU;
}

/** Node's `require` for this module, or undefined outside Node. */
function nodeRequire(): NodeJS.Require | undefined {
  return nodeBuiltin<typeof import('node:module')>('node:module')?.createRequire(import.meta.url);
}

/**
 * Loads gpu.js's `GPU` class, or throws with {@link MISSING_GPUJS} when gpu.js is not installed.
 * `load` is the module loader (a test passes one that fails); gpu.js is CommonJS, so a
 * synchronous `require` keeps `createGpuBackend` synchronous.
 * @example const GPU = loadGpuJs(); new GPU({ mode: 'cpu' });
 */
export function loadGpuJs(load?: (id: string) => unknown): GpuJsConstructor {
  if (!load && cached) return cached;
  let mod: { GPU?: GpuJsConstructor };
  try {
    const req = load ?? nodeRequire();
    if (!req) throw new Error(`gpu backend: ${GPUJS_IN_BROWSER}`);
    mod = req('gpu.js') as { GPU?: GpuJsConstructor };
  } catch (e) {
    const err = e as { code?: string; message?: string };
    // only gpu.js itself missing gets the install hint; a broken install keeps its own error
    if (err.code === 'MODULE_NOT_FOUND' && /['"]gpu\.js['"]/.test(err.message ?? '')) throw new Error(`gpu backend: ${MISSING_GPUJS}`, { cause: e });
    throw e;
  }
  if (typeof mod.GPU !== 'function') throw new Error("gpu backend: the 'gpu.js' package has no GPU class (expected gpu.js 2.x)");
  if (!load) cached = mod.GPU;
  return mod.GPU;
}

/** The mode asked for: the option, else `TSGRAD_GPU_MODE`, else `gpu`. */
export function requestedMode(option: string | undefined): string {
  const env = typeof process !== 'undefined' ? process.env.TSGRAD_GPU_MODE : undefined;
  return option ?? (env && env.length > 0 ? env : 'gpu');
}

/** A started gpu.js instance and the target it compiles for. */
export interface StartedGpu {
  gpu: GpuJsInstance;
  /** The gpu.js target, e.g. `webasm` or `headlessgl`. */
  mode: string;
  /** Whether the target is GLSL (no IEEE guarantees; see guards.ts and kernel-sources.ts). */
  glLike: boolean;
  /** Whether webasm emits f32x4 SIMD (null for other targets). */
  simd: boolean | null;
}

/** Starts gpu.js (`GPU`, else the installed one) in `requested` mode, naming the mode in every error. */
export function startGpu(requested: string, GPU?: GpuJsConstructor): StartedGpu {
  if (!(SUPPORTED_MODES as readonly string[]).includes(requested)) {
    const why =
      requested === 'webgpu' || requested === 'async'
        ? `its kernels return Promises and tsgrad's API is synchronous`
        : 'it is not a gpu.js mode this backend knows';
    throw new Error(`gpu backend: mode '${requested}' is not supported (${why}); use one of ${SUPPORTED_MODES.join(', ')}`);
  }
  const Gpu = GPU ?? loadGpuJs();
  let gpu: GpuJsInstance;
  try {
    gpu = new Gpu({ mode: requested });
  } catch (e) {
    const hint = requested === 'headlessgl' ? ' (headless-gl must be built from source: see scripts/test-gl.sh)' : '';
    throw new Error(`gpu backend: gpu.js cannot start mode '${requested}'${hint}: ${(e as Error).message}`);
  }
  const kernelClass = gpu.Kernel;
  // every GL kernel class reports mode 'gpu'; its class name says which GL target it is
  const glName: Record<string, string> = { HeadlessGLKernel: 'headlessgl', WebGLKernel: 'webgl', WebGL2Kernel: 'webgl2' };
  const mode = glName[kernelClass?.name ?? ''] ?? kernelClass?.mode ?? requested;
  const glLike = mode !== 'webasm' && mode !== 'cpu';
  return { gpu, mode, glLike, simd: mode === 'webasm' ? Boolean(kernelClass?.isSIMDSupported) : null };
}

/** Whether the `gpu.js` package can be found, without loading it (always false outside Node). */
export function gpuJsInstalled(resolve: ((id: string) => string) | undefined = nodeRequire()?.resolve): boolean {
  if (!resolve) return false;
  try {
    resolve('gpu.js');
    return true;
  } catch {
    return false;
  }
}
