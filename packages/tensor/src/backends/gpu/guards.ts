/**
 * Guards: the cases that gpu.js kernels would get wrong, handed back to the CPU (`fast`)
 * backend with one console notice per op and reason. gpu.js computes in float32 only, and
 * kernel index arithmetic is float32 too, so float64 data, int32 arithmetic and arrays of
 * 2^24 or more elements never reach a kernel; on GL targets, values GL arithmetic mishandles
 * (subnormals, large sin/cos arguments, pow far from 1) don't either. Results that underflow
 * into the subnormal range on GL still come back as zero (an absolute error below 2^-126).
 */
import type { Backend } from '../../backend.ts';
import type { DType } from '../../dtype.ts';
import type { NDArray } from '../../ndarray.ts';
import { shapeToString } from '../../shape.ts';
import { fastBackend } from '../fast/index.ts';
import { operand } from './layout.ts';

/** Cases always handed to the CPU backend (listed by `gpuBackendInfo().delegatedCases`). */
export const DELEGATED_CASES = [
  'float64 inputs or outputs',
  'int32 data other than indices and int32 -> float32/bool casts (float32 kernels are exact only below 2^24)',
  'arrays or views spanning 2^24 or more elements (kernel index arithmetic is float32)',
  'empty arrays (gpu.js cannot launch a kernel with no output)',
] as const;

/** Cases handed to the CPU backend on GL targets only (webasm computes them natively). */
export const GL_DELEGATED_CASES = [
  'float32 inputs holding subnormal values (GL arithmetic flushes them to zero)',
  `sin/cos of finite |x| above ${2 ** 16} (GL argument reduction fails for large x)`,
  'pow with |y| above 4 or |y log2 x| above 8 (GLSL pow, exp2(y log2 x) in float32, drifts past 1e-6 relative)',
] as const;

/** Float32 represents every integer below 2^24 exactly; kernel index arithmetic relies on it. */
export const EXACT_LIMIT = 2 ** 24;

/**
 * Largest |x| that GL sin/cos take. headless-gl here (ANGLE, software rendering) stays within 6e-8 of the js backend up to 1e7
 * and is wrong by up to 2 from about 3e7; GPU drivers reduce arguments less carefully, so the
 * bound is kept well below that.
 */
export const TRIG_LIMIT = 65536;

/**
 * Bounds under which GL pow runs as a kernel: |y| <= 4 and |y log2 x| <= 8 (results within
 * 2^-8..2^8). Measured on headless-gl here, the worst relative error against Math.pow was 5.7e-7;
 * with |y| up to 16 it reached 1.5e-6, and with |y log2 x| = 100 (1e30^1) 1.1e-6.
 */
export const POW_MAX_EXPONENT = 4;
export const POW_LIMIT = 8;

/** Smallest positive normal float32; nonzero values below it in magnitude are subnormal. */
const MIN_NORMAL = 2 ** -126;

function hasSubnormal(values: Float32Array): boolean {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v !== 0 && v < MIN_NORMAL && v > -MIN_NORMAL) return true;
  }
  return false;
}

/**
 * A bound on |y log2 |x|| over every finite, nonzero x in `xs` and finite y in `ys` (the log2 of
 * the result's magnitude): GL pow's float32 exp2(y log2 x) has a relative error near that bound
 * times 2^-24, so above {@link POW_LIMIT} the result could differ from Math.pow by more than 1e-6.
 */
function powMagnitude(xs: Float32Array, ys: Float32Array): number {
  let lx = 0;
  for (let i = 0; i < xs.length; i++) {
    const a = Math.abs(xs[i]!);
    if (a !== 0 && a !== Infinity) {
      const l = Math.abs(Math.log2(a));
      if (l > lx) lx = l;
    }
  }
  return lx === 0 ? 0 : lx * largestFinite(ys);
}

export function largestFinite(values: Float32Array): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) {
    const a = Math.abs(values[i]!);
    if (a > m && a !== Infinity) m = a;
  }
  return m;
}

