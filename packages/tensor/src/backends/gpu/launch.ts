/**
 * Launching kernels: generating a kernel's source once per signature, compiling it with
 * gpu.js, caching it (least recently used kernels past `maxKernels` are destroyed), calling it,
 * and reading its output back as flat float32.
 *
 * Kernels are cached by a signature (primitive, op, shapes, strides) plus output and argument
 * sizes; the source is generated and compiled on the first call only, so nothing recompiles
 * once shapes are stable. Shapes and strides are literals in the source, which is why a new
 * shape means a new kernel.
 */
import type { TypedArray } from '../../dtype.ts';
import { sizeOf } from '../../shape.ts';
import type { GpuJsInstance, GpuJsKernel } from './gpujs.ts';
import type { Guards } from './guards.ts';
import { flatOutput } from './layout.ts';

/** What a primitive needs to run kernels: the launcher, the guards, and whether the target is GL. */
export interface KernelContext extends Launcher, Guards {
  glLike: boolean;
}

/** Compiles, caches and runs kernels for one gpu.js instance. */
export interface Launcher {
  /**
   * Runs a kernel and returns its output as flat float32. `sig` must determine the source
   * that `build` returns (body lines over params x0, x1, ...): source is generated and
   * compiled only the first time a signature, output size and argument sizes are seen.
   * `loopMax` bounds the kernel's loops; `comps` is the length of an Array(n) result.
   */
  launch(sig: string, build: () => string[], output: number[], args: TypedArray[], loopMax: number, comps?: number): Float32Array;
  /**
   * Statements that split the flat id `flat` into coordinates over `shape` (row-major);
   * returns the coordinate expressions (`'0'` for size-1 axes).
   */
  decompose(flat: string, shape: readonly number[], prefix: string): { code: string; coords: string[] };
  /** Kernels compiled so far, kernels in the cache, and kernel launches. */
  stats(): { compiled: number; cached: number; calls: number };
}

/** The launcher of one gpu.js instance. */
export function createLauncher(gpu: GpuJsInstance, glLike: boolean, maxKernels: number): Launcher {
  const kernels = new Map<string, GpuJsKernel>();
  let compiled = 0;
  let calls = 0;

  /**
   * floor(num / den) as kernel source (exact for non-negative integers below 2^24). GL targets
   * divide in float with no correctly-rounded guarantee, so there quotients get a half-unit nudge.
   */
  const quotient = (num: string, den: number): string =>
    glLike ? `Math.floor((${num} + 0.5) / ${den})` : `Math.floor(${num} / ${den})`;

  const decompose = (flat: string, shape: readonly number[], prefix: string): { code: string; coords: string[] } => {
    const coords = new Array<string>(shape.length).fill('0');
    const lines: string[] = [];
    let cur = flat;
    let first = -1;
    for (let d = 0; d < shape.length; d++) {
      if (shape[d] !== 1) {
        first = d;
        break;
      }
    }
    for (let d = shape.length - 1; d > first; d--) {
      const n = shape[d]!;
      if (n === 1) continue;
      const q = `${prefix}q${d}`;
      lines.push(`const ${q} = ${quotient(cur, n)};`);
      lines.push(`const ${prefix}c${d} = ${cur} - ${q} * ${n};`);
      coords[d] = `${prefix}c${d}`;
      cur = q;
    }
    if (first >= 0) coords[first] = cur;
    return { code: lines.join('\n'), coords };
  };

  const launch = (sig: string, build: () => string[], output: number[], args: TypedArray[], loopMax: number, comps = 1): Float32Array => {
    const key = `${sig}|${output.join('x')}|${args.map((a) => a.length).join(',')}|${loopMax}`;
    let kernel = kernels.get(key);
    if (kernel) {
      kernels.delete(key);
      kernels.set(key, kernel);
    } else {
      const params = args.map((_, k) => `x${k}`);
      const source = `function(${params.join(', ')}) {\n${build().filter((l) => l.length > 0).join('\n')}\n}`;
      // loopMaxIterations caps loops whose bounds gpu.js cannot prove (GL needs it; its typings omit it)
      const settings = { output, loopMaxIterations: Math.max(loopMax, 1), precision: 'single', tactic: 'precision' };
      kernel = gpu.createKernel(source, settings);
      compiled++;
      kernels.set(key, kernel);
      while (kernels.size > maxKernels) {
        const [oldKey, old] = kernels.entries().next().value as [string, GpuJsKernel];
        kernels.delete(oldKey);
        old.destroy?.();
      }
    }
    // webasm and cpu read any typed array; GL targets are only sure of Float32Array
    const values = glLike ? args.map((a) => (a instanceof Float32Array ? a : Float32Array.from(a))) : args;
    calls++;
    const result = kernel(...values);
    // webasm and cpu return fresh arrays per call; GL readbacks are copied in case gpu.js reuses them
    return flatOutput(result, sizeOf(output) * comps, !glLike);
  };

  return { launch, decompose, stats: () => ({ compiled, cached: kernels.size, calls }) };
}
