/**
 * The `gpu` backend: the backend primitives as gpu.js kernels.
 *
 * gpu.js (2.24) compiles a JavaScript kernel function for one of several targets:
 * `headlessgl`/`webgl`/`webgl2` (GLSL fragment shaders), `webasm` (WebAssembly with
 * f32x4 SIMD; the only fast target on a machine without a GL context) and `cpu`
 * (transpiled JavaScript). Every target computes in float32, so:
 * - float32 and bool data run as kernels; int32 data runs as kernels only as an index
 *   (gather/scatter positions, which are exact below 2^24) or as the input of a
 *   conversion to float32; float64 anything, int32 arithmetic and arrays of 2^24 or
 *   more elements (index arithmetic inside kernels is float32) are handed to the `js`
 *   backend, with one console notice per op and reason.
 * - Strided inputs are not copied: each kernel is generated for its operands' shapes
 *   and strides (literals in the source, after merging dimensions that are laid out
 *   contiguously together), and only the storage range a view touches is uploaded.
 *   Broadcast (stride-0) operands therefore upload only their distinct elements.
 * - Kernels are cached by a signature (primitive, op, shapes, strides) plus output and
 *   argument sizes; the source is generated and compiled on the first call only, so
 *   nothing recompiles once shapes are stable (least recently used kernels past
 *   `maxKernels` are destroyed).
 * - matmul gives each thread four rows of one output column (an Array(4) result), so
 *   each element of b read serves four multiply-adds; b is copied column-major first
 *   unless its columns are already contiguous (x @ W^T), and a row count that is not a
 *   multiple of four is zero-padded on the host.
 *
 * GL targets (GLSL ES 1.0) have no IEEE guarantees, so there: kernels never write Infinity as a
 * literal (gpu.js turns it into 3.4e38; NaN/Infinity come in as data), NaN checks are explicit
 * (`v != v`, which the stack honours, unlike `v - v == 0`), pow decides every special case of
 * Math.pow itself, tanh/expm1/log1p avoid overflow and cancellation, and three cases go to the
 * `js` backend with the usual notice: subnormal inputs (flushed to zero), sin/cos beyond 2^16,
 * and pow with |y| > 4 or |y log2 x| > 8 (GLSL pow drifts past 1e-6). Results that underflow
 * into the subnormal range still come back as zero (an absolute error below 2^-126).
 *
 * gpu.js has no in-place writes, so `assign`, `scatterAdd` and `indexAdd` compute the
 * new values in a kernel and copy them into the destination view on the host.
 * Scatters are turned into gathers: the host groups source positions by target
 * (a stable counting sort), and each output element sums its own group in the same
 * order as the `js` backend, so on float32 targets (webasm) the sums match it exactly.
 *
 * Measured on the 2-core CPU-only machine (webasm, 2026-11): matmul 2.1-2.2 GFLOP/s
 * (n = 256..1024), above a plain-JS 4-row register tile (1.6) but below the js
 * backend's packed kernel (3.7-4.0); elementwise ops are bound by copying data in and
 * out of wasm memory, and Math functions without a wasm opcode (exp, log, tanh, ...)
 * are calls from wasm into JavaScript, about 2x slower than the js backend. So `js`
 * stays the default and this backend is opt-in.
 *
 * Synchronous calls are the only ones tsgrad makes, and gpu.js's webasm target runs
 * synchronous kernels on one thread (its worker pool needs the Promise API).
 */
import { GPU, type IGPUKernelSettings } from 'gpu.js';
import type { Backend, BinaryOp, ReduceOp, UnaryOp } from '../../backend.ts';
import { allocate, type DType, type TypedArray } from '../../dtype.ts';
import { NDArray } from '../../ndarray.ts';
import { contiguousStrides, shapeToString, sizeOf } from '../../shape.ts';
import { fastBackend } from '../fast/index.ts';

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

const DELEGATED_CASES = [
  'float64 inputs or outputs',
  'int32 data other than indices and int32 -> float32/bool casts (float32 kernels are exact only below 2^24)',
  'arrays or views spanning 2^24 or more elements (kernel index arithmetic is float32)',
  'empty arrays (gpu.js cannot launch a kernel with no output)',
] as const;

/** Cases handed to the `js` backend on GL targets only (webasm computes them natively). */
const GL_DELEGATED_CASES = [
  'float32 inputs holding subnormal values (GL arithmetic flushes them to zero)',
  `sin/cos of finite |x| above ${2 ** 16} (GL argument reduction fails for large x)`,
  'pow with |y| above 4 or |y log2 x| above 8 (GLSL pow, exp2(y log2 x) in float32, drifts past 1e-6 relative)',
] as const;

/** Float32 represents every integer below 2^24 exactly; kernel index arithmetic relies on it. */
const EXACT_LIMIT = 2 ** 24;

/**
 * Largest |x| that GL sin/cos take. headless-gl here (ANGLE, software rendering) stays within 6e-8 of the js backend up to 1e7
 * and is wrong by up to 2 from about 3e7; GPU drivers reduce arguments less carefully, so the
 * bound is kept well below that.
 */
const TRIG_LIMIT = 65536;

/**
 * Bounds under which GL pow runs as a kernel: |y| <= 4 and |y log2 x| <= 8 (results within
 * 2^-8..2^8). Measured on headless-gl here, the worst relative error against Math.pow was 5.7e-7;
 * with |y| up to 16 it reached 1.5e-6, and with |y log2 x| = 100 (1e30^1) 1.1e-6.
 */
const POW_MAX_EXPONENT = 4;
const POW_LIMIT = 8;

/** Constants a GL kernel cannot write as literals (gpu.js turns `Infinity` into 3.4e38): NaN, +Infinity. */
const GL_CONSTS = new Float32Array([NaN, Infinity]);

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

function largestFinite(values: Float32Array): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) {
    const a = Math.abs(values[i]!);
    if (a > m && a !== Infinity) m = a;
  }
  return m;
}

type KernelRun = ((...args: unknown[]) => unknown) & { destroy?: (removeCanvasReferences?: boolean) => void };

/** A strided input prepared for a kernel: the storage range it touches, and where its element 0 sits. */
interface Operand {
  upload: TypedArray;
  base: number;
  strides: number[];
}

