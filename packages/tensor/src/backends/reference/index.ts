/**
 * The `reference` backend: every primitive of backend.ts written as the textbook loop,
 * for reading and as the oracle the conformance suite checks the other backends
 * against (packages/tensor/test/conformance.test.ts). Select it with
 * `setBackend('reference')` or `TSGRAD_BACKEND=reference`; it is slow on purpose.
 *
 * Everything is built on one helper, `walk`, an odometer over the indices of a shape
 * that carries each operand's storage position along. An operand is a `Layout`
 * (strides and offset), so a transposed, sliced or broadcast (stride-0) view is read
 * in place, and a reduction's output is just another operand whose stride is 0 along
 * the reduced axes. Results are fresh contiguous arrays. Sums and products accumulate
 * in JS numbers (float64) and are rounded once when stored. There are no fused kernels
 * (the op layer composes softmax, layer norm and GELU's backward from these
 * primitives), no worker pool and no WebAssembly: the fast backend (../fast/) has those.
 */
import type { Backend, BinaryOp, ReduceOp, UnaryOp } from '../../backend.ts';
import { allocate, type DType } from '../../dtype.ts';
import { NDArray } from '../../ndarray.ts';
import { contiguousStrides, sizeOf } from '../../shape.ts';
import { erf, geluErf, geluTanh, sigmoid } from '../../special.ts';

/** Where an operand's elements live: `strides` (in elements) and the `offset` of element 0. An NDArray is one. */
interface Layout {
  readonly strides: readonly number[];
  readonly offset: number;
}

/**
 * Visits every index of `shape` in row-major order (the last axis turns fastest) and
 * calls `visit(pos, idx)`, where `pos[k]` is where that element lives in the storage
 * of operand k and `idx` is the index itself. Both arrays are reused between calls.
 * @example walk([2, 3], [x, y], (pos) => out.push(x.data[pos[0]] + y.data[pos[1]]));
 */
export function walk(shape: readonly number[], operands: readonly Layout[], visit: (pos: number[], idx: number[]) => void): void {
  if (shape.includes(0)) return;
  const idx = shape.map(() => 0);
  const pos = operands.map((op) => op.offset);
  for (;;) {
    visit(pos, idx);
    // advance the odometer: step the last axis; where an axis wraps to 0, carry one step into the axis before it
    let ax = shape.length - 1;
    for (; ax >= 0; ax--) {
      idx[ax]!++;
      for (let k = 0; k < operands.length; k++) pos[k]! += operands[k]!.strides[ax]!;
      if (idx[ax]! < shape[ax]!) break;
      idx[ax] = 0;
      for (let k = 0; k < operands.length; k++) pos[k]! -= operands[k]!.strides[ax]! * shape[ax]!;
    }
    if (ax < 0) return; // every axis wrapped: done (a 0-d shape stops after its one element)
  }
}

/** The layout of `x` with stride 0 along `axes`: walking those axes stays on the same element. */
function fixedAlong(x: Layout, axes: readonly number[]): Layout {
  return { strides: x.strides.map((s, i) => (axes.includes(i) ? 0 : s)), offset: x.offset };
}

/** A value as storing it into `dtype` keeps it; bool stores 0/1 (the typed array rounds the rest). */
function store(dtype: DType, v: number): number {
  return dtype === 'bool' ? (v ? 1 : 0) : v;
}

/** Element `f(x)` for every element of `x`, into a new contiguous array of `dtype`. */
function map(x: NDArray, dtype: DType, f: (v: number) => number): NDArray {
  const out = allocate(dtype, x.size);
  let o = 0;
  walk(x.shape, [x], (pos) => {
    out[o++] = store(dtype, f(x.data[pos[0]!]!));
  });
  return new NDArray(out, x.shape, undefined, 0, dtype);
}

/** What each unary op computes on one number: the semantics every backend follows (fast reuses this table). */
export const UNARY: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  abs: Math.abs,
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : x === 0 ? 0 : NaN),
  exp: Math.exp,
  log: Math.log,
  log1p: Math.log1p,
  expm1: Math.expm1,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  reciprocal: (x) => 1 / x,
  square: (x) => x * x,
  tanh: Math.tanh,
  sigmoid,
  relu: (x) => (x <= 0 ? 0 : x), // NaN is not <= 0, so it propagates, as in maximum(x, 0)
  gelu: geluTanh,
  geluErf,
  erf,
  sin: Math.sin,
  cos: Math.cos,
  floor: Math.floor,
  ceil: Math.ceil,
  round: (x) => {
    // half to even, like torch.round and numpy.round (Math.round sends halves up)
    const r = Math.round(x);
    return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  },
  logicalNot: (x) => (x ? 0 : 1),
  isnan: (x) => (Number.isNaN(x) ? 1 : 0),
  isfinite: (x) => (Number.isFinite(x) ? 1 : 0),
};

