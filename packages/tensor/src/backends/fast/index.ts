/**
 * The `fast` backend (registered as `fast`, with `js` as an older alias): the default,
 * tuned for speed. The textbook version of every primitive is in ../reference/.
 *
 * Strided inputs are walked row by row: `stridedRows` (../strided.ts) merges the axes
 * that are contiguous in every operand and gives each row's start, and loops step
 * through a row with a plain stride (a dense array is a single row). The older helper
 * `positions(x)` lists the storage index of every element (null when x is dense); the
 * index ops still use it.
 * Sums accumulate in JS numbers (float64) even for float32 data. The hot paths have
 * their own files: the blocked matmul (matmul-kernel.ts, matmul-pool.ts) and the fused
 * layer norm (layer-norm-kernel.ts).
 */
import type { Backend, BinaryOp, ReduceOp, UnaryOp } from '../../backend.ts';
import { allocate, type DType, type TypedArray } from '../../dtype.ts';
import { NDArray } from '../../ndarray.ts';
import { contiguousStrides, sizeOf } from '../../shape.ts';
import { stridedRows } from '../../strided.ts';
import { erf, geluErf, geluErfGrad, geluTanh, geluTanhGrad, sigmoid } from '../../special.ts';
import { layerNorm, layerNormBackward } from './layer-norm-kernel.ts';
import { matmulStrided, newScratch } from './matmul-kernel.ts';
import { parallelMatmul, type StridedBatch } from './matmul-pool.ts';
import { f32Kernel } from './wasm/gemm.ts';

/** Packing buffers of the single-threaded matmul, reused across calls. */
const matmulScratch = newScratch();

/** Storage index of each element in row-major order, or null if `x` is dense. */
export function positions(x: NDArray): Int32Array | null {
  if (x.isContiguous()) return null;
  const n = x.size;
  const pos = new Int32Array(n);
  if (n === 0) return pos;
  // Fill one run of the last axis at a time and carry into the outer axes only at
  // the end of a run (no callback per element: this runs for every broadcast operand).
  const nd = x.ndim;
  const shape = x.shape;
  const strides = x.strides;
  const len = shape[nd - 1]!;
  const step = strides[nd - 1]!;
  const counter = new Array<number>(nd).fill(0);
  let p = x.offset;
  let i = 0;
  while (i < n) {
    for (let j = 0, q = p; j < len; j++, q += step) pos[i++] = q;
    for (let ax = nd - 2; ax >= 0; ax--) {
      p += strides[ax]!;
      if (++counter[ax]! < shape[ax]!) break;
      p -= strides[ax]! * shape[ax]!;
      counter[ax] = 0;
    }
  }
  return pos;
}

/** True when every element of `x` is the same storage element (a broadcast scalar). */
function isBroadcastScalar(x: NDArray): boolean {
  for (let i = 0; i < x.ndim; i++) if (x.strides[i] !== 0 && x.shape[i] !== 1) return false;
  return true;
}

const UNARY: Record<UnaryOp, (x: number) => number> = {
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
  relu: (x) => (x <= 0 ? 0 : x), // NaN propagates, as in maximum(x, 0)
  gelu: geluTanh,
  geluErf,
  erf,
  sin: Math.sin,
  cos: Math.cos,
  floor: Math.floor,
  ceil: Math.ceil,
  round: (x) => {
    // round half to even, like torch.round / numpy.round
    const r = Math.round(x);
    return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  },
  logicalNot: (x) => (x ? 0 : 1),
  isnan: (x) => (Number.isNaN(x) ? 1 : 0),
  isfinite: (x) => (Number.isFinite(x) ? 1 : 0),
};

