/**
 * Float32 softmax / log-softmax on the WebAssembly SIMD kernels of wasm/softmax.ts.
 *
 * The input is walked as "lines" (one per index of the other axes, `d` elements `sx`
 * apart), copied a chunk of lines at a time into the module's memory (each line padded
 * to a multiple of four with -Infinity), transformed there in place, and copied into the
 * output. A chunk is 64 KiB, so it stays in the core's L2 cache between the copy in, the
 * kernel's three passes and the copy out. A dense input whose softmax axis is the last
 * one (the common case) is copied by whole chunks with `TypedArray.set`.
 *
 * One thread, by measurement: on the 4096 x 512 benchmark the kernel takes about 2.3 ms
 * (quiet moments of a loaded two-core machine), so a second thread could save at most
 * about 1.2 ms, while copying the 8 MB input into the worker pool's shared memory and the
 * output back out costs about 0.9 ms (0.44 ms per 8 MB allocated and copied); the gain
 * would be a few tenths of a millisecond at best, and a loss whenever the other core is
 * busy.
 */
import { NDArray } from '../../ndarray.ts';
import { contiguousStrides } from '../../shape.ts';
import { stridedRows, type RowStarts } from '../../strided.ts';
import { instantiate, vectorKernelsOn, type VectorModule } from './wasm/instance.ts';
import { buildSoftmaxModule, DATA_PTR, STAT_BYTES } from './wasm/softmax.ts';

/** The module's exported functions (see wasm/softmax.ts). */
interface SoftmaxFns {
  softmaxRows(ptr: number, rows: number, dp: number, stat: number): void;
  sumExpRows(ptr: number, rows: number, dp: number, stat: number): void;
  subRows(ptr: number, rows: number, dp: number, stat: number): void;
  exp(ptr: number, vectors: number): void;
}

/** Floats of line data per chunk (64 KiB). */
const CHUNK_FLOATS = 16384;

let built: VectorModule<SoftmaxFns> | undefined | null = null;

/** The instantiated module (built on first use), or undefined without WebAssembly SIMD. */
export function softmaxModule(): VectorModule<SoftmaxFns> | undefined {
  if (built === null) built = instantiate<SoftmaxFns>(buildSoftmaxModule(3));
  return built;
}

/** Where each line starts in input and output, or null for a dense input over its last axis (line i at offset + i d, i d). */
interface Lines {
  count: number;
  inStart: RowStarts | null;
  outStart: RowStarts | null;
}

function listLines(x: NDArray, axis: number, d: number): Lines {
  const count = x.size / d;
  if (axis === x.ndim - 1 && x.isContiguous()) return { count, inStart: null, outStart: null };
  const drop = <T,>(list: readonly T[]) => list.filter((_, i) => i !== axis);
  const rows = stridedRows(drop(x.shape), [
    { strides: drop(x.strides), offset: x.offset },
    { strides: drop(contiguousStrides(x.shape)), offset: 0 },
  ]);
  // flatten the walker's rows x length into one start per line
  const inStart = new Float64Array(count);
  const outStart = new Float64Array(count);
  for (let r = 0, i = 0; r < rows.count; r++) {
    for (let j = 0; j < rows.length; j++, i++) {
      inStart[i] = rows.start[0]![r]! + j * rows.step[0]!;
      outStart[i] = rows.start[1]![r]! + j * rows.step[1]!;
    }
  }
  return { count, inStart, outStart };
}

/**
 * Softmax (or log-softmax) of `x` along `axis` as float32, on the wasm kernel; undefined
 * when the kernel is off (TSGRAD_WASM=0, `setVectorKernels(false)`) or unavailable.
 */
export function softmaxF32(x: NDArray, axis: number, log: boolean): NDArray | undefined {
  const w = vectorKernelsOn() ? softmaxModule() : undefined;
  if (!w) return undefined;
  const out = new Float32Array(x.size);
  const result = new NDArray(out, x.shape, undefined, 0, 'float32');
  if (x.size === 0) return result;
  const d = x.shape[axis]!;
  const dp = (d + 3) & ~3;
  const perChunk = Math.max(1, Math.floor(CHUNK_FLOATS / dp));
  const base = DATA_PTR / 4; // the first line's float index in the module's memory
  const statPtr = DATA_PTR + perChunk * dp * 4;
  w.reserve(statPtr + perChunk * STAT_BYTES);
  const { f32: mem, f64: stats, fns } = w;
  const statIndex = statPtr / 8;
  const { count, inStart, outStart } = listLines(x, axis, d);
  const src = x.data;
  const sx = x.strides[axis]!;
  const so = contiguousStrides(x.shape)[axis]!;
  for (let l0 = 0; l0 < count; l0 += perChunk) {
    const k = Math.min(perChunk, count - l0);
    // copy in
    if (inStart === null && dp === d) mem.set(src.subarray(x.offset + l0 * d, x.offset + (l0 + k) * d), base);
    else {
      for (let i = 0; i < k; i++) {
        const p = inStart === null ? x.offset + (l0 + i) * d : inStart[l0 + i]!;
        const o = base + i * dp;
        if (sx === 1) mem.set(src.subarray(p, p + d), o);
        else for (let t = 0, q = p; t < d; t++, q += sx) mem[o + t] = src[q]!;
        mem.fill(-Infinity, o + d, o + dp);
      }
    }
    // transform
    if (!log) fns.softmaxRows(DATA_PTR, k, dp, statPtr);
    else {
      fns.sumExpRows(DATA_PTR, k, dp, statPtr);
      for (let i = 0, s = statIndex; i < k; i++, s += 2) {
        const m = stats[s]!;
        // a non-finite maximum: +Infinity gives x - Infinity (-Infinity, or NaN at the
        // infinite elements), NaN or -Infinity give NaN everywhere, as the composed ops do
        // (the kernel's maximum may have missed a NaN: a NaN sum says so when m is finite)
        stats[s + 1] = Number.isFinite(m) ? m + Math.log(stats[s + 1]!) : m === Infinity && !hasNaN(mem, base + i * dp, d) ? Infinity : NaN;
      }
      fns.subRows(DATA_PTR, k, dp, statPtr);
    }
    // copy out
    if (outStart === null && dp === d) out.set(mem.subarray(base, base + k * d), l0 * d);
    else {
      for (let i = 0; i < k; i++) {
        const p = outStart === null ? (l0 + i) * d : outStart[l0 + i]!;
        const o = base + i * dp;
        if (so === 1) out.set(mem.subarray(o, o + d), p);
        else for (let t = 0, q = p; t < d; t++, q += so) out[q] = mem[o + t]!;
      }
    }
  }
  return result;
}

function hasNaN(mem: Float32Array, from: number, d: number): boolean {
  for (let t = from; t < from + d; t++) if (mem[t] !== mem[t]) return true;
  return false;
}
