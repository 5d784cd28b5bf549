/**
 * The float32 Adam / AdamW update on the WebAssembly SIMD kernel of wasm/adam.ts, in place
 * on the parameter's storage and the optimizer's moment buffers: `Backend.adamUpdate`.
 *
 * The module has its own memory, so the operands go through it a chunk at a time (8192
 * elements, 32 KiB per operand, 160 KiB for all five, which stays in L2 from the copy in
 * to the copy out): the parameter, gradient and moments are copied in with
 * `TypedArray.set`, the kernel runs, and the parameter and moments are copied back. A
 * gradient that is not dense (the weight gradient of `x W^T` arrives as a transposed
 * view) is gathered into the chunk straight from its strides, so no dense copy of it is
 * ever allocated. The result is bitwise that of nn's plain loop (see wasm/adam.ts).
 */
import type { AdamStepConstants } from '../../backend.ts';
import type { NDArray } from '../../ndarray.ts';
import { stridedRows, type StridedRows } from '../../strided.ts';
import { gather } from './gelu-wasm.ts';
import { buildAdamModule } from './wasm/adam.ts';
import { instantiate, vectorKernelsOn, type VectorModule } from './wasm/instance.ts';

type AdamKernel = (
  ptr: number, vectors: number,
  b1: number, c1: number, b2: number, c2: number, l2: number, shrink: number,
  sign: number, stepSize: number, bc2Sqrt: number, eps: number,
) => void;

interface AdamFns {
  adam: AdamKernel;
  adamAmsgrad: AdamKernel;
}

/** Elements per chunk, and the bytes between operands in the module's memory. */
const CHUNK = 8192;
const REGION = CHUNK * 4;
const PAGES = Math.ceil((5 * REGION) / 65536);

let built: VectorModule<AdamFns> | undefined | null = null;

function adamModule(): VectorModule<AdamFns> | undefined {
  if (!vectorKernelsOn()) return undefined;
  if (built === null) built = instantiate<AdamFns>(buildAdamModule(REGION, PAGES));
  return built;
}

/**
 * One Adam / AdamW step in place on float32 `w` (the parameter's dense storage), `m`, `v`
 * and `vmax` (amsgrad, else null) for the gradient `g` (the parameter's shape, any
 * strides). Returns false, having changed nothing, when it cannot: not all float32, sizes
 * that differ, or the kernels off or unavailable; the caller then runs its plain loop.
 * @example
 * const ok = adamUpdateF32(w, grad, m, v, null, { b1: 0.9, b2: 0.999, l2: 0, shrink: 1, sign: 1, stepSize: 1e-2, bc2Sqrt: Math.sqrt(1e-3), eps: 1e-8 });
 */
export function adamUpdateF32(
  w: Float32Array | Float64Array, g: NDArray, m: Float32Array | Float64Array, v: Float32Array | Float64Array,
  vmax: Float32Array | Float64Array | null, k: AdamStepConstants,
): boolean {
  if (!(w instanceof Float32Array && m instanceof Float32Array && v instanceof Float32Array) || g.dtype !== 'float32') return false;
  if (vmax !== null && !(vmax instanceof Float32Array)) return false;
  const n = w.length;
  if (g.size !== n || m.length !== n || v.length !== n || (vmax !== null && vmax.length !== n)) return false;
  const mod = adamModule();
  if (!mod) return false;
  const run = vmax ? mod.fns.adamAmsgrad : mod.fns.adam;
  const rows = stridedRows(g.shape, [g]);
  // a transposed gradient goes by whole rows, gathered column-wise (see gatherTransposed)
  const transposed = isTransposed(rows);
  const chunk = transposed ? Math.floor(CHUNK / rows.length) * rows.length : CHUNK;
  const mem = mod.f32;
  const [wAt, gAt, mAt, vAt, xAt] = [0, 1, 2, 3, 4].map((i) => (i * REGION) / 4) as [number, number, number, number, number];
  const { b1, b2, l2, shrink, sign, stepSize, bc2Sqrt, eps } = k;
  for (let from = 0; from < n; from += chunk) {
    const count = Math.min(chunk, n - from);
    const to = from + count;
    mem.set(w.subarray(from, to), wAt);
    if (transposed) gatherTransposed(rows, g.data as Float32Array, from, count, mem, gAt);
    else gather(rows, 0, g.data, from, count, mem, gAt);
    mem.set(m.subarray(from, to), mAt);
    mem.set(v.subarray(from, to), vAt);
    if (vmax) mem.set(vmax.subarray(from, to), xAt);
    run(0, (count + 3) >> 2, b1, 1 - b1, b2, 1 - b2, l2, shrink, sign, stepSize, bc2Sqrt, eps);
    w.set(mem.subarray(wAt, wAt + count), from);
    m.set(mem.subarray(mAt, mAt + count), from);
    v.set(mem.subarray(vAt, vAt + count), from);
    if (vmax) vmax.set(mem.subarray(xAt, xAt + count), from);
  }
  return true;
}

/**
 * Whether the rows of a single operand are those of a transposed matrix: elements `step`
 * apart within a row, and each row starting one element after the previous one (the
 * weight gradient of `x W^T` is such a view), with whole rows fitting in a chunk.
 */
function isTransposed(rows: StridedRows): boolean {
  if (rows.step[0] === 1 || rows.count < 2 || rows.length > CHUNK) return false;
  const starts = rows.start[0]!;
  for (let r = 1; r < rows.count; r++) if (starts[r] !== starts[0]! + r) return false;
  return true;
}

/**
 * Copies whole rows [from / length, (from + count) / length) of a transposed operand into
 * `mem` at `at`, walking the source in its own (row-major) order: for each column, the
 * rows' elements are neighbours in memory, and the few destination rows being written stay
 * in cache. Reading a row at a time instead would touch a new cache line per element.
 */
function gatherTransposed(rows: StridedRows, data: Float32Array, from: number, count: number, mem: Float32Array, at: number): void {
  const length = rows.length;
  const step = rows.step[0]!;
  const r0 = from / length;
  const nr = count / length;
  const base = rows.start[0]![r0]!;
  for (let c = 0; c < length; c++) {
    const src = base + c * step;
    for (let r = 0, d = at + c; r < nr; r++, d += length) mem[d] = data[src + r]!;
  }
}