function operand(x: NDArray): Operand {
  let lo = x.offset;
  let hi = x.offset;
  const strides: number[] = [];
  for (let d = 0; d < x.ndim; d++) {
    // the stride of a size-1 axis never moves the position; zeroing it lets more kernels share a key
    const s = x.shape[d] === 1 ? 0 : x.strides[d]!;
    strides.push(s);
    const span = (x.shape[d]! - 1) * s;
    if (span < 0) lo += span;
    else hi += span;
  }
  return { upload: x.data.subarray(lo, hi + 1), base: x.offset - lo, strides };
}

/**
 * Merges neighbouring axes that every operand walks as one (stride[d] = stride[d+1] * shape[d+1])
 * and drops size-1 axes, so contiguous inputs index with the flat thread id and nothing else.
 */
function coalesce(shape: readonly number[], strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    const n = shape[d]!;
    if (n === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, k) => outStrides[k]![last] === s[d]! * n)) {
      outShape[last] = outShape[last]! * n;
      strides.forEach((s, k) => (outStrides[k]![last] = s[d]!));
    } else {
      outShape.push(n);
      strides.forEach((s, k) => outStrides[k]!.push(s[d]!));
    }
  }
  if (outShape.length === 0) return { shape: [1], strides: strides.map(() => [0]) };
  return { shape: outShape, strides: outStrides };
}

/** `a + b * c` as kernel source, leaving out zero terms and unit factors. */
function linear(base: number, terms: readonly (readonly [string, number])[]): string {
  const parts: string[] = [];
  if (base !== 0) parts.push(String(base));
  for (const [coord, stride] of terms) {
    if (stride === 0 || coord === '0') continue;
    parts.push(stride === 1 ? coord : `${coord} * ${stride}`);
  }
  return parts.length === 0 ? '0' : parts.join(' + ');
}

/** Truthiness as JavaScript defines it for numbers (NaN and 0 are false); `v` must be a plain name. */
function truthy(v: string): string {
  return `(${v} == ${v} && ${v} != 0)`;
}

/** Kernel source computing `ef = erf(z)`: Maclaurin series below 0.5, A&S 7.1.26 above (abs. error 1.5e-7). */
function erfSource(z: string): string {
  return [
    `const ez = ${z};`,
    'const eax = Math.abs(ez);',
    'let ef = 0;',
    'if (eax < 0.5) {',
    '  const ez2 = ez * ez;',
    // 2/sqrt(pi) * (z - z^3/3 + z^5/10 - z^7/42 + z^9/216 - z^11/1320), A&S 7.1.5
    '  ef = 1.1283791670955126 * ez * (1 + ez2 * (-0.3333333333333333 + ez2 * (0.1 + ez2 * (-0.023809523809523808 + ez2 * (0.004629629629629629 + ez2 * -0.0007575757575757576)))));',
    '} else {',
    '  const et = 1 / (1 + 0.3275911 * eax);',
    '  const ey = 1 - ((((1.061405429 * et - 1.453152027) * et + 1.421413741) * et - 0.284496736) * et + 0.254829592) * et * Math.exp(-eax * eax);',
    '  ef = ez < 0 ? -ey : ey;',
    '}',
  ].join('\n');
}

/** The largest finite float32; gpu.js writes `Infinity` into GLSL as this value, so kernels never name it. */
const FLT_MAX = '3.4028234663852886e38';

/**
 * Kernel statements setting `th = tanh(z)` on GL targets. gpu.js's GLSL tanh is
 * (e^2z - 1) / (e^2z + 1): NaN once e^2z overflows (z > 44) and no relative accuracy near 0
 * (tanh(1e-30) came out 3e-8). float32 tanh rounds to +-1 beyond |z| = 9.01, and below 0.125
 * the Taylor series to z^7 is exact to 1e-9 relative.
 */
function tanhSourceGl(z: string): string {
  return [
    `const tz = ${z};`,
    'let th = tz;',
    'if (tz > 10) { th = 1; } else { if (tz < -10) { th = -1; } else {',
    '  if (Math.abs(tz) < 0.125) { const tz2 = tz * tz; th = tz * (1 + tz2 * (-0.3333333333333333 + tz2 * (0.13333333333333333 + tz2 * -0.05396825396825397))); }',
    '  else { const te = Math.exp(2 * tz); th = (te - 1) / (te + 1); }',
    '} }',
  ].join('\n');
}

/**
 * Kernel statements mapping `v` to the result of a unary op (ending in `return`). `gl` selects
 * formulations for GLSL targets, whose compilers (headless-gl's ANGLE stack here) fold `v - v` to 0 and turn
 * `v <= 0 ? 0 : v` into a NaN-dropping max, and whose helpers lose relative accuracy near 0.
 */
