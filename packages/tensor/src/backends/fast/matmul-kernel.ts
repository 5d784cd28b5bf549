/**
 * Dense matrix product C = A B for one matrix pair, in plain JavaScript.
 *
 * The loops follow the classic blocked scheme of high-performance BLAS libraries
 * (Goto & van de Geijn, "Anatomy of high-performance matrix multiplication", 2008):
 *
 *   for each block of NC columns of B:
 *    for each panel of KC rows of that block (and the matching KC columns of A):
 *     pack the panel, NR columns at a time, into a contiguous scratch buffer
 *     for each block of MC rows of A:
 *       pack the block, MR rows at a time, into a second scratch buffer
 *       for each MR x NR tile of C: run the micro-kernel over the KC-long panels
 *
 * The micro-kernel keeps the 4 x 4 tile of C in 16 local variables, which V8 holds
 * in registers. Each step of its loop loads 4 values of A and 4 of B and does 16
 * multiply-adds, so memory traffic is a quarter of the arithmetic (a naive dot
 * product loads two numbers per multiply-add). On a 2.4 GHz x86 core this reaches
 * about 2 flops per cycle, the limit of scalar (non-SIMD) code.
 *
 * Packing does three more things: it turns any strides (a transposed or sliced
 * operand) into sequential reads, so callers never copy their inputs; it converts
 * float32 and int32 to float64 once, so the micro-kernel only ever sees Float64Array
 * and V8 compiles it for a single element type; and it pads partial tiles with zeros,
 * so the micro-kernel needs no edge cases inside its loop. Sums are kept in float64
 * and rounded to the output type once per KC panel.
 *
 * The functions here refer to nothing outside this file, because the worker pool
 * (matmul-pool.ts) ships their source text to its worker threads.
 */

/** A matrix inside a flat array: element (i, j) is `data[offset + i*rowStride + j*colStride]`. */
export interface StridedMatrix {
  data: ArrayLike<number>;
  offset: number;
  rowStride: number;
  colStride: number;
}

/** Scratch buffers reused across calls (grown on demand), so packing allocates nothing. */
export interface MatmulScratch {
  a: Float64Array;
  b: Float64Array;
  tile: Float64Array;
  /**
   * When set, `runUnit` computes all-float32 units with this kernel instead (the wasm
   * SIMD one of wasm/gemm.ts, set per job so main thread and workers agree).
   */
  f32?: ((a: StridedMatrix, b: StridedMatrix, c: { data: Float32Array; offset: number; rowStride: number }, m: number, k: number, n: number) => void) | undefined;
}

/** Micro-tile height (rows of A / C). */
export const MR = 4;
/** Micro-tile width (columns of B / C). */
export const NR = 4;
/** Depth of one packed panel: 256 x 4 float64 of B is 8 KiB, so a B strip sits in L1. */
export const KC = 256;
/** Rows of A packed at once: 64 x 256 float64 is 128 KiB, which fits in L2. */
export const MC = 64;
/** Columns of B packed at once: a 256 x 1024 float64 panel is 2 MiB (L2/L3). */
export const NC = 1024;

/** Fresh, empty scratch buffers. */
export function newScratch(): MatmulScratch {
  return { a: new Float64Array(0), b: new Float64Array(0), tile: new Float64Array(16) };
}

/**
 * Packs rows [i0, i0+mc) x columns [p0, p0+kc) of A as strips of MR rows:
 * strip s holds, for p = 0..kc-1, the MR values A[i0 + s*MR + r][p0 + p], r = 0..MR-1.
 * Rows past the end of the block are zero.
 */
export function packA(a: StridedMatrix, i0: number, mc: number, p0: number, kc: number, out: Float64Array): void {
  const { data, rowStride, colStride } = a;
  let o = 0;
  for (let is = 0; is < mc; is += 4) {
    const rows = Math.min(4, mc - is);
    const base = a.offset + (i0 + is) * rowStride + p0 * colStride;
    if (rows === 4) {
      let q0 = base;
      const r1 = rowStride;
      const r2 = 2 * rowStride;
      const r3 = 3 * rowStride;
      for (let p = 0; p < kc; p++) {
        out[o] = data[q0]!;
        out[o + 1] = data[q0 + r1]!;
        out[o + 2] = data[q0 + r2]!;
        out[o + 3] = data[q0 + r3]!;
        o += 4;
        q0 += colStride;
      }
    } else {
      for (let p = 0; p < kc; p++) {
        for (let r = 0; r < 4; r++) out[o + r] = r < rows ? data[base + r * rowStride + p * colStride]! : 0;
        o += 4;
      }
    }
  }
}

