/**
 * Data types and their storage. Every NDArray stores its elements in one flat
 * typed array; the dtype says which one and how values are rounded on write.
 */

/** The element types tsgrad supports. `float32` is the default. */
export type DType = 'float32' | 'float64' | 'int32' | 'bool';

/** The typed array that backs each dtype (`bool` is stored as 0/1 bytes). */
export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;

export const DTYPES: readonly DType[] = ['float32', 'float64', 'int32', 'bool'];

/** Allocates zero-filled storage for `size` elements of `dtype`. */
export function allocate(dtype: DType, size: number): TypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(size);
    case 'float64':
      return new Float64Array(size);
    case 'int32':
      return new Int32Array(size);
    case 'bool':
      return new Uint8Array(size);
  }
}

/** The dtype whose storage class matches a typed array. */
export function dtypeOfArray(a: TypedArray): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int32Array) return 'int32';
  return 'bool';
}

export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64';
}

// Promotion order: bool < int32 < float32 < float64 (PyTorch's category-then-width rule
// collapses to a total order for our four types).
const RANK: Record<DType, number> = { bool: 0, int32: 1, float32: 2, float64: 3 };

/** The dtype two tensors combine to, e.g. `promoteTypes('int32', 'float32') === 'float32'`. */
export function promoteTypes(a: DType, b: DType): DType {
  return RANK[a] >= RANK[b] ? a : b;
}

/**
 * The dtype of `tensor op number`. A JS number is a "weak" scalar as in PyTorch:
 * it never widens a float tensor (float32 + 1.5 stays float32), but a non-integer
 * number lifts an integer or bool tensor to float32, and an integer lifts bool to int32.
 */
export function promoteWithScalar(dtype: DType, value: number | boolean): DType {
  if (typeof value === 'boolean') return dtype;
  if (isFloat(dtype)) return dtype;
  if (!Number.isInteger(value)) return 'float32';
  return dtype === 'bool' ? 'int32' : dtype;
}

/** Rounds a JS number the way storing it into `dtype` would. */
export function castScalar(value: number, dtype: DType): number {
  switch (dtype) {
    case 'float32':
      return Math.fround(value);
    case 'float64':
      return value;
    case 'int32':
      return value | 0;
    case 'bool':
      return value ? 1 : 0;
  }
}

/** The smallest and largest int32 values. */
export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;

/**
 * Rounds a JS number into `dtype` as `castScalar` does, but refuses a value that an
 * int32 cannot hold (out of range, NaN or infinite) instead of wrapping it, as PyTorch
 * refuses `torch.tensor([3e9], dtype=torch.int32)`. Fractions still truncate toward 0.
 * @example checkedCast(3e9, 'int32', 'array') // throws RangeError naming `array`
 */
export function checkedCast(value: number, dtype: DType, op: string): number {
  if (dtype === 'int32') {
    const t = Math.trunc(value);
    if (!(t >= INT32_MIN && t <= INT32_MAX)) {
      throw new RangeError(`${op}: value ${value} does not fit in int32 (range [${INT32_MIN}, ${INT32_MAX}])`);
    }
    return t;
  }
  return castScalar(value, dtype);
}