const BINARY: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  maximum: (a, b) => (a > b || Number.isNaN(a) ? a : b),
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
  const out = allocate(outDtype, x.size);
  const src = x.data;
  const { length, count, step, start } = stridedRows(x.shape, [x]);
  const s = step[0]!;
  const rows = start[0]!;
  // The most frequent ops of training get their own loop, so the engine does not call a
  // closure per element; the rest share one loop over the UNARY table.
  const f = outDtype === 'bool' ? (v: number) => (UNARY[op](v) ? 1 : 0) : UNARY[op];
  const kind = outDtype === 'bool' ? '' : op;
  for (let r = 0, o = 0; r < count; r++) {
    let q = rows[r]!;
    switch (kind) {
      case 'neg':
        for (let j = 0; j < length; j++, q += s) out[o++] = -src[q]!;
        break;
      case 'exp':
        for (let j = 0; j < length; j++, q += s) out[o++] = Math.exp(src[q]!);
        break;
      case 'relu':
        for (let j = 0; j < length; j++, q += s) {
          const v = src[q]!;
          out[o++] = v <= 0 ? 0 : v; // NaN propagates, as in maximum(x, 0)
        }
        break;
      case 'gelu':
        for (let j = 0; j < length; j++, q += s) out[o++] = geluTanh(src[q]!);
        break;
      case 'tanh':
        for (let j = 0; j < length; j++, q += s) out[o++] = Math.tanh(src[q]!);
        break;
      default:
        for (let j = 0; j < length; j++, q += s) out[o++] = f(src[q]!);
    }
  }
  return new NDArray(out, x.shape, undefined, 0, outDtype);
}

/** `g * gelu'(x)`, the backward of GELU in one pass (see special.ts for the derivatives). */
function geluBackward(x: NDArray, g: NDArray, approximate: 'tanh' | 'none'): NDArray {
  const dtype: DType = x.dtype === 'float64' ? 'float64' : 'float32';
  const out = allocate(dtype, x.size);
  const { length, count, step, start } = stridedRows(x.shape, [x, g]);
  const xd = x.data;
  const gd = g.data;
  const sx = step[0]!;
  const sg = step[1]!;
  for (let r = 0, o = 0; r < count; r++) {
    let p = start[0]![r]!;
    let q = start[1]![r]!;
    if (approximate === 'tanh') for (let j = 0; j < length; j++, p += sx, q += sg) out[o++] = gd[q]! * geluTanhGrad(xd[p]!);
    else for (let j = 0; j < length; j++, p += sx, q += sg) out[o++] = gd[q]! * geluErfGrad(xd[p]!);
  }
  return new NDArray(out, x.shape, undefined, 0, dtype);
}

function binary(op: BinaryOp, a: NDArray, b: NDArray, outDtype: DType): NDArray {
  const out = allocate(outDtype, a.size);
  const ad = a.data;
  const bd = b.data;
  const arithmetic = outDtype !== 'bool' && (op === 'add' || op === 'sub' || op === 'mul' || op === 'div');
  // `x op scalar` (x * 2, x / count, x + eps) is frequent in training; the scalar
  // arrives broadcast to x's shape, so read it once instead of listing positions.
  if (arithmetic && a.isContiguous() && isBroadcastScalar(b)) {
    scalarLoop(op, out, ad, a.offset, bd[b.offset]!, false);
    return new NDArray(out, a.shape, undefined, 0, outDtype);
  }
  if (arithmetic && b.isContiguous() && isBroadcastScalar(a)) {
    scalarLoop(op, out, bd, b.offset, ad[a.offset]!, true);
    return new NDArray(out, a.shape, undefined, 0, outDtype);
  }
  // A bool result must be stored as 0/1 (true + true is true), so it skips the spelled-out loops.
  const g = BINARY[op];
  const f = outDtype === 'bool' ? (x: number, y: number) => (g(x, y) ? 1 : 0) : g;
  // Both operands are walked row by row (see strided.ts): dense operands form one row, a
  // broadcast bias row restarts at each row. The four arithmetic ops, the hot path of
  // training, are spelled out so the engine does not call a closure per element.
  const { length, count, step, start } = stridedRows(a.shape, [a, b]);
  const [sa, sb] = step as [number, number];
  for (let r = 0, o = 0; r < count; r++) {
    let pa = start[0]![r]!;
    let pb = start[1]![r]!;
    switch (arithmetic ? op : '') {
      case 'add':
        for (let j = 0; j < length; j++, pa += sa, pb += sb) out[o++] = ad[pa]! + bd[pb]!;
        break;
      case 'sub':
        for (let j = 0; j < length; j++, pa += sa, pb += sb) out[o++] = ad[pa]! - bd[pb]!;
        break;
      case 'mul':
        for (let j = 0; j < length; j++, pa += sa, pb += sb) out[o++] = ad[pa]! * bd[pb]!;
        break;
      case 'div':
        for (let j = 0; j < length; j++, pa += sa, pb += sb) out[o++] = ad[pa]! / bd[pb]!;
        break;
      default:
        for (let j = 0; j < length; j++, pa += sa, pb += sb) out[o++] = f(ad[pa]!, bd[pb]!);
    }
  }
  return new NDArray(out, a.shape, undefined, 0, outDtype);
}

