/**
 * Float32 layer norm, forward and backward, on the WebAssembly SIMD kernels of
 * wasm/layer-norm.ts (float64 lanes; see there for how the results relate to the JS
 * kernel's). Rows are copied a chunk at a time (about 64 KiB of them, at least one row)
 * into the module's memory, each padded with zeros to a multiple of four floats,
 * transformed there in place, and copied out; the weight and bias are copied once per
 * call, and dweight and dbias accumulate in float64 in the module's memory across chunks.
 */
import type { LayerNormGrads, LayerNormResult } from '../../backend.ts';
import { NDArray } from '../../ndarray.ts';
import { instantiate, vectorKernelsOn, type VectorModule } from './wasm/instance.ts';
import { buildLayerNormModule, DATA_PTR, MASK_PTR, STAT_BYTES } from './wasm/layer-norm.ts';

type Kernel = (...args: number[]) => void;
type LayerNormFns = Record<string, Kernel>;

/** Floats of row data per chunk (64 KiB). */
const CHUNK_FLOATS = 16384;

let built: VectorModule<LayerNormFns> | undefined | null = null;

function layerNormModule(): VectorModule<LayerNormFns> | undefined {
  if (!vectorKernelsOn()) return undefined;
  if (built === null) built = instantiate<LayerNormFns>(buildLayerNormModule(1));
  return built;
}

/** Byte addresses of the operands for rows of `n` floats, `k` rows a chunk. */
interface Plan {
  dp: number;
  k: number;
  x: number;
  g: number;
  stat: number;
  w: number;
  b: number;
  dw: number;
  db: number;
}

function plan(w: VectorModule<LayerNormFns>, rows: number, n: number): Plan {
  const dp = (n + 3) & ~3;
  const k = Math.max(1, Math.min(rows, Math.floor(CHUNK_FLOATS / dp)));
  const x = DATA_PTR;
  const g = x + k * dp * 4;
  const stat = g + k * dp * 4;
  const wAt = stat + k * STAT_BYTES;
  const b = wAt + dp * 4;
  const dw = b + dp * 4;
  const db = dw + dp * 8;
  w.reserve(db + dp * 8);
  // the tail masks: f64 lanes 0, 1 (low half) and 2, 3 (high half) of the last vector
  const valid = n - (dp - 4);
  const masks = new Int32Array(w.f32.buffer, MASK_PTR, 8);
  for (let lane = 0; lane < 4; lane++) masks.fill(lane < valid ? -1 : 0, 2 * lane, 2 * lane + 2);
  return { dp, k, x, g, stat, w: wAt, b, dw, db };
}

/** Copies rows [r0, r0 + k) of the dense `[rows, n]` data at `offset` into `mem` at byte `at`, padded with zeros to dp. */
function copyIn(mem: Float32Array, at: number, data: Float32Array, offset: number, r0: number, k: number, n: number, dp: number): void {
  const base = at / 4;
  if (dp === n) {
    mem.set(data.subarray(offset + r0 * n, offset + (r0 + k) * n), base);
    return;
  }
  for (let i = 0; i < k; i++) {
    const p = offset + (r0 + i) * n;
    mem.set(data.subarray(p, p + n), base + i * dp);
    mem.fill(0, base + i * dp + n, base + (i + 1) * dp);
  }
}

/** Copies k padded rows from `mem` at byte `at` into `out` from row r0. */
function copyOut(mem: Float32Array, at: number, out: Float32Array, r0: number, k: number, n: number, dp: number): void {
  const base = at / 4;
  if (dp === n) {
    out.set(mem.subarray(base, base + k * n), r0 * n);
    return;
  }
  for (let i = 0; i < k; i++) out.set(mem.subarray(base + i * dp, base + i * dp + n), (r0 + i) * n);
}

/**
 * A vector operand into `mem` at byte `at`. Its padding up to dp is left as it is: it
 * meets only padded lanes of the rows, whose results are dropped and whose terms the
 * kernel's tail mask keeps out of the sums.
 */
function copyVector(mem: Float32Array, at: number, v: NDArray, n: number): void {
  mem.set((v.data as Float32Array).subarray(v.offset, v.offset + n), at / 4);
}

