/**
 * Creating arrays: from nested JS arrays, constant fills, ranges, and seeded random draws.
 * Random creators take an optional `seed`; without one they use the global generator
 * (see `manualSeed`).
 */
import { allocate, castScalar, checkedCast, isFloat, type DType } from '../dtype.ts';
import { NDArray, type NestedArray } from '../ndarray.ts';
import { checkShape, shapeToString, sizeOf, type Shape } from '../shape.ts';
import { rngFor } from '../random.ts';

/**
 * An array from (nested) JS numbers or booleans. The dtype defaults to `bool` for
 * booleans and `float32` otherwise. For `int32`, fractions truncate toward 0 and a
 * value outside the int32 range (or NaN, or infinite) throws a RangeError, as in PyTorch.
 * @example array([[1, 2], [3, 4]], 'float64')
 */
export function array(values: NestedArray | ArrayLike<number>, dtype?: DType): NDArray {
  if (ArrayBuffer.isView(values)) {
    const typed = values as unknown as ArrayLike<number>;
    const out = allocate(dtype ?? 'float32', typed.length);
    for (let i = 0; i < typed.length; i++) out[i] = checkedCast(typed[i]!, dtype ?? 'float32', 'array');
    return NDArray.fromTyped(out, [typed.length], dtype ?? 'float32');
  }
  const shape: number[] = [];
  let probe: unknown = values;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
  }
  const dt: DType = dtype ?? (typeof probe === 'boolean' ? 'bool' : 'float32');
  const out = allocate(dt, sizeOf(shape));
  let k = 0;
  const walk = (v: unknown, depth: number): void => {
    if (depth === shape.length) {
      if (typeof v !== 'number' && typeof v !== 'boolean') {
        throw new TypeError(`array: expected a number or boolean at depth ${depth}, got ${Array.isArray(v) ? 'an array' : typeof v}`);
      }
      out[k++] = checkedCast(Number(v), dt, 'array');
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) {
      throw new Error(`array: ragged nested array (expected length ${shape[depth]} at depth ${depth} for shape ${shapeToString(shape)})`);
    }
    for (const e of v) walk(e, depth + 1);
  };
  walk(values, 0);
  return NDArray.fromTyped(out, shape, dt);
}

/** Zeros of a shape. @example zeros([2, 3]) */
export function zeros(shape: Shape, dtype: DType = 'float32'): NDArray {
  return NDArray.zeros(shape, dtype);
}

/** Ones of a shape. */
export function ones(shape: Shape, dtype: DType = 'float32'): NDArray {
  return full(shape, 1, dtype);
}

/** An array filled with `value` (an int32 fill must fit in int32). */
export function full(shape: Shape, value: number | boolean, dtype: DType = typeof value === 'boolean' ? 'bool' : 'float32'): NDArray {
  const out = NDArray.zeros(shape, dtype);
  out.data.fill(checkedCast(Number(value), dtype, 'full'));
  return out;
}

/**
 * Evenly spaced values in [start, end) with `step` (int32 when all arguments are integers).
 * Arguments must be finite; an int32 range whose values leave the int32 range throws
 * instead of wrapping.
 * @example arange(5) // [0, 1, 2, 3, 4]
 */
export function arange(start: number, end?: number, step = 1, dtype?: DType): NDArray {
  const [s, e] = end === undefined ? [0, start] : [start, end];
  if (![s, e, step].every(Number.isFinite)) throw new RangeError(`arange: start ${s}, end ${e} and step ${step} must be finite`);
  if (step === 0) throw new RangeError('arange: step must not be 0');
  const n = Math.max(0, Math.ceil((e - s) / step));
  const dt = dtype ?? (Number.isInteger(s) && Number.isInteger(e) && Number.isInteger(step) ? 'int32' : 'float32');
  // The values are monotone, so the first and the last bound the rest.
  if (n > 0) {
    checkedCast(s, dt, 'arange');
    checkedCast(s + (n - 1) * step, dt, 'arange');
  }
  const out = allocate(dt, n);
  for (let i = 0; i < n; i++) out[i] = s + i * step;
  return NDArray.fromTyped(out, [n], dt);
}

/** `steps` evenly spaced values from start to end inclusive (an int32 range must fit int32). */
export function linspace(start: number, end: number, steps: number, dtype: DType = 'float32'): NDArray {
  checkShape([steps], 'linspace');
  if (steps > 0) {
    // monotone again: the endpoints bound every value an int32 result would have to hold
    checkedCast(start, dtype, 'linspace');
    checkedCast(end, dtype, 'linspace');
  }
  const out = allocate(dtype, steps);
  // The last value is `end` itself: start + (end - start) can miss it by an ulp.
  for (let i = 0; i < steps; i++) out[i] = i === 0 ? start : i === steps - 1 ? end : start + ((end - start) * i) / (steps - 1);
  return NDArray.fromTyped(out, [steps], dtype);
}

/** The n x m identity (m defaults to n). */
export function eye(n: number, m = n, dtype: DType = 'float32'): NDArray {
  const out = NDArray.zeros([n, m], dtype);
  for (let i = 0; i < Math.min(n, m); i++) out.data[i * m + i] = 1;
  return out;
}

export interface RandomOptions {
  seed?: number;
  dtype?: DType;
}

/** Uniform samples in [low, high). @example rand([2, 2], { seed: 0 }) */
export function rand(shape: Shape, opts: RandomOptions & { low?: number; high?: number } = {}): NDArray {
  const { low = 0, high = 1, dtype = 'float32' } = opts;
  checkShape(shape, 'rand');
  const rng = rngFor(opts.seed);
  const out = allocate(dtype, sizeOf(shape));
  for (let i = 0; i < out.length; i++) {
    // Rounding to float32 can turn a draw just below `high` into `high`: draw again.
    let v: number;
    do v = castScalar(low + (high - low) * rng.uniform(), dtype);
    while (v >= high && high > low && isFloat(dtype));
    out[i] = v;
  }
  return NDArray.fromTyped(out, shape, dtype);
}

/** Normal samples with `mean` and `std`. @example randn([3], { seed: 1 }) */
export function randn(shape: Shape, opts: RandomOptions & { mean?: number; std?: number } = {}): NDArray {
  const { mean = 0, std = 1, dtype = 'float32' } = opts;
  checkShape(shape, 'randn');
  const rng = rngFor(opts.seed);
  const out = allocate(dtype, sizeOf(shape));
  for (let i = 0; i < out.length; i++) out[i] = mean + std * rng.normal();
  return NDArray.fromTyped(out, shape, dtype);
}

/** Integers uniform in [low, high), int32 (bounds must be integers that int32 can hold). @example randint(0, 10, [5], { seed: 2 }) */
export function randint(low: number, high: number, shape: Shape, opts: { seed?: number } = {}): NDArray {
  checkShape(shape, 'randint');
  if (!Number.isInteger(low) || !Number.isInteger(high) || low < -(2 ** 31) || high > 2 ** 31) {
    throw new RangeError(`randint: need integer bounds within the int32 range (high exclusive), got [${low}, ${high})`);
  }
  const rng = rngFor(opts.seed);
  const out = new Int32Array(sizeOf(shape));
  for (let i = 0; i < out.length; i++) out[i] = rng.int(low, high);
  return NDArray.fromTyped(out, shape, 'int32');
}

/** A random permutation of 0..n-1, int32. @example randperm(5, { seed: 3 }) */
export function randperm(n: number, opts: { seed?: number } = {}): NDArray {
  return NDArray.fromTyped(rngFor(opts.seed).permutation(n), [n], 'int32');
}
