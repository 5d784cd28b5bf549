/**
 * Small dense float64 helpers shared by the linear-algebra routines.
 *
 * Matrices here are plain row-major `Float64Array`s with their sizes passed
 * alongside: element (i, j) of an m x n matrix `a` is `a[i * n + j]`. They are
 * internal building blocks, kept simple rather than fast.
 */
import { NDArray } from '../ndarray.ts';
import { isFloat } from '../dtype.ts';
import { shapeToString } from '../shape.ts';

/** A dense row-major float64 matrix together with its size. */
export interface DenseMatrix {
  data: Float64Array;
  rows: number;
  cols: number;
}

/**
 * Reads a 2-D float NDArray (any dtype width, any strides) into a dense float64
 * copy, checking what every linalg op needs: two dimensions, a float dtype and
 * finite values (NaN would keep the iterative methods from converging).
 */
export function readMatrix(x: NDArray, op: string): DenseMatrix {
  if (x.ndim !== 2) {
    throw new Error(`${op}: expected a 2-D matrix, got shape ${shapeToString(x.shape)}`);
  }
  if (!isFloat(x.dtype)) {
    throw new TypeError(`${op}: expected a float32 or float64 matrix, got ${x.dtype} of shape ${shapeToString(x.shape)}`);
  }
  const data = x.toFloat64Array();
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new RangeError(`${op}: the matrix of shape ${shapeToString(x.shape)} contains NaN or Infinity`);
    }
  }
  return { data, rows: x.shape[0]!, cols: x.shape[1]! };
}

/** Wraps a dense float64 buffer as a contiguous NDArray. */
export function toNDArray(data: Float64Array, shape: readonly number[]): NDArray {
  return NDArray.fromTyped(data, shape);
}

/**
 * The product of an m x k matrix `a` and a k x n matrix `b` (m x n).
 * @example
 * matmulF64(new Float64Array([1, 2]), 1, 2, new Float64Array([3, 4]), 1); // [11]
 */
export function matmulF64(a: Float64Array, m: number, k: number, b: Float64Array, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p]!;
      if (aip === 0) continue;
      const bRow = p * n;
      const outRow = i * n;
      for (let j = 0; j < n; j++) out[outRow + j]! += aip * b[bRow + j]!;
    }
  }
  return out;
}

/**
 * The transpose of an m x n matrix (n x m).
 * @example
 * transposeF64(new Float64Array([1, 2, 3, 4, 5, 6]), 2, 3); // [1, 4, 2, 5, 3, 6]
 */
export function transposeF64(a: Float64Array, m: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) out[j * m + i] = a[i * n + j]!;
  }
  return out;
}

/**
 * The n x n identity.
 * @example
 * identityF64(2); // [1, 0, 0, 1]
 */
export function identityF64(n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) out[i * n + i] = 1;
  return out;
}

/** The largest absolute value of the elements (0 for an empty array). */
export function maxAbs(a: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s = Math.max(s, Math.abs(a[i]!));
  return s;
}

/**
 * Euclidean norm of `count` elements of `a` starting at `start` with step
 * `stride`. The values are scaled by their largest magnitude first, so the sum
 * of squares neither overflows nor underflows.
 */
export function norm2(a: Float64Array, start = 0, count = a.length, stride = 1): number {
  let scale = 0;
  for (let i = 0; i < count; i++) scale = Math.max(scale, Math.abs(a[start + i * stride]!));
  if (scale === 0) return 0;
  let sum = 0;
  for (let i = 0; i < count; i++) {
    const v = a[start + i * stride]! / scale;
    sum += v * v;
  }
  return scale * Math.sqrt(sum);
}

/**
 * Index of the element of largest magnitude among `count` elements (step
 * `stride` from `start`); the first one wins a tie. Used by the sign conventions.
 */
export function argMaxAbs(a: Float64Array, start: number, count: number, stride = 1): number {
  let best = 0;
  let bestAbs = -1;
  for (let i = 0; i < count; i++) {
    const v = Math.abs(a[start + i * stride]!);
    if (v > bestAbs) {
      bestAbs = v;
      best = i;
    }
  }
  return best;
}

/**
 * The permutation that sorts `values` descending (or ascending); equal values
 * keep their original order so the result is deterministic.
 */
export function sortOrder(values: Float64Array, descending: boolean): number[] {
  const order = Array.from({ length: values.length }, (_, i) => i);
  order.sort((i, j) => {
    const d = descending ? values[j]! - values[i]! : values[i]! - values[j]!;
    return d !== 0 ? d : i - j;
  });
  return order;
}