/** `out[i] = x[off + i] op s`, or `s op x[off + i]` when `scalarFirst`, for the four arithmetic ops. */
function scalarLoop(op: BinaryOp, out: TypedArray, x: TypedArray, off: number, s: number, scalarFirst: boolean): void {
  const n = out.length;
  switch (op) {
    case 'add':
      for (let i = 0; i < n; i++) out[i] = x[off + i]! + s;
      break;
    case 'mul':
      for (let i = 0; i < n; i++) out[i] = x[off + i]! * s;
      break;
    case 'sub':
      if (scalarFirst) for (let i = 0; i < n; i++) out[i] = s - x[off + i]!;
      else for (let i = 0; i < n; i++) out[i] = x[off + i]! - s;
      break;
    case 'div':
      if (scalarFirst) for (let i = 0; i < n; i++) out[i] = s / x[off + i]!;
      else for (let i = 0; i < n; i++) out[i] = x[off + i]! / s;
      break;
  }
}

function where(cond: NDArray, a: NDArray, b: NDArray, outDtype: DType): NDArray {
  const out = allocate(outDtype, a.size);
  const cd = cond.data;
  const ad = a.data;
  const bd = b.data;
  const { length, count, step, start } = stridedRows(a.shape, [cond, a, b]);
  const [sc, sa, sb] = step as [number, number, number];
  for (let r = 0, o = 0; r < count; r++) {
    let pc = start[0]![r]!;
    let pa = start[1]![r]!;
    let pb = start[2]![r]!;
    for (let j = 0; j < length; j++, pc += sc, pa += sa, pb += sb) out[o++] = cd[pc] ? ad[pa]! : bd[pb]!;
  }
  return new NDArray(out, a.shape, undefined, 0, outDtype);
}

/**
 * Moves the reduced axes last so each output element reduces one run of `inner`
 * consecutive elements of the permuted view.
 */
function splitForReduce(x: NDArray, axes: readonly number[]) {
  const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const view = x.permute([...kept, ...axes]);
  const inner = sizeOf(axes.map((a) => x.shape[a]!));
  const outer = inner === 0 ? sizeOf(kept.map((a) => x.shape[a]!)) : x.size / inner;
  const outShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  return { view, inner, outer, outShape, pos: positions(view) };
}

/**
 * Reductions walk x row by row in its own layout (see strided.ts) and fold each element
 * into its output slot, treating the output as a second operand with stride 0 along the
 * reduced axes. Summing a batch axis thus adds whole contiguous rows into the output,
 * and summing the last axis runs one accumulator along each row; nothing is allocated
 * per element. Accumulators are float64 whatever the dtype.
 */
