/**
 * Elementwise primitives of the fast backend: unary and binary ops, where, assign and
 * cast, plus GELU's fused backward kernel (float32 tanh-GELU, forward and backward, runs
 * on the WebAssembly SIMD kernel of gelu-wasm.ts). Every operand is walked row by row with
 * `stridedRows` (../../strided.ts); the ops that dominate training have their own
 * spelled-out loop so the engine does not call a closure per element.
 */
import type { BinaryOp, UnaryOp } from '../../backend.ts';
import { allocate, type DType, type TypedArray } from '../../dtype.ts';
import { NDArray } from '../../ndarray.ts';
import { stridedRows } from '../../strided.ts';
import { geluErfGrad, geluTanh, geluTanhGrad } from '../../special.ts';
import { BINARY, UNARY } from '../reference/index.ts';
import { geluBackwardF32, geluF32 } from './gelu-wasm.ts';

/** True when every element of `x` is the same storage element (a broadcast scalar). */
function isBroadcastScalar(x: NDArray): boolean {
  for (let i = 0; i < x.ndim; i++) if (x.strides[i] !== 0 && x.shape[i] !== 1) return false;
  return true;
}

// The per-element semantics are defined once, in the reference backend's tables; this file
// only adds the specialised loops that keep the hot ops free of a closure call per element.

export function unary(op: UnaryOp, x: NDArray, outDtype: DType): NDArray {
  // float32 GELU runs on the WebAssembly SIMD kernel (gelu-wasm.ts) unless it is off
  const simd = op === 'gelu' && outDtype === 'float32' ? geluF32(x) : undefined;
  if (simd) return simd;
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
export function geluBackward(x: NDArray, g: NDArray, approximate: 'tanh' | 'none'): NDArray {
  const dtype: DType = x.dtype === 'float64' ? 'float64' : 'float32';
  const simd = approximate === 'tanh' && dtype === 'float32' ? geluBackwardF32(x, g) : undefined;
  if (simd) return simd;
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

export function binary(op: BinaryOp, a: NDArray, b: NDArray, outDtype: DType): NDArray {
  const out = allocate(outDtype, a.size);
  const ad = a.data;
  const bd = b.data;
  const arithmetic = outDtype !== 'bool' && (op === 'add' || op === 'sub' || op === 'mul' || op === 'div');
  // `x op scalar` (x * 2, x / count, x + eps) is frequent in training; the scalar
  // arrives broadcast to x's shape, so read it once instead of walking it.
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

/** `cond ? a : b`, walking the three operands together. */
export function where(cond: NDArray, a: NDArray, b: NDArray, outDtype: DType): NDArray {
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

/** Converts (and densifies) to `dtype`. */
export function cast(x: NDArray, dtype: DType): NDArray {
  return x.astype(dtype);
}

/** Writes `src` into the view `dst` in place; a bool destination stores 0/1. */
export function assign(dst: NDArray, src: NDArray): void {
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