/** What each binary op computes on two numbers (fast reuses this table). */
export const BINARY: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  maximum: (a, b) => (a > b || Number.isNaN(a) ? a : b), // a NaN on either side wins
  minimum: (a, b) => (a < b || Number.isNaN(a) ? a : b),
  eq: (a, b) => (a === b ? 1 : 0),
  ne: (a, b) => (a !== b ? 1 : 0),
  lt: (a, b) => (a < b ? 1 : 0),
  le: (a, b) => (a <= b ? 1 : 0),
  gt: (a, b) => (a > b ? 1 : 0),
  ge: (a, b) => (a >= b ? 1 : 0),
  logicalAnd: (a, b) => (a && b ? 1 : 0),
  logicalOr: (a, b) => (a || b ? 1 : 0),
};

function unary(op: UnaryOp, x: NDArray, outDtype: DType): NDArray {
  return map(x, outDtype, UNARY[op]);
}

function cast(x: NDArray, dtype: DType): NDArray {
  return map(x, dtype, (v) => v); // the store converts: float32 rounds, int32 truncates, bool is 0/1
}

function binary(op: BinaryOp, a: NDArray, b: NDArray, outDtype: DType): NDArray {
  const f = BINARY[op];
  const out = allocate(outDtype, a.size);
  let o = 0;
  walk(a.shape, [a, b], (pos) => {
    out[o++] = store(outDtype, f(a.data[pos[0]!]!, b.data[pos[1]!]!));
  });
  return new NDArray(out, a.shape, undefined, 0, outDtype);
}

function where(cond: NDArray, a: NDArray, b: NDArray, outDtype: DType): NDArray {
  const out = allocate(outDtype, a.size);
  let o = 0;
  walk(a.shape, [cond, a, b], (pos) => {
    out[o++] = store(outDtype, cond.data[pos[0]!] ? a.data[pos[1]!]! : b.data[pos[2]!]!);
  });
  return new NDArray(out, a.shape, undefined, 0, outDtype);
}

/** Where each reduction starts, and how it folds in one element (max and min let a NaN win and keep it). */
const START: Record<ReduceOp, number> = { sum: 0, prod: 1, max: -Infinity, min: Infinity };
const FOLD: Record<ReduceOp, (acc: number, v: number) => number> = {
  sum: (acc, v) => acc + v,
  prod: (acc, v) => acc * v,
  max: (acc, v) => (v > acc || Number.isNaN(v) ? v : acc),
  min: (acc, v) => (v < acc || Number.isNaN(v) ? v : acc),
};

/** `out` (float64 values) stored as a new contiguous array of `dtype` and `shape`. */
function fromValues(values: Float64Array, shape: readonly number[], dtype: DType): NDArray {
  const out = allocate(dtype, values.length);
  for (let i = 0; i < values.length; i++) out[i] = store(dtype, values[i]!);
  return new NDArray(out, shape, undefined, 0, dtype);
}

/**
 * Walks every element of x once and folds it into its output slot: the output is a
 * second operand whose stride is 0 along the reduced axes, so all elements that differ
 * only there land in the same slot.
 */
function reduce(op: ReduceOp, x: NDArray, axes: readonly number[]): NDArray {
  const outShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const outDtype: DType = (op === 'sum' || op === 'prod') && x.dtype === 'bool' ? 'int32' : x.dtype;
  const acc = new Float64Array(sizeOf(outShape)).fill(START[op]);
  if ((op === 'max' || op === 'min') && acc.length > 0 && axes.some((a) => x.shape[a] === 0)) {
    throw new Error(`${op}: cannot reduce over an empty axis`);
  }
  const slot = fixedAlong({ strides: contiguousStrides(outShape), offset: 0 }, axes);
  const fold = FOLD[op];
  walk(x.shape, [x, slot], (pos) => {
    acc[pos[1]!] = fold(acc[pos[1]!]!, x.data[pos[0]!]!);
  });
  return fromValues(acc, outShape, outDtype);
}

/** Row-major order visits each line along `axis` from index 0 up, so a strict `>` keeps the first of equal values; the first NaN wins. */
function argReduce(op: 'argmax' | 'argmin', x: NDArray, axis: number): NDArray {
  if (x.shape[axis] === 0) throw new Error(`${op}: cannot reduce over an empty axis`);
  const outShape = x.shape.map((d, i) => (i === axis ? 1 : d));
  const best = new Float64Array(sizeOf(outShape)).fill(op === 'argmax' ? -Infinity : Infinity);
  const at = new Int32Array(best.length);
  const slot = fixedAlong({ strides: contiguousStrides(outShape), offset: 0 }, [axis]);
  walk(x.shape, [x, slot], (pos, idx) => {
    const v = x.data[pos[0]!]!;
    const o = pos[1]!;
    if (Number.isNaN(best[o]!)) return;
    if ((op === 'argmax' ? v > best[o]! : v < best[o]!) || Number.isNaN(v)) {
      best[o] = v;
      at[o] = idx[axis]!;
    }
  });
  return new NDArray(at, outShape, undefined, 0, 'int32');
}