/**
 * Packs rows [p0, p0+kc) x columns [j0, j0+nc) of B as strips of NR columns:
 * strip s holds, for p = 0..kc-1, the NR values B[p0 + p][j0 + s*NR + c], c = 0..NR-1.
 * Columns past the end are zero.
 */
export function packB(b: StridedMatrix, p0: number, kc: number, j0: number, nc: number, out: Float64Array): void {
  const { data, rowStride, colStride } = b;
  let o = 0;
  for (let js = 0; js < nc; js += 4) {
    const cols = Math.min(4, nc - js);
    let q = b.offset + p0 * rowStride + (j0 + js) * colStride;
    if (cols === 4) {
      const c1 = colStride;
      const c2 = 2 * colStride;
      const c3 = 3 * colStride;
      for (let p = 0; p < kc; p++) {
        out[o] = data[q]!;
        out[o + 1] = data[q + c1]!;
        out[o + 2] = data[q + c2]!;
        out[o + 3] = data[q + c3]!;
        o += 4;
        q += rowStride;
      }
    } else {
      for (let p = 0; p < kc; p++) {
        for (let c = 0; c < 4; c++) out[o + c] = c < cols ? data[q + c * colStride]! : 0;
        o += 4;
        q += rowStride;
      }
    }
  }
}

/**
 * The micro-kernel: tile[0..16) = (packed A strip) (packed B strip) over kc steps, as a
 * row-major 4 x 4 tile. It touches only Float64Arrays, so V8 compiles it once for
 * that element type whatever the dtype of the operands.
 */
export function microKernel4x4(kc: number, ap: Float64Array, ao: number, bp: Float64Array, bo: number, tile: Float64Array): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  for (let p = 0; p < kc; p++) {
    const a0 = ap[ao]!, a1 = ap[ao + 1]!, a2 = ap[ao + 2]!, a3 = ap[ao + 3]!;
    const b0 = bp[bo]!, b1 = bp[bo + 1]!, b2 = bp[bo + 2]!, b3 = bp[bo + 3]!;
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
    ao += 4;
    bo += 4;
  }
  tile[0] = c00; tile[1] = c01; tile[2] = c02; tile[3] = c03;
  tile[4] = c10; tile[5] = c11; tile[6] = c12; tile[7] = c13;
  tile[8] = c20; tile[9] = c21; tile[10] = c22; tile[11] = c23;
  tile[12] = c30; tile[13] = c31; tile[14] = c32; tile[15] = c33;
}

/**
 * Adds the top-left mr x nr corner of a 4 x 4 tile to C at `c[co]` (rows `ldc` apart).
 * Edge tiles store less: their padded rows and columns hold zeros that are dropped.
 */
export function addTile(tile: Float64Array, c: Float32Array | Float64Array, co: number, ldc: number, mr: number, nr: number): void {
  if (mr === 4 && nr === 4) {
    for (let r = 0; r < 16; r += 4, co += ldc) {
      c[co]! += tile[r]!;
      c[co + 1]! += tile[r + 1]!;
      c[co + 2]! += tile[r + 2]!;
      c[co + 3]! += tile[r + 3]!;
    }
    return;
  }
  for (let r = 0; r < mr; r++) {
    for (let s = 0; s < nr; s++) c[co + r * ldc + s]! += tile[r * 4 + s]!;
  }
}

/** Where C goes: element (i, j) is written at `data[offset + i*rowStride + j]`. */
export interface OutputMatrix {
  data: Float32Array | Float64Array;
  offset: number;
  rowStride: number;
}