function reduce(op: ReduceOp, x: NDArray, axes: readonly number[]): NDArray {
  const outShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const outDtype: DType = op === 'sum' || op === 'prod' ? (x.dtype === 'bool' ? 'int32' : x.dtype) : x.dtype;
  const outSize = sizeOf(outShape);
  if ((op === 'max' || op === 'min') && outSize > 0 && sizeOf(axes.map((a) => x.shape[a]!)) === 0) {
    throw new Error(`${op}: cannot reduce over an empty axis`);
  }
  const acc = new Float64Array(outSize).fill(op === 'sum' ? 0 : op === 'prod' ? 1 : op === 'max' ? -Infinity : Infinity);
  const accStrides = contiguousStrides(outShape).map((s, i) => (axes.includes(i) ? 0 : s));
  const { length, count, step, start } = stridedRows(x.shape, [x, { strides: accStrides, offset: 0 }]);
  const src = x.data;
  const sx = step[0]!;
  const sa = step[1]!;
  const rowX = start[0]!;
  const rowA = start[1]!;
  for (let r = 0; r < count; r++) {
    let px = rowX[r]!;
    const pa = rowA[r]!;
    if (sa === 0) {
      // the whole row folds into one output element
      let v = acc[pa]!;
      switch (op) {
        case 'sum':
          for (let j = 0; j < length; j++, px += sx) v += src[px]!;
          break;
        case 'prod':
          for (let j = 0; j < length; j++, px += sx) v *= src[px]!;
          break;
        case 'max':
          for (let j = 0; j < length; j++, px += sx) {
            const e = src[px]!;
            if (e > v || e !== e) v = e; // NaN wins, and stays
          }
          break;
        case 'min':
          for (let j = 0; j < length; j++, px += sx) {
            const e = src[px]!;
            if (e < v || e !== e) v = e;
          }
          break;
      }
      acc[pa] = v;
    } else {
      // the row runs along kept axes: fold it elementwise into a row of the output
      switch (op) {
        case 'sum':
          for (let j = 0, q = pa; j < length; j++, px += sx, q += sa) acc[q] += src[px]!;
          break;
        case 'prod':
          for (let j = 0, q = pa; j < length; j++, px += sx, q += sa) acc[q] *= src[px]!;
          break;
        case 'max':
          for (let j = 0, q = pa; j < length; j++, px += sx, q += sa) {
            const e = src[px]!;
            if (e > acc[q]! || e !== e) acc[q] = e;
          }
          break;
        case 'min':
          for (let j = 0, q = pa; j < length; j++, px += sx, q += sa) {
            const e = src[px]!;
            if (e < acc[q]! || e !== e) acc[q] = e;
          }
          break;
      }
    }
  }
  if (outDtype === 'float64') return new NDArray(acc, outShape, undefined, 0, outDtype);
  const out = allocate(outDtype, outSize);
  out.set(acc);
  return new NDArray(out, outShape, undefined, 0, outDtype);
}

/**
 * Fused softmax (or log-softmax) along `axis`, one pass per line instead of the five
 * array ops of the composed form: the line's maximum m, then s = sum exp(x - m) in
 * float64, then exp(x - m) / s (or x - (m + log s)). Where m is infinite the shift is
 * taken as 0 for log-softmax and left as m for softmax, exactly as the composed ops
 * in ops/reduce.ts do, so both give the same NaN/infinity results.
 */
function softmax(x: NDArray, axis: number, log: boolean): NDArray {
  const dtype: DType = x.dtype === 'float64' ? 'float64' : 'float32';
  const out = allocate(dtype, x.size);
  const d = x.shape[axis]!;
  const outStrides = contiguousStrides(x.shape);
  const drop = <T,>(list: readonly T[]) => list.filter((_, i) => i !== axis);
  // one "line" per index of the other axes; within a line, element t is t strides along `axis`
  const lines = stridedRows(drop(x.shape), [
    { strides: drop(x.strides), offset: x.offset },
    { strides: drop(outStrides), offset: 0 },
  ]);
  const src = x.data;
  const sx = x.strides[axis]!;
  const so = outStrides[axis]!;
  const exps = new Float64Array(d); // exp(x - m) of the current line
  for (let r = 0; r < lines.count; r++) {
    for (let j = 0; j < lines.length; j++) {
      const px = lines.start[0]![r]! + j * lines.step[0]!;
      const po = lines.start[1]![r]! + j * lines.step[1]!;
      let m = -Infinity;
      for (let t = 0, q = px; t < d; t++, q += sx) {
        const v = src[q]!;
        if (v > m || v !== v) m = v;
      }
      const shift = log && !Number.isFinite(m) ? 0 : m;
      let sum = 0;
      for (let t = 0, q = px; t < d; t++, q += sx) {
        const e = Math.exp(src[q]! - shift);
        exps[t] = e;
        sum += e;
      }
      if (log) {
        const lse = Math.log(sum) + shift;
        for (let t = 0, q = px, o = po; t < d; t++, q += sx, o += so) out[o] = src[q]! - lse;
      } else {
        const inv = 1 / sum;
        for (let t = 0, o = po; t < d; t++, o += so) out[o] = exps[t]! * inv;
      }
    }
  }
  return new NDArray(out, x.shape, undefined, 0, dtype);
}

