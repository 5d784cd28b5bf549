/**
 * Batched matmul as a kernel. Each thread computes four rows of one output column (an
 * Array(4) result, a register tile), so every element of b it loads serves four
 * multiply-adds; b is copied column-major first unless its columns are already contiguous
 * (x @ W^T), and a row count that is not a multiple of four is zero-padded on the host.
 */
import { NDArray } from '../../ndarray.ts';
import { fastBackend } from '../fast/index.ts';
import { EXACT_LIMIT } from './guards.ts';
import { linear } from './kernel-sources.ts';
import type { KernelContext } from './launch.ts';
import { columnMajor, operand, padRows, type Operand } from './layout.ts';

/** `Backend.matmul` on the gpu: a [batch, m, k] @ b [batch, k, n]. */
export function matmul(ctx: KernelContext, a: NDArray, b: NDArray): NDArray {
  const [batch, m, k] = a.shape as [number, number, number];
  const n = b.shape[2]!;
  if (batch * m * n === 0 || k === 0) return fastBackend.matmul(a, b);
  // the js backend works in float32 when either operand is float32 and neither is float64
  const isF32 = (a.dtype === 'float32' || b.dtype === 'float32') && a.dtype !== 'float64' && b.dtype !== 'float64';
  const problem = !isF32
    ? `got ${a.dtype} @ ${b.dtype} (gpu.js kernels are float32 only)`
    : (ctx.dataProblem(a, true) ?? ctx.dataProblem(b, true) ?? (batch * m * n >= EXACT_LIMIT ? 'got an output of 2^24 or more elements' : null));
  if (problem) return ctx.fallback('matmul', problem).matmul(a, b);
  // Matrices with few rows use one row per thread.
  const tile = m >= 8 ? 4 : 1;
  // A row count that is not a multiple of 4 is padded with zero rows on the host (an
  // m x k copy), which keeps the row arithmetic in integers: clamping rows in the
  // kernel instead made it float arithmetic and cost 10% at 512.
  const oa = tile === 4 && m % 4 !== 0 ? padRows(a, Math.ceil(m / 4) * 4) : operand(a);
  // With four rows per thread, b is read down its columns; when a column is not contiguous
  // (stride along k != 1) a host-side copy of b transposed keeps those reads sequential
  // (measured 1.85 -> 2.57 GFLOP/s at 1024 on webasm). Linear layers' x @ W^T needs no copy.
  const ob = tile === 4 && k > 1 && operand(b).strides[1] !== 1 ? columnMajor(b) : operand(b);
  const rowsOut = Math.ceil(m / tile);
  const sig = `m:${batch},${m},${k},${n}:${oa.base}/${oa.strides.join(',')}:${ob.base}/${ob.strides.join(',')}`;
  const output = batch > 1 ? [n, rowsOut, batch] : [n, rowsOut];
  const flat = ctx.launch(sig, () => matmulSource(oa, ob, batch > 1, k, tile), output, [oa.upload, ob.upload], k + 1, tile);
  const out = tile === 1 ? flat : untile(flat, batch, m, n);
  return new NDArray(out, [batch, m, n], undefined, 0, 'float32');
}

/** Kernel body: thread (x, y, z) sums column x of rows y*tile .. y*tile+tile-1 of batch z. */
function matmulSource(oa: Operand, ob: Operand, batched: boolean, k: number, tile: number): string[] {
  const [sab, sam, sak] = oa.strides as [number, number, number];
  const [sbb, sbk, sbn] = ob.strides as [number, number, number];
  const lines = ['const x = this.thread.x;', 'const y = this.thread.y;', batched ? 'const z = this.thread.z;' : ''];
  const aBatch = linear(oa.base, batched ? [['z', sab]] : []);
  const bStart = linear(ob.base, [...(batched ? ([['z', sbb]] as const) : []), ['x', sbn]]);
  lines.push(`const bo = ${bStart};`);
  for (let q = 0; q < tile; q++) {
    const row = tile === 1 ? 'y' : q === 0 ? 'y * 4' : `(y * 4 + ${q})`;
    lines.push(`const ao${q} = ${aBatch} + ${row} * ${sam};`);
    lines.push(`let s${q} = 0;`);
  }
  lines.push(`for (let i = 0; i < ${k}; i++) {`);
  lines.push(`  const bv = x1[bo + ${linear(0, [['i', sbk]])}];`);
  for (let q = 0; q < tile; q++) lines.push(`  s${q} += x0[ao${q} + ${linear(0, [['i', sak]])}] * bv;`);
  lines.push('}');
  lines.push(tile === 1 ? 'return s0;' : 'return [s0, s1, s2, s3];');
  return lines;
}

/** The 4-row kernel's output, [batch][row / 4][column][row % 4], as row-major [batch, m, n]; rows past m are padding. */
function untile(flat: Float32Array, batch: number, m: number, n: number): Float32Array {
  const rowsOut = Math.ceil(m / 4);
  const out = new Float32Array(batch * m * n);
  for (let z = 0; z < batch; z++) {
    for (let y = 0; y < rowsOut; y++) {
      const rows = Math.min(4, m - 4 * y);
      const from = (z * rowsOut + y) * n * 4;
      for (let q = 0; q < rows; q++) {
        const to = (z * m + 4 * y + q) * n;
        for (let x = 0; x < n; x++) out[to + x] = flat[from + x * 4 + q]!;
      }
    }
  }
  return out;
}