/**
 * C = A B for A of shape [m, k] and B of shape [k, n] (any strides), overwriting the
 * m x n block of C. A band of rows or columns of a larger product is computed by
 * passing views that start at the band (the worker pool splits work that way).
 * @example
 * const c = new Float64Array(m * n);
 * matmulStrided({ data: a, offset: 0, rowStride: k, colStride: 1 },
 *               { data: b, offset: 0, rowStride: n, colStride: 1 },
 *               { data: c, offset: 0, rowStride: n }, m, k, n, newScratch());
 */
export function matmulStrided(a: StridedMatrix, b: StridedMatrix, c: OutputMatrix, m: number, k: number, n: number, scratch: MatmulScratch): void {
  const cd = c.data;
  const ldc = c.rowStride;
  for (let i = 0; i < m; i++) cd.fill(0, c.offset + i * ldc, c.offset + i * ldc + n);
  if (k === 0 || n === 0 || m === 0) return;
  const kcMax = Math.min(KC, k);
  const bNeed = kcMax * Math.ceil(Math.min(NC, n) / NR) * NR;
  const aNeed = kcMax * Math.ceil(Math.min(MC, m) / MR) * MR;
  if (scratch.b.length < bNeed) scratch.b = new Float64Array(bNeed);
  if (scratch.a.length < aNeed) scratch.a = new Float64Array(aNeed);
  const ap = scratch.a;
  const bp = scratch.b;
  const tile = scratch.tile;
  for (let j0 = 0; j0 < n; j0 += NC) {
    const nc = Math.min(NC, n - j0);
    for (let p0 = 0; p0 < k; p0 += KC) {
      const kc = Math.min(KC, k - p0);
      // Each 4-column strip of the packed panel is reused by every row block below.
      packB(b, p0, kc, j0, nc, bp);
      for (let i0 = 0; i0 < m; i0 += MC) {
        const mc = Math.min(MC, m - i0);
        packA(a, i0, mc, p0, kc, ap);
        for (let j = 0; j < nc; j += NR) {
          const nr = Math.min(NR, nc - j);
          const bo = (j / NR) * kc * NR;
          for (let i = 0; i < mc; i += MR) {
            const mr = Math.min(MR, mc - i);
            microKernel4x4(kc, ap, (i / MR) * kc * MR, bp, bo, tile);
            addTile(tile, cd, c.offset + (i0 + i) * ldc + j0 + j, ldc, mr, nr);
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------- work units
// The worker threads of matmul-pool.ts run the functions above and the unit loop
// below from their source text (see `workerSource`), so all of it may refer only to
// names defined in this file.

/** A batch of matrices in one flat array: matrix b starts `batchStride` after matrix b - 1. */
export interface StridedBatch extends StridedMatrix {
  batchStride: number;
}

/** How a product is cut into units; shared by the main thread and the workers. */
export interface Plan {
  batch: number;
  m: number;
  k: number;
  n: number;
  rowBand: number;
  colBand: number;
  rowBands: number;
  colBands: number;
}

/** Where one thread reads A and B and writes C (C dense, [batch, m, n]). */
export interface Operands {
  a: StridedBatch;
  b: StridedBatch;
  c: Float32Array | Float64Array;
}

/** The block of C that unit `u` covers: batch item, first row and column, and its size. */
export function unitBlock(plan: Plan, u: number): { bi: number; i0: number; j0: number; rows: number; cols: number } {
  const perBatch = plan.rowBands * plan.colBands;
  const bi = Math.floor(u / perBatch);
  const rb = Math.floor((u % perBatch) / plan.colBands);
  const cb = u % plan.colBands;
  const i0 = rb * plan.rowBand;
  const j0 = cb * plan.colBand;
  return { bi, i0, j0, rows: Math.min(plan.rowBand, plan.m - i0), cols: Math.min(plan.colBand, plan.n - j0) };
}

/** Computes unit `u` of a plan: C[bi, rows, cols] = A[bi, rows, :] B[bi, :, cols]. */
export function runUnit(plan: Plan, ops: Operands, u: number, scratch: MatmulScratch): void {
  const { bi, i0, j0, rows, cols } = unitBlock(plan, u);
  const { a, b, c } = ops;
  const av = { data: a.data, offset: a.offset + bi * a.batchStride + i0 * a.rowStride, rowStride: a.rowStride, colStride: a.colStride };
  const bv = { data: b.data, offset: b.offset + bi * b.batchStride + j0 * b.colStride, rowStride: b.rowStride, colStride: b.colStride };
  const offset = bi * plan.m * plan.n + i0 * plan.n + j0;
  if (scratch.f32 && c instanceof Float32Array && a.data instanceof Float32Array && b.data instanceof Float32Array) {
    scratch.f32(av, bv, { data: c, offset, rowStride: plan.n }, rows, plan.k, cols);
  } else {
    matmulStrided(av, bv, { data: c, offset, rowStride: plan.n }, rows, plan.k, cols, scratch);
  }
}

// Layout of the per-job control array (Int32Array on a SharedArrayBuffer).
export const NEXT = 0; // next unclaimed unit
export const DONE = 1; // units finished, by anyone
export const FAILED = 2; // set to 1 by a worker that threw
export const LEFT = 3; // workers that have left the job: they write nothing more into its C
export const STATE = 4; // STATE + u: 1 once a worker has finished unit u

/** Defined by the worker's prelude (pool-host.ts): its channel to the main thread, in Node or a browser. */
declare const workerPort: { post(message: unknown): void; listen(fn: (message: never) => void): void };

/** The worker's loop; runs inside the worker, where the kernel functions are defined by name. */
function workerMain(): void {
  const scratch = newScratch();
  // `makeF32` comes from the extra source passed to workerSource (wasm/gemm.ts)
  const f32 = (globalThis as unknown as { makeF32?: () => MatmulScratch['f32'] }).makeF32?.();
  workerPort.post('ready');
  workerPort.listen((job: { plan: Plan; ops: Operands; ctrl: SharedArrayBuffer; units: number; wasm: boolean }) => {
    const ctrl = new Int32Array(job.ctrl);
    try {
      // the main thread uses the wasm kernel: so must we, or float32 units would differ in the last bits
      if (job.wasm && !f32) throw new Error('matmul worker: no wasm kernel');
      scratch.f32 = job.wasm ? f32 : undefined;
      for (;;) {
        const u = Atomics.add(ctrl, NEXT, 1);
        if (u >= job.units) break;
        runUnit(job.plan, job.ops, u, scratch);
        Atomics.store(ctrl, STATE + u, 1);
        Atomics.add(ctrl, DONE, 1);
        Atomics.notify(ctrl, DONE);
      }
    } catch {
      Atomics.store(ctrl, FAILED, 1);
      Atomics.notify(ctrl, DONE);
    } finally {
      Atomics.add(ctrl, LEFT, 1);
    }
  });
}

/**
 * The worker's source: the kernel functions and constants by name, then `extra` (which
 * may define `globalThis.makeF32`, see wasm/gemm.ts), then its loop.
 * (`__name` is the helper esbuild/tsx inserts to keep function names; here a no-op.)
 */
export function workerSource(extra = ''): string {
  const fns = { packA, packB, microKernel4x4, addTile, matmulStrided, newScratch, unitBlock, runUnit };
  return [
    '"use strict";',
    'var __name = (f) => f;',
    `const MR = ${MR}, NR = ${NR}, KC = ${KC}, MC = ${MC}, NC = ${NC};`,
    `const NEXT = ${NEXT}, DONE = ${DONE}, FAILED = ${FAILED}, LEFT = ${LEFT}, STATE = ${STATE};`,
    ...Object.entries(fns).map(([name, fn]) => `const ${name} = (${fn.toString()});`),
    extra,
    `(${workerMain.toString()})();`,
  ].join('\n');
}

const defaultScratch = newScratch();

/**
 * Dense row-major C = A B (A is m x k, B is k x n, C is m x n), overwriting C.
 * @example matmulInto(a, b, c, 2, 3, 4);
 */
export function matmulInto(
  a: Float32Array | Float64Array,
  b: Float32Array | Float64Array,
  c: Float32Array | Float64Array,
  m: number,
  k: number,
  n: number,
): void {
  matmulStrided(
    { data: a, offset: 0, rowStride: k, colStride: 1 },
    { data: b, offset: 0, rowStride: n, colStride: 1 },
    { data: c, offset: 0, rowStride: n },
    m,
    k,
    n,
    defaultScratch,
  );
}
