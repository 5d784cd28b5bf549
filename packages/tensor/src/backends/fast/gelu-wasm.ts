/**
 * Float32 tanh-GELU, forward and backward, on the WebAssembly SIMD kernels of
 * wasm/gelu.ts. Operands of any layout are copied, in row-major order and 16384
 * elements (64 KiB) at a time, into the module's memory, transformed there, and copied
 * into the dense output, so each chunk stays in cache from copy-in to copy-out. A dense
 * operand is copied with `TypedArray.set`, a strided one element by element.
 */
import { NDArray } from '../../ndarray.ts';
import { stridedRows, type StridedRows } from '../../strided.ts';
import type { TypedArray } from '../../dtype.ts';
import { buildGeluModule, DATA_PTR } from './wasm/gelu.ts';
import { instantiate, vectorKernelsOn, type VectorModule } from './wasm/instance.ts';

interface GeluFns {
  gelu(ptr: number, vectors: number, unused: number): void;
  geluGrad(xPtr: number, gPtr: number, vectors: number): void;
}

const CHUNK = 16384;
let built: VectorModule<GeluFns> | undefined | null = null;

function geluModule(): VectorModule<GeluFns> | undefined {
  if (!vectorKernelsOn()) return undefined;
  if (built === null) {
    built = instantiate<GeluFns>(buildGeluModule(1));
    built?.reserve(DATA_PTR + 2 * CHUNK * 4);
  }
  return built;
}

/**
 * Copies elements [from, from + count) (row-major order) of operand `k` of `rows` from
 * `data` into `mem` at `at`.
 */
export function gather(rows: StridedRows, k: number, data: TypedArray, from: number, count: number, mem: Float32Array, at: number): void {
  const length = rows.length;
  const step = rows.step[k]!;
  const starts = rows.start[k]!;
  let r = Math.floor(from / length);
  let j = from - r * length;
  for (let left = count, o = at; left > 0; r++, j = 0) {
    const n = Math.min(length - j, left);
    const p = starts[r]! + j * step;
    if (step === 1) mem.set(data.subarray(p, p + n), o);
    else for (let t = 0; t < n; t++) mem[o + t] = data[p + t * step]!;
    o += n;
    left -= n;
  }
}

/** gelu (tanh) of `x` as float32 on the wasm kernel; undefined when the kernel is off or unavailable. */
export function geluF32(x: NDArray): NDArray | undefined {
  const w = geluModule();
  if (!w) return undefined;
  const out = new Float32Array(x.size);
  const rows = stridedRows(x.shape, [x]);
  const base = DATA_PTR / 4;
  for (let from = 0; from < x.size; from += CHUNK) {
    const n = Math.min(CHUNK, x.size - from);
    gather(rows, 0, x.data, from, n, w.f32, base);
    w.fns.gelu(DATA_PTR, (n + 3) >> 2, 0);
    out.set(w.f32.subarray(base, base + n), from);
  }
  return new NDArray(out, x.shape, undefined, 0, 'float32');
}

/** `g * gelu'(x)` (tanh) as float32 on the wasm kernel; undefined when the kernel is off or unavailable. */
export function geluBackwardF32(x: NDArray, g: NDArray): NDArray | undefined {
  const w = geluModule();
  if (!w) return undefined;
  const out = new Float32Array(x.size);
  const rows = stridedRows(x.shape, [x, g]);
  const [xAt, gAt] = [DATA_PTR / 4, DATA_PTR / 4 + CHUNK];
  for (let from = 0; from < x.size; from += CHUNK) {
    const n = Math.min(CHUNK, x.size - from);
    gather(rows, 0, x.data, from, n, w.f32, xAt);
    gather(rows, 1, g.data, from, n, w.f32, gAt);
    w.fns.geluGrad(xAt * 4, gAt * 4, (n + 3) >> 2);
    out.set(w.f32.subarray(gAt, gAt + n), from);
  }
  return new NDArray(out, x.shape, undefined, 0, 'float32');
}
