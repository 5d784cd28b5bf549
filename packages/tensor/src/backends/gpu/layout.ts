/**
 * Host-side data layout for kernels: which part of a strided view gets uploaded, how
 * dimensions merge, the copies matmul makes before a launch, and how a kernel's output
 * comes back into an NDArray. Nothing here talks to gpu.js.
 */
import { allocate, type DType, type TypedArray } from '../../dtype.ts';
import type { NDArray } from '../../ndarray.ts';

/** A strided input prepared for a kernel: the storage range it touches, and where its element 0 sits. */
export interface Operand {
  upload: TypedArray;
  base: number;
  strides: number[];
}

export function operand(x: NDArray): Operand {
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
export function coalesce(shape: readonly number[], strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
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

/**
 * `b` ([batch, k, n]) copied so that each column is contiguous: element (z, i, j) at
 * z*n*k + j*k + i, as float32. A broadcast batch (stride 0) is copied once.
 */
export function columnMajor(b: NDArray): Operand {
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
export function padRows(a: NDArray, rows: number): Operand {
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
export function writeInto(dst: NDArray, values: TypedArray): void {
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
export function flatOutput(result: unknown, length: number, fresh: boolean): Float32Array {
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

/**
 * Converts a kernel's float32 output to `dtype` storage with the same rounding a typed-array
 * store applies; a bool result is stored as 0/1 (true + true is true, not 2), as on every backend.
 */
export function toDtype(values: Float32Array, dtype: DType): TypedArray {
  if (dtype === 'float32') return values;
  const out = allocate(dtype, values.length);
  if (dtype === 'bool') for (let i = 0; i < values.length; i++) out[i] = values[i] ? 1 : 0;
  else out.set(values);
  return out;
}
