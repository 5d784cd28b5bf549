/**
 * The fast backend's batched matmul primitive: it hands each product to the worker pool
 * (matmul-pool.ts) or runs it on this thread, on the wasm SIMD kernel (wasm/gemm.ts) for
 * float32 and on the blocked JS kernel (matmul-kernel.ts) otherwise.
 */
import { allocate, type DType } from '../../dtype.ts';
import { NDArray } from '../../ndarray.ts';
import { matmulStrided, newScratch } from './matmul-kernel.ts';
import { parallelMatmul, type StridedBatch } from './matmul-pool.ts';
import { f32Kernel } from './wasm/gemm.ts';

/** Packing buffers of the single-threaded matmul, reused across calls. */
const matmulScratch = newScratch();

/**
 * Batched matmul. The kernel (matmul-kernel.ts) reads operands through their strides,
 * so transposed, sliced or broadcast (batch stride 0) inputs are never copied; large
 * products are shared among cores by the worker pool (matmul-pool.ts). Float32 products
 * run on a WebAssembly SIMD micro-kernel (wasm/gemm.ts) unless `TSGRAD_WASM=0`.
 */
export function matmul(a: NDArray, b: NDArray): NDArray {
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
