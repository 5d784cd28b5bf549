/**
 * Fused scaled dot-product attention for the fast backend, forward and backward, one
 * (batch, head) matrix at a time: that head's [T, S] scores live in a scratch buffer
 * reused by every head (16 KiB for T = S = 64 in float32, so it stays in L1/L2), where
 * they are scaled, masked and softmaxed in place and multiplied with v, so the
 * [..., T, S] weights of all heads are never allocated, written out and read back by
 * separate ops. Float32 runs on the WebAssembly SIMD kernels of attention-wasm.ts
 * (the same steps, in the module's memory); this file is the float64 path and the
 * float32 one where those kernels are off, with the products on the blocked JS kernel
 * (matmul-kernel.ts, or the wasm GEMM for float32), reading q, k, v and the output
 * gradient through their strides (a head sliced out of [B, T, H, D] by a permute is
 * read in place).
 *
 * Forward, per head, with s = scale q k^T and row i keeping keys j < len(i)
 * (len(i) = min(i + 1, S) when causal, S otherwise):
 *   m = max_j s_ij,  lse_i = m + log sum_j exp(s_ij - m),  P_ij = exp(s_ij - lse_i),
 *   out = P v.
 * Backward, per head, for the output gradient g, rebuilding P from lse:
 *   dv = P^T g,  dP = g v^T,  dS_ij = scale P_ij (dP_ij - sum_j P_ij dP_ij),
 *   dq = dS k,  dk = dS^T q.
 * Row sums are taken in float64 (JS numbers); the exponentials use Math.exp.
 */
import type { AttentionGrads, AttentionResult } from '../../backend.ts';
import { allocate, type DType } from '../../dtype.ts';
import { NDArray } from '../../ndarray.ts';
import { matmulStrided, newScratch, type StridedMatrix } from './matmul-kernel.ts';
import { attentionBackwardF32, attentionF32, matrixStarts } from './attention-wasm.ts';
import { f32Kernel } from './wasm/gemm.ts';

type Floats = Float32Array | Float64Array;

/** Packing buffers of the JS kernel, reused across calls. */
const jsScratch = newScratch();

/** Score buffers reused across calls, one per dtype and role (grown when a call needs more). */
const buffers = new Map<string, Floats>();
function buffer(dtype: DType, role: 'p' | 'dp', size: number): Floats {
  const key = `${dtype}:${role}`;
  let b = buffers.get(key);
  if (!b || b.length < size) {
    b = allocate(dtype, size) as Floats;
    buffers.set(key, b);
  }
  return b;
}

/** C = A B (m x k times k x n), C's rows `ldc` apart: the wasm kernel for float32 when on, the JS kernel otherwise. */
function product(a: StridedMatrix, b: StridedMatrix, c: Floats, co: number, ldc: number, m: number, k: number, n: number): void {
  const out = { data: c, offset: co, rowStride: ldc };
  const f32 = c instanceof Float32Array && a.data instanceof Float32Array && b.data instanceof Float32Array ? f32Kernel() : undefined;
  if (f32) f32(a, b, out as { data: Float32Array; offset: number; rowStride: number }, m, k, n);
  else matmulStrided(a, b, out, m, k, n, jsScratch);
}

/** Head h of x as a strided matrix, or its transpose. */
function head(x: NDArray, starts: number[], h: number, transposed = false): StridedMatrix {
  const rs = x.strides[x.ndim - 2]!;
  const cs = x.strides[x.ndim - 1]!;
  return { data: x.data, offset: starts[h]!, rowStride: transposed ? cs : rs, colStride: transposed ? rs : cs };
}

/** A dense [rows, cols] matrix at `offset` of `data`, or its transpose. */
function dense(data: Floats, offset: number, cols: number, transposed = false): StridedMatrix {
  return { data, offset, rowStride: transposed ? 1 : cols, colStride: transposed ? cols : 1 };
}

/** Keys row i may see. */
const keysOf = (i: number, s: number, causal: boolean) => (causal ? Math.min(i + 1, s) : s);