/** Why an op cannot run as a kernel (null when it can), and where it goes instead. */
export interface Guards {
  /** The CPU backend for `op`, printing `reason` once per op and reason. */
  fallback(op: string, reason: string): Backend;
  /** Why `x` cannot be read by a float32 kernel as plain data (int32 only as indices when `allowInt`). */
  dataProblem(x: NDArray, allowInt?: boolean): string | null;
  /** Why `x` is too large for float32 index arithmetic. */
  sizeProblem(x: NDArray): string | null;
  /** Why float32 arithmetic would not give the CPU backend's exact values for these inputs and output dtype. */
  elementwiseProblem(inputs: NDArray[], outDtype: DType): string | null;
  /** GL only: why sin/cos of `x` would lose accuracy. */
  trigProblem(x: NDArray): string | null;
  /** GL only: why pow(a, b) would drift past 1e-6 relative. */
  powProblem(a: NDArray, b: NDArray): string | null;
  /** Every `op: reason` that fell back so far, in order. */
  readonly warned: ReadonlySet<string>;
}

/**
 * The guards of one gpu backend. `glLike` turns on the GL-only checks; `warn` receives each
 * notice once.
 */
export function createGuards(glLike: boolean, warn: (message: string) => void): Guards {
  const warned = new Set<string>();
  const sizeProblem = (x: NDArray): string | null => {
    const span = operand(x).upload.length;
    if (x.size >= EXACT_LIMIT || span >= EXACT_LIMIT) {
      return `got an array of shape ${shapeToString(x.shape)} spanning ${Math.max(span, x.size)} elements (kernel indexing is exact only below 2^24)`;
    }
    return null;
  };
  const dataProblem = (x: NDArray, allowInt = false): string | null => {
    if (x.dtype === 'float64') return 'got float64 input (gpu.js kernels are float32 only)';
    if (x.dtype === 'int32' && !allowInt) return 'got int32 input (float32 kernels are exact only below 2^24)';
    const size = sizeProblem(x);
    if (size) return size;
    // GL arithmetic flushes subnormal inputs to zero (sign(1e-40) gave 0, 1e-40 == 0 gave true)
    if (glLike && x.dtype === 'float32' && hasSubnormal(operand(x).upload as Float32Array)) {
      return 'got subnormal float32 values (GL arithmetic flushes them to zero)';
    }
    return null;
  };
  return {
    warned,
    sizeProblem,
    dataProblem,
    fallback(op, reason) {
      const key = `${op}: ${reason}`;
      if (!warned.has(key)) {
        warned.add(key);
        warn(`tsgrad gpu backend: ${op} ${reason}; it runs on the js backend instead (shown once)`);
      }
      return fastBackend;
    },
    elementwiseProblem(inputs, outDtype) {
      if (outDtype === 'float64') return 'got a float64 output (gpu.js kernels are float32 only)';
      for (const x of inputs) {
        const p = dataProblem(x);
        if (p) return p;
      }
      if (outDtype === 'int32' && !inputs.every((x) => x.dtype === 'bool')) {
        return 'got an int32 output (float32 kernels are exact only below 2^24)';
      }
      return null;
    },
    trigProblem(x) {
      if (!glLike || x.dtype !== 'float32' || largestFinite(operand(x).upload as Float32Array) <= TRIG_LIMIT) return null;
      return `got finite |x| above ${TRIG_LIMIT} (GL sin/cos lose their argument reduction for large x)`;
    },
    powProblem(a, b) {
      if (!glLike) return null;
      const ys = operand(b).upload as Float32Array;
      if (largestFinite(ys) <= POW_MAX_EXPONENT && powMagnitude(operand(a).upload as Float32Array, ys) <= POW_LIMIT) return null;
      return `got |y| above ${POW_MAX_EXPONENT} or |y log2 x| possibly above ${POW_LIMIT} (GLSL pow is exp2(y log2 x) in float32, within 1e-6 of Math.pow only below those)`;
    },
  };
}