function argReduce(op: 'argmax' | 'argmin', x: NDArray, axis: number): NDArray {
  const { view, inner, outer, outShape, pos } = splitForReduce(x, [axis]);
  if (inner === 0) throw new Error(`${op}: cannot reduce over an empty axis`);
  const out = new Int32Array(outer);
  const src = view.data;
  const sign = op === 'argmax' ? 1 : -1;
  for (let o = 0; o < outer; o++) {
    let best = 0;
    let bestVal = src[pos === null ? view.offset + o * inner : pos[o * inner]!]! * sign;
    for (let j = 1; j < inner; j++) {
      const v = src[pos === null ? view.offset + o * inner + j : pos[o * inner + j]!]! * sign;
      if (Number.isNaN(bestVal)) break;
      if (v > bestVal || Number.isNaN(v)) {
        bestVal = v;
        best = j;
      }
    }
    out[o] = best;
  }
  return new NDArray(out, outShape, undefined, 0, 'int32');
}

/**
 * Batched matmul. The kernel (matmul-kernel.ts) reads operands through their strides,
 * so transposed, sliced or broadcast (batch stride 0) inputs are never copied; large
 * products are shared among cores by the worker pool (matmul-pool.ts). Float32 products
 * run on a WebAssembly SIMD micro-kernel (wasm/gemm.ts) unless `TSGRAD_WASM=0`.
 */
function matmul(a: NDArray, b: NDArray): NDArray {
  const [batch, m, k] = a.shape as [number, number, number];
  const n = b.shape[2]!;
  const wanted: DType = a.dtype === 'float64' || b.dtype === 'float64' ? 'float64' : a.dtype === 'float32' || b.dtype === 'float32' ? 'float32' : 'int32';
  // Integer products are computed in float64 and cast back at the end.
  const work: DType = wanted === 'int32' ? 'float64' : wanted;
  const out = allocate(work, batch * m * n) as Float32Array | Float64Array;
  const view = (x: NDArray): StridedBatch => ({
    data: x.data,
    offset: x.offset,
    batchStride: x.shape[0] === 1 ? 0 : x.strides[0]!,
    rowStride: x.strides[1]!,
    colStride: x.strides[2]!,
  });
  const va = view(a);
  const vb = view(b);
  if (!parallelMatmul(va, vb, out, batch, m, k, n)) {
    // all-float32 products use the WebAssembly SIMD kernel when available (wasm/gemm.ts)
    const f32 = out instanceof Float32Array && va.data instanceof Float32Array && vb.data instanceof Float32Array ? f32Kernel() : undefined;
    for (let bi = 0; bi < batch; bi++) {
      if (f32) {
        f32(
          { data: va.data, offset: va.offset + bi * va.batchStride, rowStride: va.rowStride, colStride: va.colStride },
          { data: vb.data, offset: vb.offset + bi * vb.batchStride, rowStride: vb.rowStride, colStride: vb.colStride },
          { data: out as Float32Array, offset: bi * m * n, rowStride: n },
          m,
          k,
          n,
        );
        continue;
      }
      matmulStrided(
        { data: va.data, offset: va.offset + bi * va.batchStride, rowStride: va.rowStride, colStride: va.colStride },
        { data: vb.data, offset: vb.offset + bi * vb.batchStride, rowStride: vb.rowStride, colStride: vb.colStride },
        { data: out, offset: bi * m * n, rowStride: n },
        m,
        k,
        n,
        matmulScratch,
      );
    }
  }
  const result = new NDArray(out, [batch, m, n], undefined, 0, work);
  return wanted === work ? result : result.astype(wanted);
}

function cast(x: NDArray, dtype: DType): NDArray {
  return x.astype(dtype);
}