/** `Backend.attention`: the output [..., T, Dv] and each row's log-sum-exp [..., T] (see the file comment). */
export function attention(q: NDArray, k: NDArray, v: NDArray, causal: boolean, scale: number): AttentionResult {
  if (q.dtype === 'float32') {
    const fast = attentionF32(q, k, v, causal, scale);
    if (fast) return fast;
  }
  const n = q.ndim;
  const [t, d] = [q.shape[n - 2]!, q.shape[n - 1]!];
  const [s, dv] = [k.shape[n - 2]!, v.shape[n - 1]!];
  const dtype: DType = q.dtype === 'float64' ? 'float64' : 'float32';
  const [qs, ks, vs] = [matrixStarts(q), matrixStarts(k), matrixStarts(v)];
  const heads = qs.length;
  const out = allocate(dtype, heads * t * dv) as Floats;
  const lse = allocate(dtype, heads * t) as Floats;
  const p = buffer(dtype, 'p', t * s);
  for (let h = 0; h < heads; h++) {
    product(head(q, qs, h), head(k, ks, h, true), p, 0, s, t, d, s);
    for (let i = 0; i < t; i++) {
      const row = i * s;
      const len = keysOf(i, s, causal);
      let m = -Infinity;
      for (let j = 0; j < len; j++) {
        const x = p[row + j]! * scale;
        if (x > m || x !== x) m = x;
      }
      // as the composed softmax: an infinite maximum is subtracted as it is (giving NaN)
      let sum = 0;
      for (let j = 0; j < len; j++) {
        const e = Math.exp(p[row + j]! * scale - m);
        p[row + j] = e;
        sum += e;
      }
      const inv = 1 / sum;
      for (let j = 0; j < len; j++) p[row + j]! *= inv;
      p.fill(0, row + len, row + s);
      lse[h * t + i] = m + Math.log(sum);
    }
    product(dense(p, 0, s), head(v, vs, h), out, h * t * dv, dv, t, s, dv);
  }
  const lead = q.shape.slice(0, n - 2);
  return { out: new NDArray(out, [...lead, t, dv], undefined, 0, dtype), lse: new NDArray(lse, [...lead, t], undefined, 0, dtype) };
}

/** `Backend.attentionBackward`: dq, dk, dv for the output gradient g, the weights rebuilt from lse. */
export function attentionBackward(g: NDArray, q: NDArray, k: NDArray, v: NDArray, lse: NDArray, causal: boolean, scale: number): AttentionGrads {
  if (q.dtype === 'float32') {
    const fast = attentionBackwardF32(g, q, k, v, lse, causal, scale);
    if (fast) return fast;
  }
  const n = q.ndim;
  const [t, d] = [q.shape[n - 2]!, q.shape[n - 1]!];
  const [s, dvw] = [k.shape[n - 2]!, v.shape[n - 1]!];
  const dtype: DType = q.dtype === 'float64' ? 'float64' : 'float32';
  const [gs, qs, ks, vs] = [matrixStarts(g), matrixStarts(q), matrixStarts(k), matrixStarts(v)];
  const heads = qs.length;
  const dq = allocate(dtype, heads * t * d) as Floats;
  const dk = allocate(dtype, heads * s * d) as Floats;
  const dv = allocate(dtype, heads * s * dvw) as Floats;
  const l = lse.data as Floats; // dense, from the op layer
  const p = buffer(dtype, 'p', t * s);
  const dp = buffer(dtype, 'dp', t * s);
  for (let h = 0; h < heads; h++) {
    // P = exp(scale q k^T - lse), zero where masked
    product(head(q, qs, h), head(k, ks, h, true), p, 0, s, t, d, s);
    for (let i = 0; i < t; i++) {
      const row = i * s;
      const len = keysOf(i, s, causal);
      const li = l[lse.offset + h * t + i]!;
      for (let j = 0; j < len; j++) p[row + j] = Math.exp(p[row + j]! * scale - li);
      p.fill(0, row + len, row + s);
    }
    product(dense(p, 0, s, true), head(g, gs, h), dv, h * s * dvw, dvw, s, t, dvw);
    product(head(g, gs, h), head(v, vs, h, true), dp, 0, s, t, dvw, s);
    // dS = scale P (dP - rowsum(P dP)), in place in dp
    for (let i = 0; i < t; i++) {
      const row = i * s;
      const len = keysOf(i, s, causal);
      let dot = 0;
      for (let j = 0; j < len; j++) dot += p[row + j]! * dp[row + j]!;
      for (let j = 0; j < len; j++) dp[row + j] = scale * p[row + j]! * (dp[row + j]! - dot);
      dp.fill(0, row + len, row + s);
    }
    product(dense(dp, 0, s), head(k, ks, h), dq, h * t * d, d, t, s, d);
    product(dense(dp, 0, s, true), head(q, qs, h), dk, h * s * d, d, s, t, d);
  }
  const lead = q.shape.slice(0, n - 2);
  const wrap = (data: Floats, rows: number, cols: number) => new NDArray(data, [...lead, rows, cols], undefined, 0, dtype);
  return { dq: wrap(dq, t, d), dk: wrap(dk, s, d), dv: wrap(dv, s, dvw) };
}