function unarySource(op: UnaryOp, gl: boolean): string {
  if (gl) {
    switch (op) {
      case 'tanh':
        return `${tanhSourceGl('v')}\nreturn th;`;
      case 'gelu':
        return `${tanhSourceGl('0.7978845608028654 * (v + 0.044715 * v * v * v)')}\nreturn 0.5 * v * (1 + th);`;
      case 'relu':
        return 'if (v != v) { return v; }\nreturn v <= 0 ? 0 : v;';
      case 'isfinite':
        // NaN fails the first test, +-Inf the second
        return `return (v == v && Math.abs(v) <= ${FLT_MAX}) ? 1 : 0;`;
      case 'expm1':
        // exp(v) - 1 cancels near 0; the series to v^5 is exact to 5e-10 relative below 0.05
        return 'if (Math.abs(v) < 0.05) { return v * (1 + v * (0.5 + v * (0.16666666666666666 + v * (0.041666666666666664 + v * 0.008333333333333333)))); }\nreturn Math.exp(v) - 1;';
      case 'log1p':
        // log(1 + v) loses v's low bits near 0; the series to v^6 is exact to 3e-9 relative below 0.05
        return 'if (Math.abs(v) < 0.05) { return v * (1 - v * (0.5 - v * (0.3333333333333333 - v * (0.25 - v * (0.2 - v * 0.16666666666666666))))); }\nreturn Math.log(1 + v);';
      default:
        break;
    }
  }
  switch (op) {
    case 'neg':
      return 'return -v;';
    case 'abs':
      return 'return Math.abs(v);';
    case 'sign':
      return 'return v > 0 ? 1 : (v < 0 ? -1 : (v == 0 ? 0 : v));';
    case 'exp':
    case 'log':
    case 'log1p':
    case 'expm1':
    case 'sqrt':
    case 'tanh':
    case 'sin':
    case 'cos':
    case 'floor':
    case 'ceil':
      return `return Math.${op}(v);`;
    case 'rsqrt':
      return 'return 1 / Math.sqrt(v);';
    case 'reciprocal':
      return 'return 1 / v;';
    case 'square':
      return 'return v * v;';
    case 'sigmoid':
      // never exponentiates a large positive number, like special.ts
      return 'let s = 0;\nif (v >= 0) { s = 1 / (1 + Math.exp(-v)); } else { const se = Math.exp(v); s = se / (1 + se); }\nreturn s;';
    case 'relu':
      // NaN propagates, as in the js backend (maximum(x, 0))
      return 'return v <= 0 ? 0 : v;';
    case 'gelu':
      return 'return 0.5 * v * (1 + Math.tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));';
    case 'geluErf':
      return `${erfSource('v * 0.7071067811865476')}\nreturn 0.5 * v * (1 + ef);`;
    case 'erf':
      return `${erfSource('v')}\nreturn ef;`;
    case 'round':
      // half to even; v - floor(v) is exact in float32, unlike v + 0.5
      return [
        'const rf = Math.floor(v);',
        'const rd = v - rf;',
        'let r = rf;',
        'if (rd > 0.5) { r = rf + 1; }',
        'if (rd == 0.5) { if (Math.floor(rf * 0.5) * 2 != rf) { r = rf + 1; } }',
        'return r;',
      ].join('\n');
    case 'logicalNot':
      return `return ${truthy('v')} ? 0 : 1;`;
    case 'isnan':
      return 'return v != v ? 1 : 0;';
    case 'isfinite':
      return 'return v - v == 0 ? 1 : 0;';
  }
}

/**
 * Kernel statements for JavaScript's Math.pow on GL targets. GLSL pow(x, y) is exp2(y log2 x):
 * undefined for x < 0 and for x = 0, y <= 0 (headless-gl here gave NaN for (-2)^2 and 0 for 0^-1 and
 * NaN^0.5), so every special case of ECMAScript's Number::exponentiate is decided here and GLSL
 * pow only sees |x| finite and positive with y finite. `c` is the constants array (c[0] = NaN,
 * c[1] = +Infinity): GLSL ES 1.0 has no literal for either, and folded forms such as 0/0 depend
 * on the compiler.
 */
function powSourceGl(c: string): string {
  return [
    'const pa = Math.abs(u);',
    'const pb = Math.abs(w);',
    // w is an integer, and an odd one (float32 values of 2^24 and beyond are all even)
    'const pint = Math.floor(w) == w ? 1 : 0;',
    'const podd = (pint == 1 && Math.floor(w * 0.5) * 2 != w) ? 1 : 0;',
    'let pr = 1;',
    'if (w == 0) { pr = 1; }',
    `else if (u != u || w != w) { pr = ${c}[0]; }`,
    `else if (pb > ${FLT_MAX}) {`,
    // w = +-Infinity: 1^Inf is NaN in JS; otherwise Inf or 0 by which side of 1 |u| is on
    `  if (pa == 1) { pr = ${c}[0]; } else { if ((pa > 1) == (w > 0)) { pr = ${c}[1]; } else { pr = 0; } }`,
    '}',
    'else {',
    `  let pm = 0;`,
    `  if (pa > ${FLT_MAX}) { if (w > 0) { pm = ${c}[1]; } else { pm = 0; } }`,
    `  else { if (pa == 0) { if (w > 0) { pm = 0; } else { pm = ${c}[1]; } }`,
    `  else { if (u < 0 && pint == 0) { pm = ${c}[0]; } else { pm = Math.pow(pa, w); } } }`,
    // a negative base (including -0 and -Infinity, told apart by 1/u) keeps its sign for odd powers
    '  if (podd == 1 && (u < 0 || 1 / u < 0)) { pr = -pm; } else { pr = pm; }',
    '}',
    'return pr;',
  ].join('\n');
}

/** Kernel expression of a binary op on `u` and `w`. */
function binarySource(op: BinaryOp): string {
  switch (op) {
    case 'add':
      return 'u + w';
    case 'sub':
      return 'u - w';
    case 'mul':
      return 'u * w';
    case 'div':
      return 'u / w';
    case 'pow':
      return 'Math.pow(u, w)';
    case 'maximum':
      return '(u > w || u != u) ? u : w';
    case 'minimum':
      return '(u < w || u != u) ? u : w';
    case 'eq':
      return 'u == w ? 1 : 0';
    case 'ne':
      return 'u != w ? 1 : 0';
    case 'lt':
      return 'u < w ? 1 : 0';
    case 'le':
      return 'u <= w ? 1 : 0';
    case 'gt':
      return 'u > w ? 1 : 0';
    case 'ge':
      return 'u >= w ? 1 : 0';
    case 'logicalAnd':
      return `(${truthy('u')} && ${truthy('w')}) ? 1 : 0`;
    case 'logicalOr':
      return `(${truthy('u')} || ${truthy('w')}) ? 1 : 0`;
  }
}

const SUPPORTED_MODES = ['gpu', 'webasm', 'cpu', 'headlessgl', 'webgl', 'webgl2'];

function requestedMode(options: GpuBackendOptions): string {
  const env = typeof process !== 'undefined' ? process.env.TSGRAD_GPU_MODE : undefined;
  return options.mode ?? (env && env.length > 0 ? env : 'gpu');
}

/** Per-backend state behind the `Backend` object, for {@link gpuBackendInfo}. */
interface GpuState {
  info: () => GpuBackendInfo;
}
const states = new WeakMap<Backend, GpuState>();
let lastCreated: Backend | null = null;