function assign(dst: NDArray, src: NDArray): void {
  const dd = dst.data;
  const sd = src.data;
  const toBool = dst.dtype === 'bool';
  const { length, count, step, start } = stridedRows(dst.shape, [dst, src]);
  const [sDst, sSrc] = step as [number, number];
  for (let r = 0; r < count; r++) {
    let pd = start[0]![r]!;
    let ps = start[1]![r]!;
    if (toBool) for (let j = 0; j < length; j++, pd += sDst, ps += sSrc) dd[pd] = sd[ps] ? 1 : 0;
    else for (let j = 0; j < length; j++, pd += sDst, ps += sSrc) dd[pd] = sd[ps]!;
  }
}

/**
 * Shared loop for gather and scatterAdd: for every element of `index` (row-major),
 * yields the storage position in `target` obtained by replacing coordinate `axis`
 * with the index value, and the element's own flat position.
 */
function forEachIndexed(target: NDArray, axis: number, index: NDArray, op: string, fn: (targetPos: number, i: number) => void): void {
  const nd = index.ndim;
  const counter = new Array<number>(nd).fill(0);
  const idx = index.data;
  const pi = positions(index);
  const size = target.shape[axis]!;
  for (let i = 0; i < index.size; i++) {
    let j = idx[pi === null ? index.offset + i : pi[i]!]!;
    if (j < 0) j += size;
    if (j < 0 || j >= size) throw new RangeError(`${op}: index ${idx[pi === null ? index.offset + i : pi[i]!]} is out of range for axis ${axis} of size ${size}`);
    let p = target.offset;
    for (let d = 0; d < nd; d++) p += (d === axis ? j : counter[d]!) * target.strides[d]!;
    fn(p, i);
    for (let d = nd - 1; d >= 0; d--) {
      if (++counter[d]! < index.shape[d]!) break;
      counter[d] = 0;
    }
  }
}

function gather(x: NDArray, axis: number, index: NDArray): NDArray {
  const out = allocate(x.dtype, index.size);
  const src = x.data;
  forEachIndexed(x, axis, index, 'gather', (p, i) => {
    out[i] = src[p]!;
  });
  return new NDArray(out, index.shape, undefined, 0, x.dtype);
}

function scatterAdd(dst: NDArray, axis: number, index: NDArray, src: NDArray): void {
  const sd = src.data;
  const ps = positions(src);
  const dd = dst.data;
  forEachIndexed(dst, axis, index, 'scatterAdd', (p, i) => {
    dd[p] = dd[p]! + sd[ps === null ? src.offset + i : ps[i]!]!;
  });
}

function readIndex(index: NDArray, size: number, op: string): Int32Array {
  const idx = Int32Array.from(index.toTyped());
  for (let k = 0; k < idx.length; k++) {
    const j = idx[k]! < 0 ? idx[k]! + size : idx[k]!;
    if (j < 0 || j >= size) throw new RangeError(`${op}: index ${idx[k]} is out of range for an axis of size ${size}`);
    idx[k] = j;
  }
  return idx;
}

function indexSelect(x: NDArray, axis: number, index: NDArray): NDArray {
  const idx = readIndex(index, x.shape[axis]!, 'indexSelect');
  const outShape = [...x.shape];
  outShape[axis] = idx.length;
  const out = NDArray.zeros(outShape, x.dtype);
  const outer = sizeOf(x.shape.slice(0, axis));
  const inner = sizeOf(x.shape.slice(axis + 1));
  const xc = x.contiguous();
  const src = xc.data;
  const dst = out.data;
  const d = x.shape[axis]!;
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < idx.length; k++) {
      const from = (o * d + idx[k]!) * inner;
      const to = (o * idx.length + k) * inner;
      for (let j = 0; j < inner; j++) dst[to + j] = src[from + j]!;
    }
  }
  return out;
}

function indexAdd(dst: NDArray, axis: number, index: NDArray, src: NDArray): void {
  const idx = readIndex(index, dst.shape[axis]!, 'indexAdd');
  for (let k = 0; k < idx.length; k++) {
    const target = dst.narrow(axis, idx[k]!, 1);
    const piece = src.narrow(axis, k, 1);
    assign(target, binary('add', target, piece, dst.dtype));
  }
}

export const fastBackend: Backend = {
  name: 'fast',
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
  softmax,
  layerNorm,
  layerNormBackward,
  geluBackward,
};

