/**
 * Matrix product with NumPy's `matmul` rules: the last two axes multiply, leading
 * (batch) axes broadcast, a 1-D left operand is a row vector and a 1-D right operand
 * a column vector (their added axis is removed from the result).
 */
import { getBackend } from '../backends/registry.ts';
import type { NDArray } from '../ndarray.ts';
import { broadcastShapes, shapeToString, sizeOf } from '../shape.ts';

/**
 * Batched matrix product.
 * @example matmul(x, w) // [batch, t, c] @ [c, d] -> [batch, t, d]
 */
export function matmul(a: NDArray, b: NDArray): NDArray {
  if (a.ndim === 0 || b.ndim === 0) {
    throw new Error(`matmul: both operands need at least 1 dimension, got shapes ${shapeToString(a.shape)} and ${shapeToString(b.shape)}`);
  }
  const x = a.ndim === 1 ? a.unsqueeze(0) : a;
  const y = b.ndim === 1 ? b.unsqueeze(1) : b;
  const m = x.shape[x.ndim - 2]!;
  const k = x.shape[x.ndim - 1]!;
  const k2 = y.shape[y.ndim - 2]!;
  const n = y.shape[y.ndim - 1]!;
  if (k !== k2) {
    throw new Error(`matmul: shapes ${shapeToString(a.shape)} and ${shapeToString(b.shape)} do not align (${k} != ${k2})`);
  }
  let batch: number[];
  try {
    batch = broadcastShapes(x.shape.slice(0, -2), y.shape.slice(0, -2), 'matmul');
  } catch {
    throw new Error(`matmul: batch dimensions of shapes ${shapeToString(a.shape)} and ${shapeToString(b.shape)} cannot be broadcast together`);
  }
  const B = sizeOf(batch);
  const x3 = x.expand([...batch, m, k]).reshape([B, m, k]);
  const y3 = y.expand([...batch, k, n]).reshape([B, k, n]);
  let out = getBackend().matmul(x3, y3).reshape([...batch, m, n]);
  if (a.ndim === 1) out = out.squeeze(out.ndim - 2);
  if (b.ndim === 1) out = out.squeeze(out.ndim - 1);
  return out;
}
