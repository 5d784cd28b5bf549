/**
 * Float32 attention on the WebAssembly SIMD kernels of wasm/attention.ts, one (batch,
 * head) at a time: the head's q, k, v (and, backward, the output gradient) are copied
 * into the module's memory with rows padded to whole vectors, the products run there,
 * and the row work between them (the softmax, the rebuilt weights, dS) runs in JS on
 * the module's memory, reading each score once. The outputs are copied out per head.
 * The math is that of attention.ts (see there); sums of a row are taken in float64, and
 * the exponentials run on the module's vectorised exp (within an ulp of Math.exp).
 */
import type { AttentionGrads, AttentionResult } from '../../backend.ts';
import { NDArray } from '../../ndarray.ts';
import { buildAttentionModule, CONST_BYTES } from './wasm/attention.ts';
import { instantiate, vectorKernelsOn, type VectorModule } from './wasm/instance.ts';

interface AttentionFns {
  dot4(a: number, b: number, c: number, m: number, n: number, dp4: number, diag: number): void;
  axpyRows(a: number, b: number, c: number, m: number, n: number, dp4: number, diag: number): void;
  axpyCols(a: number, b: number, c: number, m: number, n: number, dp4: number, diag: number): void;
  exp(ptr: number, vectors: number): void;
}

let built: VectorModule<AttentionFns> | undefined | null = null;
function attentionModule(): VectorModule<AttentionFns> | undefined {
  if (built === null) built = instantiate<AttentionFns>(buildAttentionModule(2));
  return built;
}

/** Where the matrix of each leading index starts in `x`'s storage ([..., rows, cols], leading indices in row-major order). */
export function matrixStarts(x: NDArray): number[] {
  const lead = x.ndim - 2;
  const idx = new Array<number>(lead).fill(0);
  const count = x.shape.slice(0, lead).reduce((a, b) => a * b, 1);
  const starts = new Array<number>(count);
  for (let h = 0; h < count; h++) {
    let o = x.offset;
    for (let a = 0; a < lead; a++) o += idx[a]! * x.strides[a]!;
    starts[h] = o;
    for (let a = lead - 1; a >= 0; a--) {
      if (++idx[a]! < x.shape[a]!) break;
      idx[a] = 0;
    }
  }
  return starts;
}

const pad4 = (n: number) => (n + 3) & ~3;

/** The head sizes and where each operand lives in the module's memory (float offsets, all multiples of 4). */
function layout(q: NDArray, k: NDArray, v: NDArray) {
  const n = q.ndim;
  const t = q.shape[n - 2]!, d = q.shape[n - 1]!, s = k.shape[n - 2]!, dv = v.shape[n - 1]!;
  const dp = pad4(d), dvp = pad4(dv), ts = pad4(t * s);
  const q0 = CONST_BYTES / 4, k0 = q0 + t * dp, v0 = k0 + s * dp, g0 = v0 + s * dvp;
  const p0 = g0 + t * dvp, ds0 = p0 + ts, part0 = ds0 + ts; // weights, dS, the dot4 partial sums
  const o1 = part0 + 4 * t * s, o2 = o1 + t * Math.max(dp, dvp), o3 = o2 + s * dp, end = o3 + s * dvp;
  return { t, d, s, dv, dp, dvp, q0, k0, v0, g0, p0, ds0, part0, o1, o2, o3, end };
}

/** Copies head matrix `x` (rows x cols, from `start`) into `mem` at `off`, rows `ld` floats apart, zeros in the padding. */
function copyIn(x: NDArray, start: number, rows: number, cols: number, mem: Float32Array, off: number, ld: number): void {
  const src = x.data;
  const rs = x.strides[x.ndim - 2]!, cs = x.strides[x.ndim - 1]!;
  for (let r = 0; r < rows; r++) {
    const o = off + r * ld;
    const p0 = start + r * rs;
    // a row with unit stride (the usual case) is one typed-array copy
    if (cs === 1) mem.set(src.subarray(p0, p0 + cols), o);
    else for (let c = 0, p = p0; c < cols; c++, p += cs) mem[o + c] = src[p]!;
    mem.fill(0, o + cols, o + ld);
  }
}