const isF32 = (a: NDArray | null) => a === null || a.data instanceof Float32Array;
const suffix = (w: unknown, b: unknown) => (w ? (b ? '_wb' : '_w') : b ? '_b' : '');

/**
 * The fused layer norm of float32 `x` (dense `[rows, n]`) on the wasm kernel; undefined
 * when the kernel is off (TSGRAD_WASM=0, `setVectorKernels(false)`), unavailable, or an
 * operand is not float32.
 */
export function layerNormF32(x: NDArray, weight: NDArray | null, bias: NDArray | null, eps: number): LayerNormResult | undefined {
  const m = isF32(x) && isF32(weight) && isF32(bias) ? layerNormModule() : undefined;
  const [rows, n] = x.shape as [number, number];
  if (!m || rows === 0 || n === 0) return undefined;
  const y = new Float32Array(rows * n);
  const mean = new Float32Array(rows);
  const rstd = new Float32Array(rows);
  const result = {
    y: new NDArray(y, [rows, n], undefined, 0, 'float32'),
    mean: new NDArray(mean, [rows, 1], undefined, 0, 'float32'),
    rstd: new NDArray(rstd, [rows, 1], undefined, 0, 'float32'),
  };
  const p = plan(m, rows, n);
  if (weight) copyVector(m.f32, p.w, weight, n);
  if (bias) copyVector(m.f32, p.b, bias, n);
  const kernel = m.fns[`forward${suffix(weight, bias)}`]!;
  const data = x.data as Float32Array;
  for (let r0 = 0; r0 < rows; r0 += p.k) {
    const k = Math.min(p.k, rows - r0);
    copyIn(m.f32, p.x, data, x.offset, r0, k, n, p.dp);
    kernel(p.x, k, p.dp, n, eps, p.stat, p.w, p.b, 0);
    copyOut(m.f32, p.x, y, r0, k, n, p.dp);
    for (let i = 0, s = p.stat / 8; i < k; i++, s += 2) {
      mean[r0 + i] = m.f64[s]!;
      rstd[r0 + i] = m.f64[s + 1]!;
    }
  }
  return result;
}

/**
 * Gradients of the fused layer norm for float32 operands on the wasm kernel (see
 * `Backend.layerNormBackward`); undefined when the kernel is off or unavailable, or an
 * operand is not float32.
 */
export function layerNormBackwardF32(g: NDArray, x: NDArray, weight: NDArray | null, withBias: boolean, mean: NDArray, rstd: NDArray): LayerNormGrads | undefined {
  const m = isF32(g) && isF32(x) && isF32(weight) ? layerNormModule() : undefined;
  const [rows, n] = x.shape as [number, number];
  if (!m || rows === 0 || n === 0) return undefined;
  const p = plan(m, rows, n);
  if (weight) copyVector(m.f32, p.w, weight, n);
  m.f64.fill(0, p.dw / 8, p.db / 8 + p.dp);
  const kernel = m.fns[`backward${suffix(weight, withBias)}`]!;
  const dx = new Float32Array(rows * n);
  for (let r0 = 0; r0 < rows; r0 += p.k) {
    const k = Math.min(p.k, rows - r0);
    copyIn(m.f32, p.x, x.data as Float32Array, x.offset, r0, k, n, p.dp);
    copyIn(m.f32, p.g, g.data as Float32Array, g.offset, r0, k, n, p.dp);
    for (let i = 0, s = p.stat / 8; i < k; i++, s += 2) {
      m.f64[s] = mean.data[mean.offset + r0 + i]!;
      m.f64[s + 1] = rstd.data[rstd.offset + r0 + i]!;
    }
    kernel(p.g, p.x, k, p.dp, n, p.stat, p.w, p.dw, p.db);
    copyOut(m.f32, p.g, dx, r0, k, n, p.dp);
  }
  const vector = (at: number) => new NDArray(Float32Array.from(m.f64.subarray(at / 8, at / 8 + n)), [n], undefined, 0, 'float32');
  return {
    dx: new NDArray(dx, [rows, n], undefined, 0, 'float32'),
    dweight: weight ? vector(p.dw) : null,
    dbias: withBias ? vector(p.db) : null,
  };
}
