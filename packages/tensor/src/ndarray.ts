/**
 * NDArray: a flat typed array seen through a shape, strides and an offset.
 *
 * Element (i0, i1, ..., ik) lives at `data[offset + i0*strides[0] + ... + ik*strides[k]]`.
 * Reshape (when the layout allows), permute, expand, slice and (un)squeeze only
 * change shape/strides/offset: they are views that share `data`. `contiguous()`
 * copies only when the view is not already row-major and dense.
 */
import { allocate, checkedCast, dtypeOfArray, type DType, type TypedArray } from './dtype.ts';
import { formatArray, inspectSymbol } from './format.ts';
import {
  checkShape,
  contiguousStrides,
  normalizeAxis,
  shapeToString,
  sizeOf,
  type Shape,
} from './shape.ts';
import { stridedRows } from './strided.ts';

/** Nested JS arrays as produced by `toArray()` and accepted by `array()`. */
export type NestedArray = number | boolean | NestedArray[];

export class NDArray {
  readonly data: TypedArray;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  readonly dtype: DType;
  readonly size: number;

  constructor(data: TypedArray, shape: Shape, strides?: Shape, offset = 0, dtype?: DType) {
    this.data = data;
    this.shape = Object.freeze([...shape]);
    this.strides = Object.freeze(strides ? [...strides] : contiguousStrides(shape));
    this.offset = offset;
    this.dtype = dtype ?? dtypeOfArray(data);
    this.size = sizeOf(shape);
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** Wraps storage as a contiguous array (no copy). `data.length` must equal the shape's size. */
  static fromTyped(data: TypedArray, shape: Shape, dtype?: DType): NDArray {
    checkShape(shape, 'fromTyped');
    if (data.length !== sizeOf(shape)) {
      throw new Error(`fromTyped: ${data.length} values cannot fill shape ${shapeToString(shape)}`);
    }
    return new NDArray(data, shape, undefined, 0, dtype);
  }

  /** A zero-filled contiguous array. */
  static zeros(shape: Shape, dtype: DType = 'float32'): NDArray {
    checkShape(shape, 'zeros');
    return new NDArray(allocate(dtype, sizeOf(shape)), shape);
  }

  /** True when the elements are laid out densely in row-major order from `offset`. */
  isContiguous(): boolean {
    let expected = 1;
    for (let i = this.ndim - 1; i >= 0; i--) {
      const d = this.shape[i]!;
      if (d !== 1 && this.strides[i] !== expected) return false;
      expected *= d;
    }
    return true;
  }

  /** Flat storage index of a multi-index. */
  index(idx: readonly number[]): number {
    if (idx.length !== this.ndim) {
      throw new Error(`get: index of length ${idx.length} for a tensor of shape ${shapeToString(this.shape)}`);
    }
    let p = this.offset;
    for (let i = 0; i < idx.length; i++) {
      const d = this.shape[i]!;
      if (!Number.isInteger(idx[i])) throw new RangeError(`get: index ${idx[i]} for axis ${i} is not an integer`);
      const k = idx[i]! < 0 ? idx[i]! + d : idx[i]!;
      if (k < 0 || k >= d) throw new RangeError(`get: index ${idx[i]} out of range for axis ${i} of size ${d}`);
      p += k * this.strides[i]!;
    }
    return p;
  }

  /** Reads one element by multi-index. */
  get(...idx: number[]): number {
    return this.data[this.index(idx)]!;
  }

  /** Writes one element by multi-index (rounded to the dtype; an int32 value must fit). */
  set(value: number, ...idx: number[]): void {
    this.data[this.index(idx)] = checkedCast(value, this.dtype, 'set');
  }

  /** The single value of a one-element array. */
  item(): number {
    if (this.size !== 1) throw new Error(`item: tensor of shape ${shapeToString(this.shape)} has ${this.size} elements, not 1`);
    return this.data[this.offset + 0]!;
  }

  /**
   * Visits every element in row-major order, passing its storage position and its
   * row-major position. A convenience for code that is not hot: it walks the rows of
   * `stridedRows` (strided.ts), the one strided walk every loop builds on, and calls
   * `fn` per element; kernels loop over the rows themselves.
   * @example x.forEachIndex((p, i) => (out[i] = x.data[p]!));
   */
  forEachIndex(fn: (storageIndex: number, flatIndex: number) => void): void {
    const { length, count, step, start } = stridedRows(this.shape, [this]);
    const s = step[0]!;
    const rows = start[0]!;
    for (let r = 0, i = 0; r < count; r++) {
      for (let j = 0, p = rows[r]!; j < length; j++, p += s) fn(p, i++);
    }
  }

  /** A dense row-major copy of the elements as a new typed array of this dtype. */
  toTyped(): TypedArray {
    if (this.isContiguous()) return this.data.slice(this.offset, this.offset + this.size);
    const out = allocate(this.dtype, this.size);
    copyInto(this, out, 'float64');
    return out;
  }

  /** The elements in row-major order as a Float64Array (a copy). */
  toFloat64Array(): Float64Array {
    const out = new Float64Array(this.size);
    copyInto(this, out, 'float64');
    return out;
  }

  /** Returns this array if it is contiguous and starts at offset 0, else a dense copy. */
  contiguous(): NDArray {
    if (this.isContiguous() && this.offset === 0 && this.data.length === this.size) return this;
    return new NDArray(this.toTyped(), this.shape, undefined, 0, this.dtype);
  }

  /** A copy converted to `dtype` (always a new, contiguous array). */
  astype(dtype: DType): NDArray {
    const out = allocate(dtype, this.size);
    copyInto(this, out, dtype);
    return new NDArray(out, this.shape, undefined, 0, dtype);
  }

  /** Nested JS arrays (booleans for `bool`); name the type to index it: `x.toArray<number[][]>()[0]![1]`. */
  toArray<T extends NestedArray = NestedArray>(): T {
    return this.tolist<T>();
  }
  /** Nested JS arrays (a number for a 0-d array), like `tensor.tolist()` in PyTorch. */
  tolist<T extends NestedArray = NestedArray>(): T {
    const flat = this.toTyped();
    const asBool = this.dtype === 'bool';
    const build = (dim: number, start: number): NestedArray => {
      if (dim === this.ndim) return asBool ? flat[start] !== 0 : flat[start]!;
      const step = sizeOf(this.shape.slice(dim + 1));
      const out: NestedArray[] = [];
      for (let i = 0; i < this.shape[dim]!; i++) out.push(build(dim + 1, start + i * step));
      return out;
    };
    return build(0, 0) as T;
  }

  // ---------------------------------------------------------------- views

  /**
   * Same elements, new shape. A view when the strides allow it (always for contiguous
   * arrays), otherwise a copy, like `torch.reshape`. One dimension may be -1.
   */
  reshape(shape: Shape): NDArray {
    const target = inferShape(shape, this.size, this.shape);
    if (this.isContiguous()) return new NDArray(this.data, target, undefined, this.offset, this.dtype);
    const strides = viewStrides(this.shape, this.strides, target);
    if (strides) return new NDArray(this.data, target, strides, this.offset, this.dtype);
    return this.contiguous().reshape(target);
  }

  /** Reorders the axes: `permute([1, 0])` is the matrix transpose. */
  permute(dims: readonly number[]): NDArray {
    if (dims.length !== this.ndim) {
      throw new Error(`permute: dims [${dims.join(', ')}] do not match a tensor of shape ${shapeToString(this.shape)}`);
    }
    const seen = new Set<number>();
    const axes = dims.map((d) => normalizeAxis(d, this.ndim, 'permute'));
    for (const a of axes) {
      if (seen.has(a)) throw new Error(`permute: dims [${dims.join(', ')}] repeat an axis`);
      seen.add(a);
    }
    return new NDArray(
      this.data,
      axes.map((a) => this.shape[a]!),
      axes.map((a) => this.strides[a]!),
      this.offset,
      this.dtype,
    );
  }

  /** Swaps two axes (a view). */
  transpose(d0: number, d1: number): NDArray {
    const a = normalizeAxis(d0, this.ndim, 'transpose');
    const b = normalizeAxis(d1, this.ndim, 'transpose');
    const dims = Array.from({ length: this.ndim }, (_, i) => i);
    dims[a] = b;
    dims[b] = a;
    return this.permute(dims);
  }

  /**
   * Broadcasts to a larger shape without copying: new leading axes and size-1 axes
   * get stride 0. A -1 keeps the existing size; any other size must be a
   * non-negative integer.
   */
  expand(shape: Shape): NDArray {
    const n = shape.length;
    if (shape.some((d) => d !== -1 && !(Number.isInteger(d) && d >= 0))) {
      throw new RangeError(`expand: invalid size in ${shapeToString(shape)} (sizes are non-negative integers, or -1 to keep one)`);
    }
    if (n < this.ndim) {
      throw new Error(`expand: cannot expand shape ${shapeToString(this.shape)} to ${shapeToString(shape)}`);
    }
    const lead = n - this.ndim;
    const outShape: number[] = [];
    const strides: number[] = [];
    for (let i = 0; i < n; i++) {
      const want = shape[i]!;
      if (i < lead) {
        if (want < 0) throw new Error(`expand: -1 is not allowed for a new leading axis in ${shapeToString(shape)}`);
        outShape.push(want);
        strides.push(0);
        continue;
      }
      const have = this.shape[i - lead]!;
      const size = want === -1 ? have : want;
      if (have === size) {
        outShape.push(size);
        strides.push(this.strides[i - lead]!);
      } else if (have === 1) {
        outShape.push(size);
        strides.push(0);
      } else {
        throw new Error(`expand: cannot expand shape ${shapeToString(this.shape)} to ${shapeToString(shape)}`);
      }
    }
    return new NDArray(this.data, outShape, strides, this.offset, this.dtype);
  }

  /**
   * Python-style slice of one axis: `start` inclusive, `end` exclusive, `step` > 0.
   * Negative start/end count from the end; out-of-range bounds are clamped.
   */
  slice(axis: number, start = 0, end?: number, step = 1): NDArray {
    const ax = normalizeAxis(axis, this.ndim, 'slice');
    if (!Number.isInteger(step) || step <= 0) throw new RangeError(`slice: step must be a positive integer, got ${step}`);
    if (!Number.isInteger(start) || (end !== undefined && !Number.isInteger(end))) {
      throw new RangeError(`slice: start ${start} and end ${end} must be integers`);
    }
    const d = this.shape[ax]!;
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
    const s = clamp(start);
    const e = clamp(end ?? d);
    const len = e > s ? Math.ceil((e - s) / step) : 0;
    const shape = [...this.shape];
    const strides = [...this.strides];
    shape[ax] = len;
    strides[ax] = this.strides[ax]! * step;
    return new NDArray(this.data, shape, strides, this.offset + s * this.strides[ax]!, this.dtype);
  }

  /** `length` elements of `axis` starting at `start` (PyTorch's `narrow`). */
  narrow(axis: number, start: number, length: number): NDArray {
    const ax = normalizeAxis(axis, this.ndim, 'narrow');
    const d = this.shape[ax]!;
    if (!Number.isInteger(start) || !Number.isInteger(length)) {
      throw new RangeError(`narrow: start ${start} and length ${length} must be integers`);
    }
    const s = start < 0 ? start + d : start;
    if (s < 0 || length < 0 || s + length > d) {
      throw new RangeError(`narrow: [${start}, ${start}+${length}) is out of range for axis ${axis} of size ${d}`);
    }
    return this.slice(ax, s, s + length);
  }

  /** Inserts a size-1 axis at `axis` (which may equal ndim). */
  unsqueeze(axis: number): NDArray {
    const ax = normalizeAxis(axis, this.ndim + 1, 'unsqueeze');
    const shape = [...this.shape];
    const strides = [...this.strides];
    const stride = ax < this.ndim ? this.strides[ax]! * this.shape[ax]! : 1;
    shape.splice(ax, 0, 1);
    strides.splice(ax, 0, stride);
    return new NDArray(this.data, shape, strides, this.offset, this.dtype);
  }

  /** Removes size-1 axes: the given one (left alone if its size is not 1), or all of them. */
  squeeze(axis?: number | readonly number[]): NDArray {
    const drop = new Set<number>();
    if (axis === undefined) {
      this.shape.forEach((d, i) => d === 1 && drop.add(i));
    } else {
      for (const a of typeof axis === 'number' ? [axis] : axis) {
        const ax = normalizeAxis(a, this.ndim, 'squeeze');
        if (this.shape[ax] === 1) drop.add(ax);
      }
    }
    return new NDArray(
      this.data,
      this.shape.filter((_, i) => !drop.has(i)),
      this.strides.filter((_, i) => !drop.has(i)),
      this.offset,
      this.dtype,
    );
  }

  /** PyTorch-style values with dtype and shape (see format.ts); also what console.log shows. */
  toString(): string {
    return formatArray('NDArray', this);
  }
  [inspectSymbol](): string {
    return this.toString();
  }
}

/** Resolves a single -1 in a requested shape and checks the element count. */
export function inferShape(shape: Shape, size: number, from: Shape): number[] {
  const out = [...shape];
  const free = out.indexOf(-1);
  if (out.indexOf(-1, free + 1) !== -1 && free !== -1) throw new Error(`reshape: only one -1 allowed in ${shapeToString(shape)}`);
  if (free !== -1) {
    const rest = sizeOf(out.filter((_, i) => i !== free));
    if (rest === 0 || size % rest !== 0) {
      throw new Error(`reshape: cannot reshape ${shapeToString(from)} (${size} elements) to ${shapeToString(shape)}`);
    }
    out[free] = size / rest;
  }
  checkShape(out, 'reshape');
  if (sizeOf(out) !== size) {
    throw new Error(`reshape: cannot reshape ${shapeToString(from)} (${size} elements) to ${shapeToString(shape)}`);
  }
  return out;
}

/**
 * Strides for viewing (shape, strides) as `target` without a copy, or null when
 * impossible. Works by matching groups of old axes to groups of new axes with the
 * same element count; each old group must itself be contiguous.
 */
function viewStrides(shape: Shape, strides: Shape, target: Shape): number[] | null {
  const oldShape = shape.filter((d) => d !== 1);
  const oldStrides = strides.filter((_, i) => shape[i] !== 1);
  const out = new Array<number>(target.length).fill(0);
  let oi = 0;
  let ti = 0;
  while (ti < target.length || oi < oldShape.length) {
    // size-1 target axes take any stride
    if (ti < target.length && target[ti] === 1) {
      out[ti] = 1;
      ti++;
      continue;
    }
    if (oi >= oldShape.length || ti >= target.length) return null;
    let oldSize = oldShape[oi]!;
    let newSize = target[ti]!;
    const oStart = oi;
    const tStart = ti;
    while (oldSize !== newSize) {
      if (oldSize < newSize) {
        oi++;
        if (oi >= oldShape.length) return null;
        oldSize *= oldShape[oi]!;
      } else {
        ti++;
        if (ti >= target.length) return null;
        newSize *= target[ti]!;
      }
    }
    for (let k = oStart; k < oi; k++) {
      if (oldStrides[k] !== oldStrides[k + 1]! * oldShape[k + 1]!) return null;
    }
    let s = oldStrides[oi]!;
    for (let k = ti; k >= tStart; k--) {
      out[k] = s;
      s *= target[k]!;
    }
    oi++;
    ti++;
  }
  return out;
}

/**
 * Copies the elements of `x` in row-major order into the dense `out`, converting as a
 * store into `dtype` does: bool becomes 0/1, int32 truncates toward zero (a typed
 * array store alone would wrap). Walks whole rows (see strided.ts), not one callback
 * per element.
 */
function copyInto(x: NDArray, out: TypedArray, dtype: DType): void {
  const { length, count, step, start } = stridedRows(x.shape, [x]);
  const src = x.data;
  const s = step[0]!;
  const rows = start[0]!;
  let o = 0;
  for (let r = 0; r < count; r++) {
    let q = rows[r]!;
    if (dtype === 'bool') {
      for (let j = 0; j < length; j++, q += s) out[o++] = src[q] ? 1 : 0;
    } else if (dtype === 'int32') {
      for (let j = 0; j < length; j++, q += s) out[o++] = Math.trunc(src[q]!);
    } else if (s === 1 && src.length > 0) {
      out.set(src.subarray(q, q + length), o);
      o += length;
    } else {
      for (let j = 0; j < length; j++, q += s) out[o++] = src[q]!;
    }
  }
}