/** Copies rows x cols from `mem` at `off` (rows `ld` apart) into the dense `out` at `o`. */
function copyOut(mem: Float32Array, off: number, ld: number, rows: number, cols: number, out: Float32Array, o: number): void {
  if (ld === cols) out.set(mem.subarray(off, off + rows * cols), o);
  else for (let r = 0; r < rows; r++) out.set(mem.subarray(off + r * ld, off + r * ld + cols), o + r * cols);
}

/** The module ready for a call with these operands, or undefined when the vector kernels are off. */
function ready(q: NDArray, k: NDArray, v: NDArray) {
  const w = vectorKernelsOn() ? attentionModule() : undefined;
  if (!w) return undefined;
  const at = layout(q, k, v);
  w.reserve(at.end * 4);
  return { w, at };
}

/** The forward (see attention.ts); undefined when the kernels are off. */
export function attentionF32(q: NDArray, k: NDArray, v: NDArray, causal: boolean, scale: number): AttentionResult | undefined {
  const r = ready(q, k, v);
  if (!r) return undefined;
  const { w, at } = r;
  const { t, d, s, dv, dp, dvp } = at;
  const mem = w.f32;
  const [qs, ks, vs] = [matrixStarts(q), matrixStarts(k), matrixStarts(v)];
  const heads = qs.length;
  const out = new Float32Array(heads * t * dv);
  const lse = new Float32Array(heads * t);
  const rowMax = new Float64Array(t);
  const diag = causal ? 1 : s;
  for (let h = 0; h < heads; h++) {
    copyIn(q, qs[h]!, t, d, mem, at.q0, dp);
    copyIn(k, ks[h]!, s, d, mem, at.k0, dp);
    copyIn(v, vs[h]!, s, dv, mem, at.v0, dvp);
    w.fns.dot4(at.q0 * 4, at.k0 * 4, at.part0 * 4, t, s, dp / 4, diag);
    // each row: its scores' maximum m, the row shifted by m for the exp (masked: -inf, which exp takes to 0)
    for (let i = 0; i < t; i++) {
      const len = Math.min(s, i + diag);
      const row = at.p0 + i * s;
      let m = -Infinity;
      for (let j = 0, x = at.part0 + 4 * i * s; j < len; j++, x += 4) {
        const sc = (mem[x]! + mem[x + 1]! + mem[x + 2]! + mem[x + 3]!) * scale;
        mem[row + j] = sc;
        if (sc > m || sc !== sc) m = sc;
      }
      // as the composed softmax: an infinite maximum is subtracted as it is (giving NaN)
      for (let j = 0; j < len; j++) mem[row + j] = mem[row + j]! - m;
      mem.fill(-Infinity, row + len, row + s);
      rowMax[i] = m;
    }
    mem.fill(-Infinity, at.p0 + t * s, at.ds0);
    w.fns.exp(at.p0 * 4, (at.ds0 - at.p0) / 4);
    for (let i = 0; i < t; i++) {
      const len = Math.min(s, i + diag);
      const row = at.p0 + i * s;
      let sum = 0;
      for (let j = 0; j < len; j++) sum += mem[row + j]!;
      const inv = 1 / sum;
      for (let j = 0; j < len; j++) mem[row + j]! *= inv;
      lse[h * t + i] = rowMax[i]! + Math.log(sum);
    }
    mem.fill(0, at.o1, at.o1 + t * dvp);
    w.fns.axpyRows(at.p0 * 4, at.v0 * 4, at.o1 * 4, t, s, dvp / 4, diag);
    copyOut(mem, at.o1, dvp, t, dv, out, h * t * dv);
  }
  const lead = q.shape.slice(0, q.ndim - 2);
  return { out: new NDArray(out, [...lead, t, dv], undefined, 0, 'float32'), lse: new NDArray(lse, [...lead, t], undefined, 0, 'float32') };
}