/**
 * `[B, m, k] @ [B, k, n]`, the triple loop: walk the output indices (b, i, j), with a
 * read at row i of a[b] (stride 0 along j) and column j of b[b] (stride 0 along i), then
 * sum the k products in float64. Integer and bool products give int32.
 */
function matmul(a: NDArray, b: NDArray): NDArray {
  const [batch, m, k] = a.shape as [number, number, number];
  const n = b.shape[2]!;
  const dtype: DType = a.dtype === 'float64' || b.dtype === 'float64' ? 'float64' : a.dtype === 'float32' || b.dtype === 'float32' ? 'float32' : 'int32';
  const out = allocate(dtype, batch * m * n);
  const rowOfA: Layout = { strides: [a.strides[0]!, a.strides[1]!, 0], offset: a.offset };
  const colOfB: Layout = { strides: [b.strides[0]!, 0, b.strides[2]!], offset: b.offset };
  const [stepA, stepB] = [a.strides[2]!, b.strides[1]!];
  let o = 0;
  walk([batch, m, n], [rowOfA, colOfB], (pos) => {
    let sum = 0;
    for (let p = 0; p < k; p++) sum += a.data[pos[0]! + p * stepA]! * b.data[pos[1]! + p * stepB]!;
    out[o++] = sum;
  });
  return new NDArray(out, [batch, m, n], undefined, 0, dtype);
}

function assign(dst: NDArray, src: NDArray): void {
  walk(dst.shape, [dst, src], (pos) => {
    dst.data[pos[0]!] = store(dst.dtype, src.data[pos[1]!]!);
  });
}

/** An index value as a position along an axis of `size` (negative counts from the end), or a RangeError. */
function wrapIndex(j: number, size: number, op: string, axisText: string): number {
  const k = j < 0 ? j + size : j;
  if (k < 0 || k >= size) throw new RangeError(`${op}: index ${j} is out of range for ${axisText} of size ${size}`);
  return k;
}

/** A 1-D index array as a list of positions along an axis of `size`, each checked. */
function indexList(index: NDArray, size: number, op: string): number[] {
  const list: number[] = [];
  walk(index.shape, [index], (pos) => list.push(wrapIndex(index.data[pos[0]!]!, size, op, 'an axis')));
  return list;
}

/**
 * For every element of `index` (row-major), the storage position in `target` with its
 * `axis` coordinate replaced by the index value, and the position in each of `others`
 * (operands of index's shape). Every index is checked before anything is returned.
 */
function indexedPositions(op: string, target: NDArray, axis: number, index: NDArray, others: readonly Layout[] = []): number[][] {
  const size = target.shape[axis]!;
  const rows: number[][] = [];
  walk(index.shape, [index, fixedAlong(target, [axis]), ...others], (pos) => {
    const j = wrapIndex(index.data[pos[0]!]!, size, op, `axis ${axis}`);
    rows.push([pos[1]! + j * target.strides[axis]!, ...pos.slice(2)]);
  });
  return rows;
}

function gather(x: NDArray, axis: number, index: NDArray): NDArray {
  const out = allocate(x.dtype, index.size);
  indexedPositions('gather', x, axis, index).forEach(([p], i) => {
    out[i] = x.data[p!]!;
  });
  return new NDArray(out, index.shape, undefined, 0, x.dtype);
}

function scatterAdd(dst: NDArray, axis: number, index: NDArray, src: NDArray): void {
  // positions first, adds second: a bad index throws before dst changes
  for (const [p, q] of indexedPositions('scatterAdd', dst, axis, index, [src])) {
    dst.data[p!] = store(dst.dtype, dst.data[p!]! + src.data[q!]!);
  }
}

function indexSelect(x: NDArray, axis: number, index: NDArray): NDArray {
  const list = indexList(index, x.shape[axis]!, 'indexSelect');
  const outShape = x.shape.map((d, i) => (i === axis ? list.length : d));
  const out = allocate(x.dtype, sizeOf(outShape));
  let o = 0;
  walk(outShape, [fixedAlong(x, [axis])], (pos, idx) => {
    out[o++] = x.data[pos[0]! + list[idx[axis]!]! * x.strides[axis]!]!;
  });
  return new NDArray(out, outShape, undefined, 0, x.dtype);
}

function indexAdd(dst: NDArray, axis: number, index: NDArray, src: NDArray): void {
  const list = indexList(index, dst.shape[axis]!, 'indexAdd');
  walk(src.shape, [src, fixedAlong(dst, [axis])], (pos, idx) => {
    const p = pos[1]! + list[idx[axis]!]! * dst.strides[axis]!;
    dst.data[p] = store(dst.dtype, dst.data[p]! + src.data[pos[0]!]!);
  });
}

/** The reference backend (see the module comment). @example setBackend('reference'); */
export const referenceBackend: Backend = {
  name: 'reference',
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