/**
 * Creates the gpu.js backend. Throws, naming the mode, when gpu.js cannot start it
 * (e.g. `headlessgl` without a built `gl` package).
 * @example
 * const gpu = createGpuBackend({ mode: 'webasm' });
 * registerBackend('gpu', gpu); setBackend('gpu');
 */
export function createGpuBackend(options: GpuBackendOptions = {}): Backend {
  const requested = requestedMode(options);
  if (!SUPPORTED_MODES.includes(requested)) {
    const why =
      requested === 'webgpu' || requested === 'async'
        ? `its kernels return Promises and tsgrad's API is synchronous`
        : 'it is not a gpu.js mode this backend knows';
    throw new Error(`gpu backend: mode '${requested}' is not supported (${why}); use one of ${SUPPORTED_MODES.join(', ')}`);
  }
  let gpu: GPU;
  try {
    gpu = new GPU({ mode: requested as 'gpu' });
  } catch (e) {
    const hint = requested === 'headlessgl' ? ' (headless-gl must be built from source: see scripts/test-gl.sh)' : '';
    throw new Error(`gpu backend: gpu.js cannot start mode '${requested}'${hint}: ${(e as Error).message}`);
  }
  const kernelClass = (gpu as unknown as { Kernel?: { mode?: string; isSIMDSupported?: boolean } }).Kernel;
  // every GL kernel class reports mode 'gpu'; its class name says which GL target it is
  const glName: Record<string, string> = { HeadlessGLKernel: 'headlessgl', WebGLKernel: 'webgl', WebGL2Kernel: 'webgl2' };
  const mode = glName[(kernelClass as { name?: string } | undefined)?.name ?? ''] ?? kernelClass?.mode ?? requested;
  // GL targets divide in float with no correctly-rounded guarantee, so quotients get a half-unit nudge.
  const glLike = mode !== 'webasm' && mode !== 'cpu';
  const maxKernels = options.maxKernels ?? 256;
  const warn = options.warn ?? ((m: string) => console.warn(m));
  const warned = new Set<string>();
  const kernels = new Map<string, KernelRun>();
  let compiled = 0;
  let calls = 0;

  const fallback = (op: string, reason: string): Backend => {
    const key = `${op}: ${reason}`;
    if (!warned.has(key)) {
      warned.add(key);
      warn(`tsgrad gpu backend: ${op} ${reason}; it runs on the js backend instead (shown once)`);
    }
    return fastBackend;
  };

  /** Why `x` cannot be read by a float32 kernel as plain data, or null if it can. */
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
  const sizeProblem = (x: NDArray): string | null => {
    const span = operand(x).upload.length;
    if (x.size >= EXACT_LIMIT || span >= EXACT_LIMIT) {
      return `got an array of shape ${shapeToString(x.shape)} spanning ${Math.max(span, x.size)} elements (kernel indexing is exact only below 2^24)`;
    }
    return null;
  };

  /** floor(num / den) as kernel source (exact for non-negative integers below 2^24). */
  const quotient = (num: string, den: number): string =>
    glLike ? `Math.floor((${num} + 0.5) / ${den})` : `Math.floor(${num} / ${den})`;

  /**
   * Statements that split the flat id `flat` into coordinates over `shape` (row-major);
   * returns the coordinate expressions (`'0'` for size-1 axes).
   */
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

  /**
   * Runs a kernel and returns its output as flat float32. `sig` must determine the source
   * that `build` returns (body lines over params x0, x1, ...): source is generated and
   * compiled only the first time a signature, output size and argument sizes are seen.
   */
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
      kernel = gpu.createKernel(source, settings as IGPUKernelSettings) as unknown as KernelRun;
      compiled++;
      kernels.set(key, kernel);
      while (kernels.size > maxKernels) {
        const [oldKey, old] = kernels.entries().next().value as [string, KernelRun];
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

  /** Converts a kernel's float32 output to `dtype` storage with the same rounding a typed-array store applies. */
  const toDtype = (values: Float32Array, dtype: DType): TypedArray => {
    if (dtype === 'float32') return values;
    const out = allocate(dtype, values.length);
    out.set(values);
    return out;
  };

  // ------------------------------------------------------------------ elementwise

  /**
   * One kernel for unary/binary/where/cast: `names` are the variables holding each operand's
   * element, `body()` returns the result; `tag` identifies the body in the kernel cache.
   */
  const elementwise = (tag: string, inputs: NDArray[], names: string[], body: () => string, outDtype: DType, consts?: Float32Array): NDArray => {
    const shape = inputs[0]!.shape;
    const ops = inputs.map(operand);
    const sig = `e:${tag}:${shape.join(',')}:${ops.map((o) => `${o.base}/${o.strides.join(',')}`).join(':')}`;
    const build = () => {
      const merged = coalesce(shape, ops.map((o) => o.strides));
      const { code, coords } = decompose('id', merged.shape, '');
      const loads = ops.map((o, k) => {
        const idx = linear(o.base, coords.map((c, d) => [c, merged.strides[k]![d]!] as const));
        return `const ${names[k]} = x${k}[${idx}];`;
      });
      return ['const id = this.thread.x;', code, ...loads, body()];
    };
    const args: TypedArray[] = ops.map((o) => o.upload);
    if (consts) args.push(consts);
    const out = launch(sig, build, [inputs[0]!.size], args, 1);
    return new NDArray(toDtype(out, outDtype), shape, undefined, 0, outDtype);
  };

  /** Whether float32 arithmetic gives the js backend's exact values for this signature. */
  const elementwiseProblem = (inputs: NDArray[], outDtype: DType): string | null => {
    if (outDtype === 'float64') return 'got a float64 output (gpu.js kernels are float32 only)';
    for (const x of inputs) {
      const p = dataProblem(x);
      if (p) return p;
    }
    if (outDtype === 'int32' && !inputs.every((x) => x.dtype === 'bool')) {
      return 'got an int32 output (float32 kernels are exact only below 2^24)';
    }
    return null;
  };

  const unary = (op: UnaryOp, x: NDArray, outDtype: DType): NDArray => {
    if (x.size === 0) return fastBackend.unary(op, x, outDtype);
    const problem = elementwiseProblem([x], outDtype);
    if (problem) return fallback(`unary ${op}`, problem).unary(op, x, outDtype);
    if (glLike && (op === 'sin' || op === 'cos') && x.dtype === 'float32') {
      if (largestFinite(operand(x).upload as Float32Array) > TRIG_LIMIT) {
        return fallback(`unary ${op}`, `got finite |x| above ${TRIG_LIMIT} (GL sin/cos lose their argument reduction for large x)`).unary(op, x, outDtype);
      }
    }
    return elementwise(`u${op}`, [x], ['v'], () => unarySource(op, glLike), outDtype);
  };

  const binary = (op: BinaryOp, a: NDArray, b: NDArray, outDtype: DType): NDArray => {
    if (a.size === 0) return fastBackend.binary(op, a, b, outDtype);
    const problem = elementwiseProblem([a, b], outDtype);
    if (problem) return fallback(`binary ${op}`, problem).binary(op, a, b, outDtype);
    if (glLike && op === 'pow') {
      const ys = operand(b).upload as Float32Array;
      if (largestFinite(ys) > POW_MAX_EXPONENT || powMagnitude(operand(a).upload as Float32Array, ys) > POW_LIMIT) {
        return fallback('binary pow', `got |y| above ${POW_MAX_EXPONENT} or |y log2 x| possibly above ${POW_LIMIT} (GLSL pow is exp2(y log2 x) in float32, within 1e-6 of Math.pow only below those)`).binary(op, a, b, outDtype);
      }
    }
    if (glLike && op === 'pow') return elementwise('bpow', [a, b], ['u', 'w'], () => powSourceGl('x2'), outDtype, GL_CONSTS);
    return elementwise(`b${op}`, [a, b], ['u', 'w'], () => `return ${binarySource(op)};`, outDtype);
  };

  const where = (cond: NDArray, a: NDArray, b: NDArray, outDtype: DType): NDArray => {
    if (a.size === 0) return fastBackend.where(cond, a, b, outDtype);
    const problem = elementwiseProblem([cond, a, b], outDtype);
    if (problem) return fallback('where', problem).where(cond, a, b, outDtype);
    return elementwise('where', [cond, a, b], ['c', 'u', 'w'], () => `return ${truthy('c')} ? u : w;`, outDtype);
  };

  const cast = (x: NDArray, dtype: DType): NDArray => {
    if (x.size === 0) return fastBackend.cast(x, dtype);
    let problem: string | null = null;
    if (dtype === 'float64') problem = 'got a float64 output (gpu.js kernels are float32 only)';
    else if (x.dtype === 'int32' && dtype === 'int32') problem = 'got int32 -> int32 (float32 kernels are exact only below 2^24)';
    else problem = dataProblem(x, true);
    if (problem) return fallback(`cast to ${dtype}`, problem).cast(x, dtype);
    // int32 storage truncates toward zero on write, as astype does with Math.trunc
    const body = dtype === 'bool' ? `return ${truthy('v')} ? 1 : 0;` : 'return v;';
    return elementwise(`c${dtype === 'bool' ? 'bool' : 'num'}`, [x], ['v'], () => body, dtype);
  };

  const assign = (dst: NDArray, src: NDArray): void => {
    if (dst.size === 0) return;
    const problem =
      dst.dtype === 'float64' ? 'got a float64 destination (gpu.js kernels are float32 only)' : dst.dtype === 'int32' && src.dtype === 'int32' ? 'got int32 -> int32 (float32 kernels are exact only below 2^24)' : (dataProblem(src, true) ?? sizeProblem(dst));
    if (problem) {
      fallback('assign', problem).assign(dst, src);
      return;
    }
    // the kernel converts src to dst's dtype; the strided write itself is host memory traffic
    writeInto(dst, cast(src, dst.dtype).data);
  };

  // ------------------------------------------------------------------ reductions

  // max/min start from the first reduced element (offset 0 from b): gpu.js writes `-Infinity` into
  // GLSL as -3.4e38, which would turn a row of -Infinity into -3.4e38
  const INIT: Record<ReduceOp, string> = { sum: '0', prod: '1', max: 'x0[b]', min: 'x0[b]' };
  const STEP: Record<ReduceOp, string> = {
    sum: 'acc += v;',
    prod: 'acc *= v;',
    // NaN wins, as in the js backend
    max: 'if (v > acc || v != v) { acc = v; }',
    min: 'if (v < acc || v != v) { acc = v; }',
  };

  /** Splits x's axes into kept ones (the output) and reduced ones (the loops), each merged where contiguous. */
  const splitAxes = (x: NDArray, o: Operand, axes: readonly number[]) => {
    const kept = x.shape.map((_, d) => d).filter((d) => !axes.includes(d));
    const keptMerged = coalesce(
      kept.map((d) => x.shape[d]!),
      [kept.map((d) => o.strides[d]!)],
    );
    const redMerged = coalesce(
      axes.map((d) => x.shape[d]!),
      [axes.map((d) => o.strides[d]!)],
    );
    return { kept: keptMerged, red: redMerged };
  };

  const reduce = (op: ReduceOp, x: NDArray, axes: readonly number[]): NDArray => {
    const outShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const outSize = sizeOf(outShape);
    const reducedSize = sizeOf(axes.map((a) => x.shape[a]!));
    if (outSize === 0 || reducedSize === 0) return fastBackend.reduce(op, x, axes);
    const problem = dataProblem(x);
    if (problem) return fallback(`reduce ${op}`, problem).reduce(op, x, axes);
    const o = operand(x);
    const sig = `r:${op}:${x.shape.join(',')}:${o.base}/${o.strides.join(',')}:${axes.join(',')}`;
    const build = () => {
      const { kept, red } = splitAxes(x, o, axes);
      const { code, coords } = decompose('id', kept.shape, 'k');
      const start = linear(o.base, coords.map((c, d) => [c, kept.strides[0]![d]!] as const));
      const loopVars = red.shape.map((_, d) => `r${d}`);
      const at = linear(0, loopVars.map((v, d) => [v, red.strides[0]![d]!] as const));
      return [
        'const id = this.thread.x;',
        code,
        `const b = ${start};`,
        `let acc = ${INIT[op]};`,
        ...red.shape.map((n, d) => `for (let ${loopVars[d]} = 0; ${loopVars[d]} < ${n}; ${loopVars[d]}++) {`),
        `const v = x0[b + ${at}];`,
        STEP[op],
        ...red.shape.map(() => '}'),
        'return acc;',
      ];
    };
    const out = launch(sig, build, [outSize], [o.upload], reducedSize + 1);
    const outDtype: DType = (op === 'sum' || op === 'prod') && x.dtype === 'bool' ? 'int32' : x.dtype;
    return new NDArray(toDtype(out, outDtype), outShape, undefined, 0, outDtype);
  };

  const argReduce = (op: 'argmax' | 'argmin', x: NDArray, axis: number): NDArray => {
    const outShape = x.shape.map((d, i) => (i === axis ? 1 : d));
    const outSize = sizeOf(outShape);
    if (outSize === 0 || x.shape[axis] === 0) return fastBackend.argReduce(op, x, axis);
    const problem = dataProblem(x);
    if (problem) return fallback(op, problem).argReduce(op, x, axis);
    const o = operand(x);
    const sig = `a:${op}:${x.shape.join(',')}:${o.base}/${o.strides.join(',')}:${axis}`;
    const build = () => {
      const { kept } = splitAxes(x, o, [axis]);
      const { code, coords } = decompose('id', kept.shape, 'k');
      const start = linear(o.base, coords.map((c, d) => [c, kept.strides[0]![d]!] as const));
      const sign = op === 'argmax' ? '' : '-';
      return [
        'const id = this.thread.x;',
        code,
        `const b = ${start};`,
        'let best = 0;',
        `let bv = ${sign}x0[b];`,
        `for (let j = 1; j < ${x.shape[axis]}; j++) {`,
        `  const v = ${sign}x0[b + ${linear(0, [['j', o.strides[axis]!]])}];`,
        // the first NaN wins and ends the search, as in the js backend
        '  if (bv == bv) { if (v > bv || v != v) { bv = v; best = j; } }',
        '}',
        'return best;',
      ];
    };
    const out = launch(sig, build, [outSize], [o.upload], x.shape[axis]! + 1);
    return new NDArray(toDtype(out, 'int32'), outShape, undefined, 0, 'int32');
  };

  // ------------------------------------------------------------------ matmul

  const matmul = (a: NDArray, b: NDArray): NDArray => {
    const [batch, m, k] = a.shape as [number, number, number];
    const n = b.shape[2]!;
    if (batch * m * n === 0 || k === 0) return fastBackend.matmul(a, b);
    // the js backend works in float32 when either operand is float32 and neither is float64
    const isF32 = (a.dtype === 'float32' || b.dtype === 'float32') && a.dtype !== 'float64' && b.dtype !== 'float64';
    const problem = !isF32
      ? `got ${a.dtype} @ ${b.dtype} (gpu.js kernels are float32 only)`
      : (dataProblem(a, true) ?? dataProblem(b, true) ?? (batch * m * n >= EXACT_LIMIT ? 'got an output of 2^24 or more elements' : null));
    if (problem) return fallback('matmul', problem).matmul(a, b);
    // Each thread computes four rows of one output column (a register tile): every
    // element of b loaded is used four times. Matrices with few rows use one row per thread.
    const tile = m >= 8 ? 4 : 1;
    // A row count that is not a multiple of 4 is padded with zero rows on the host (an
    // m x k copy), which keeps the row arithmetic in integers: clamping rows in the
    // kernel instead made it float arithmetic and cost 10% at 512.
    const oa = tile === 4 && m % 4 !== 0 ? padRows(a, Math.ceil(m / 4) * 4) : operand(a);
    // With four rows per thread, b is read down its columns; when a column is not contiguous
    // (stride along k != 1) a host-side copy of b transposed keeps those reads sequential
    // (measured 1.85 -> 2.57 GFLOP/s at 1024 on webasm). Linear layers' x @ W^T needs no copy.
    const ob = tile === 4 && k > 1 && operand(b).strides[1] !== 1 ? columnMajor(b) : operand(b);
    const [sab, sam, sak] = oa.strides as [number, number, number];
    const [sbb, sbk, sbn] = ob.strides as [number, number, number];
    const batched = batch > 1;
    const rowsOut = Math.ceil(m / tile);
    const sig = `m:${batch},${m},${k},${n}:${oa.base}/${oa.strides.join(',')}:${ob.base}/${ob.strides.join(',')}`;
    const build = () => {
      const lines = ['const x = this.thread.x;', 'const y = this.thread.y;', batched ? 'const z = this.thread.z;' : ''];
      const aBatch = linear(oa.base, batched ? [['z', sab]] : []);
      const bStart = linear(ob.base, [...(batched ? ([['z', sbb]] as const) : []), ['x', sbn]]);
      lines.push(`const bo = ${bStart};`);
      for (let q = 0; q < tile; q++) {
        const row = tile === 1 ? 'y' : q === 0 ? 'y * 4' : `(y * 4 + ${q})`;
        lines.push(`const ao${q} = ${aBatch} + ${row} * ${sam};`);
        lines.push(`let s${q} = 0;`);
      }
      lines.push(`for (let i = 0; i < ${k}; i++) {`);
      lines.push(`  const bv = x1[bo + ${linear(0, [['i', sbk]])}];`);
      for (let q = 0; q < tile; q++) lines.push(`  s${q} += x0[ao${q} + ${linear(0, [['i', sak]])}] * bv;`);
      lines.push('}');
      lines.push(tile === 1 ? 'return s0;' : 'return [s0, s1, s2, s3];');
      return lines;
    };
    const output = batched ? [n, rowsOut, batch] : [n, rowsOut];
    const flat = launch(sig, build, output, [oa.upload, ob.upload], k + 1, tile);
    let out: Float32Array;
    if (tile === 1) {
      out = flat;
    } else {
      // the kernel's output is [batch][row / 4][column][row % 4]; rows past m are padding
      out = new Float32Array(batch * m * n);
      for (let z = 0; z < batch; z++) {
        for (let y = 0; y < rowsOut; y++) {
          const rows = Math.min(4, m - 4 * y);
          const from = (z * rowsOut + y) * n * 4;
          for (let q = 0; q < rows; q++) {
            const to = (z * m + 4 * y + q) * n;
            for (let x = 0; x < n; x++) out[to + x] = flat[from + x * 4 + q]!;
          }
        }
      }
    }
    return new NDArray(out, [batch, m, n], undefined, 0, 'float32');
  };

  // ------------------------------------------------------------------ indexing

  /** Checks index values like the js backend (negative ones count from the end) and returns them as float32. */
  const readIndex = (index: NDArray, size: number, op: string, axis: number | null): Float32Array => {
    const where = axis === null ? 'an axis' : `axis ${axis}`;
    const raw = index.toTyped();
    const out = new Float32Array(raw.length);
    for (let i = 0; i < raw.length; i++) {
      const v = raw[i]!;
      const j = v < 0 ? v + size : v;
      if (j < 0 || j >= size) throw new RangeError(`${op}: index ${v} is out of range for ${where} of size ${size}`);
      out[i] = j;
    }
    return out;
  };

  const gather = (x: NDArray, axis: number, index: NDArray): NDArray => {
    if (index.size === 0 || x.size === 0) return fastBackend.gather(x, axis, index);
    const problem = dataProblem(x) ?? sizeProblem(index);
    if (problem) return fallback('gather', problem).gather(x, axis, index);
    const idx = readIndex(index, x.shape[axis]!, 'gather', axis);
    const o = operand(x);
    const sig = `g:${x.shape.join(',')}:${o.base}/${o.strides.join(',')}:${axis}:${index.shape.join(',')}`;
    const build = () => {
      const { code, coords } = decompose('id', index.shape, '');
      const at = linear(o.base, coords.map((c, d) => [d === axis ? 'j' : c, o.strides[d]!] as const));
      return ['const id = this.thread.x;', code, 'const j = x1[id];', `return x0[${at}];`];
    };
    const out = launch(sig, build, [index.size], [o.upload, idx], 1);
    return new NDArray(toDtype(out, x.dtype), index.shape, undefined, 0, x.dtype);
  };

  const indexSelect = (x: NDArray, axis: number, index: NDArray): NDArray => {
    const outShape = [...x.shape];
    outShape[axis] = index.size;
    if (sizeOf(outShape) === 0) return fastBackend.indexSelect(x, axis, index);
    const problem = dataProblem(x) ?? (sizeOf(outShape) >= EXACT_LIMIT ? 'got an output of 2^24 or more elements' : null);
    if (problem) return fallback('indexSelect', problem).indexSelect(x, axis, index);
    const idx = readIndex(index, x.shape[axis]!, 'indexSelect', null);
    const o = operand(x);
    const sig = `s:${x.shape.join(',')}:${o.base}/${o.strides.join(',')}:${axis}:${index.size}`;
    const build = () => {
      const { code, coords } = decompose('id', outShape, '');
      const at = linear(o.base, coords.map((c, d) => [d === axis ? 'j' : c, o.strides[d]!] as const));
      return ['const id = this.thread.x;', code, `const j = x1[${coords[axis]}];`, `return x0[${at}];`];
    };
    const out = launch(sig, build, [sizeOf(outShape)], [o.upload, idx], 1);
    return new NDArray(toDtype(out, x.dtype), outShape, undefined, 0, x.dtype);
  };

  /**
   * Sum-into kernel shared by scatterAdd and indexAdd: output element `id` of dst (row-major) is
   * dst[id] plus src values at `srcPos[starts[g] .. starts[g+1])`, where `group` gives g from id.
   */
  const accumulate = (
    tag: string,
    dst: NDArray,
    src: Operand,
    starts: Float32Array,
    srcPos: Float32Array,
    groupSource: (coords: string[]) => string,
    offsetSource: (coords: string[]) => string,
  ): void => {
    const od = operand(dst);
    const sig = `${tag}:${dst.shape.join(',')}:${od.base}/${od.strides.join(',')}:${src.base}/${src.strides.join(',')}`;
    const build = () => {
      const { code, coords } = decompose('id', dst.shape, '');
      const dAt = linear(od.base, coords.map((c, d) => [c, od.strides[d]!] as const));
      return [
        'const id = this.thread.x;',
        code,
        `const g = ${groupSource(coords)};`,
        `let acc = x0[${dAt}];`,
        'const t0 = x2[g];',
        'const t1 = x2[g + 1];',
        `const off = ${offsetSource(coords)};`,
        'for (let t = t0; t < t1; t++) {',
        '  acc += x1[x3[t] + off];',
        '}',
        'return acc;',
      ];
    };
    const out = launch(sig, build, [dst.size], [od.upload, src.upload, starts, srcPos], srcPos.length + 1);
    writeInto(dst, out);
  };

  const scatterAdd = (dst: NDArray, axis: number, index: NDArray, src: NDArray): void => {
    if (index.size === 0 || dst.size === 0) {
      fastBackend.scatterAdd(dst, axis, index, src);
      return;
    }
    const problem =
      dst.dtype !== 'float32' ? `got a ${dst.dtype} destination (only float32 accumulates exactly in kernels)` : (dataProblem(src) ?? sizeProblem(dst) ?? sizeProblem(index));
    if (problem) {
      fallback('scatterAdd', problem).scatterAdd(dst, axis, index, src);
      return;
    }
    const size = dst.shape[axis]!;
    const idx = readIndex(index, size, 'scatterAdd', axis);
    const os = operand(src);
    // Group every index element by the dst element it targets (row-major dst position),
    // keeping index order inside a group so sums add up in the js backend's order.
    const dstStrides = contiguousStrides(dst.shape);
    const nd = index.ndim;
    const target = new Int32Array(index.size);
    const from = new Float32Array(index.size);
    const counts = new Int32Array(dst.size + 1);
    const counter = new Array<number>(nd).fill(0);
    for (let i = 0; i < index.size; i++) {
      let t = 0;
      let p = os.base;
      for (let d = 0; d < nd; d++) {
        t += (d === axis ? idx[i]! : counter[d]!) * dstStrides[d]!;
        p += counter[d]! * os.strides[d]!;
      }
      target[i] = t;
      from[i] = p;
      counts[t + 1]!++;
      for (let d = nd - 1; d >= 0; d--) {
        if (++counter[d]! < index.shape[d]!) break;
        counter[d] = 0;
      }
    }
    const starts = new Float32Array(dst.size + 1);
    for (let t = 0; t < dst.size; t++) counts[t + 1]! += counts[t]!;
    starts.set(counts);
    const fill = counts.slice(0, dst.size);
    const srcPos = new Float32Array(index.size);
    for (let i = 0; i < index.size; i++) srcPos[fill[target[i]!]!++] = from[i]!;
    accumulate(`sa${axis}`, dst, os, starts, srcPos, () => 'id', () => '0');
  };

  const indexAdd = (dst: NDArray, axis: number, index: NDArray, src: NDArray): void => {
    if (index.size === 0 || dst.size === 0) {
      fastBackend.indexAdd(dst, axis, index, src);
      return;
    }
    const problem =
      dst.dtype !== 'float32' ? `got a ${dst.dtype} destination (only float32 accumulates exactly in kernels)` : (dataProblem(src) ?? sizeProblem(dst));
    if (problem) {
      fallback('indexAdd', problem).indexAdd(dst, axis, index, src);
      return;
    }
    const size = dst.shape[axis]!;
    const idx = readIndex(index, size, 'indexAdd', null);
    const os = operand(src);
    // Group the positions k of `index` by the dst slice they add into, in order of k.
    const counts = new Int32Array(size + 1);
    for (let kk = 0; kk < idx.length; kk++) counts[idx[kk]! + 1]!++;
    for (let c = 0; c < size; c++) counts[c + 1]! += counts[c]!;
    const starts = Float32Array.from(counts);
    const fill = counts.slice(0, size);
    const srcPos = new Float32Array(idx.length);
    const sa = os.strides[axis]!;
    for (let kk = 0; kk < idx.length; kk++) srcPos[fill[idx[kk]!]!++] = kk * sa;
    accumulate(
      `ia${axis}`,
      dst,
      os,
      starts,
      srcPos,
      (coords) => coords[axis]!,
      (coords) => linear(os.base, coords.map((c, d) => [d === axis ? '0' : c, os.strides[d]!] as const)),
    );
  };

  const backend: Backend = {
    name: 'gpu',
    unary,
    binary,
    where,
    reduce,
    argReduce,
    matmul,
    cast,
    assign,
    gather,
    scatterAdd,
    indexSelect,
    indexAdd,
  };
  states.set(backend, {
    info: () => ({
      requestedMode: requested,
      mode,
      simd: mode === 'webasm' ? Boolean(kernelClass?.isSIMDSupported) : null,
      native: NATIVE_PRIMITIVES,
      delegatedCases: glLike ? [...DELEGATED_CASES, ...GL_DELEGATED_CASES] : DELEGATED_CASES,
      fallbacks: [...warned],
      kernelsCompiled: compiled,
      kernelsCached: kernels.size,
      kernelCalls: calls,
    }),
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
  return state.info();
}

/**
 * `b` ([batch, k, n]) copied so that each column is contiguous: element (z, i, j) at
 * z*n*k + j*k + i, as float32. A broadcast batch (stride 0) is copied once.
 */
function columnMajor(b: NDArray): Operand {
  const [batch, k, n] = b.shape as [number, number, number];
  const shared = batch === 1 || b.strides[0] === 0;
  const copies = shared ? 1 : batch;
  const out = new Float32Array(copies * n * k);
  const src = b.data;
  const [sb, sk, sn] = b.strides as [number, number, number];
  for (let z = 0; z < copies; z++) {
    for (let i = 0; i < k; i++) {
      const from = b.offset + z * sb + i * sk;
      const to = z * n * k + i;
      for (let j = 0; j < n; j++) out[to + j * k] = src[from + j * sn]!;
    }
  }
  return { upload: out, base: 0, strides: [shared ? 0 : n * k, 1, k] };
}

/** `a` ([batch, m, k]) as contiguous float32 with zero rows appended up to `rows`; a broadcast batch is copied once. */
function padRows(a: NDArray, rows: number): Operand {
  const [batch, m, k] = a.shape as [number, number, number];
  const shared = batch === 1 || a.strides[0] === 0;
  const copies = shared ? 1 : batch;
  const out = new Float32Array(copies * rows * k);
  const src = a.data;
  const [sb, sm, sk] = a.strides as [number, number, number];
  for (let z = 0; z < copies; z++) {
    for (let i = 0; i < m; i++) {
      const from = a.offset + z * sb + i * sm;
      const to = (z * rows + i) * k;
      for (let p = 0; p < k; p++) out[to + p] = src[from + p * sk]!;
    }
  }
  return { upload: out, base: 0, strides: [shared ? 0 : rows * k, k, 1] };
}

/** Writes dense row-major `values` into the (possibly strided) view `dst`. */
function writeInto(dst: NDArray, values: TypedArray): void {
  const data = dst.data;
  if (dst.isContiguous()) {
    data.set(values.subarray(0, dst.size), dst.offset);
    return;
  }
  dst.forEachIndex((p, i) => {
    data[p] = values[i]!;
  });
}

/**
 * A kernel's output as one flat Float32Array in row-major order (components of an
 * Array(n) result interleaved). When the arrays are `fresh` (webasm returns views of one
 * new buffer per call) they are used without copying; otherwise they are copied out.
 */
function flatOutput(result: unknown, length: number, fresh: boolean): Float32Array {
  if (fresh) {
    if (result instanceof Float32Array && result.length === length) return result;
    let leaf: unknown = result;
    while (Array.isArray(leaf)) leaf = leaf[0];
    if (leaf instanceof Float32Array && leaf.byteOffset === 0 && leaf.buffer.byteLength === length * 4) {
      return new Float32Array(leaf.buffer, 0, length);
    }
  }
  const out = new Float32Array(length);
  let p = 0;
  const walk = (v: unknown): void => {
    if (typeof v === 'number') out[p++] = v;
    else if (ArrayBuffer.isView(v)) {
      out.set(v as Float32Array, p);
      p += (v as Float32Array).length;
    } else for (const e of v as unknown[]) walk(e);
  };
  walk(result);
  if (p !== length) throw new Error(`gpu backend: kernel returned ${p} values where ${length} were expected`);
  return out;
}