/** The backward (see attention.ts); undefined when the kernels are off. */
export function attentionBackwardF32(g: NDArray, q: NDArray, k: NDArray, v: NDArray, lse: NDArray, causal: boolean, scale: number): AttentionGrads | undefined {
  const r = ready(q, k, v);
  if (!r) return undefined;
  const { w, at } = r;
  const { t, d, s, dv, dp, dvp } = at;
  const mem = w.f32;
  const [gs, qs, ks, vs] = [matrixStarts(g), matrixStarts(q), matrixStarts(k), matrixStarts(v)];
  const heads = qs.length;
  const dq = new Float32Array(heads * t * d);
  const dk = new Float32Array(heads * s * d);
  const dvOut = new Float32Array(heads * s * dv);
  const l = lse.data; // dense, from the op layer
  const diag = causal ? 1 : s;
  for (let h = 0; h < heads; h++) {
    copyIn(q, qs[h]!, t, d, mem, at.q0, dp);
    copyIn(k, ks[h]!, s, d, mem, at.k0, dp);
    copyIn(v, vs[h]!, s, dv, mem, at.v0, dvp);
    copyIn(g, gs[h]!, t, dv, mem, at.g0, dvp);
    // P = exp(scale q k^T - lse)
    w.fns.dot4(at.q0 * 4, at.k0 * 4, at.part0 * 4, t, s, dp / 4, diag);
    for (let i = 0; i < t; i++) {
      const len = Math.min(s, i + diag);
      const li = l[lse.offset + h * t + i]!;
      const row = at.p0 + i * s;
      for (let j = 0, x = at.part0 + 4 * i * s; j < len; j++, x += 4) mem[row + j] = (mem[x]! + mem[x + 1]! + mem[x + 2]! + mem[x + 3]!) * scale - li;
      mem.fill(-Infinity, row + len, row + s);
    }
    mem.fill(-Infinity, at.p0 + t * s, at.ds0);
    w.fns.exp(at.p0 * 4, (at.ds0 - at.p0) / 4);
    mem.fill(0, at.o3, at.o3 + s * dvp);
    w.fns.axpyCols(at.p0 * 4, at.g0 * 4, at.o3 * 4, t, s, dvp / 4, diag); // dv = P^T g
    // dP = g v^T, then dS = scale P (dP - rowsum(P dP))
    w.fns.dot4(at.g0 * 4, at.v0 * 4, at.part0 * 4, t, s, dvp / 4, diag);
    for (let i = 0; i < t; i++) {
      const len = Math.min(s, i + diag);
      const part = at.part0 + 4 * i * s;
      const p = at.p0 + i * s;
      const ds = at.ds0 + i * s;
      let dot = 0;
      for (let j = 0, x = part; j < len; j++, x += 4) {
        const dpij = mem[x]! + mem[x + 1]! + mem[x + 2]! + mem[x + 3]!;
        mem[ds + j] = dpij;
        dot += mem[p + j]! * dpij;
      }
      for (let j = 0; j < len; j++) mem[ds + j] = scale * mem[p + j]! * (mem[ds + j]! - dot);
    }
    mem.fill(0, at.o1, at.o1 + t * dp);
    w.fns.axpyRows(at.ds0 * 4, at.k0 * 4, at.o1 * 4, t, s, dp / 4, diag); // dq = dS k
    mem.fill(0, at.o2, at.o2 + s * dp);
    w.fns.axpyCols(at.ds0 * 4, at.q0 * 4, at.o2 * 4, t, s, dp / 4, diag); // dk = dS^T q
    copyOut(mem, at.o1, dp, t, d, dq, h * t * d);
    copyOut(mem, at.o2, dp, s, d, dk, h * s * d);
    copyOut(mem, at.o3, dvp, s, dv, dvOut, h * s * dv);
  }
  const lead = q.shape.slice(0, q.ndim - 2);
  const wrap = (data: Float32Array, rows: number, cols: number) => new NDArray(data, [...lead, rows, cols], undefined, 0, 'float32');
  return { dq: wrap(dq, t, d), dk: wrap(dk, s, d), dv: wrap(dvOut, s, dv) };
}
