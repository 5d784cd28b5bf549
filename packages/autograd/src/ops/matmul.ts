/**
 * Matrix product. For C = A B: dA = dC B^T and dB = A^T dC, with broadcast batch
 * axes summed away. 1-D operands are lifted to matrices by differentiable reshapes,
 * so the rule only needs the matrix case.
 */
import * as nd from '@tsgrad/tensor';
import { unbroadcast } from '../broadcast.ts';
import { record } from '../graph.ts';
import type { Tensor } from '../tensor.ts';

export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.ndim === 1 || b.ndim === 1) {
    if (a.ndim === 0 || b.ndim === 0) nd.matmul(a.data, b.data); // throws the shape error
    const x = a.ndim === 1 ? a.unsqueeze(0) : a;
    const y = b.ndim === 1 ? b.unsqueeze(1) : b;
    let out = matmul(x, y);
    if (a.ndim === 1) out = out.squeeze(out.ndim - 2);
    if (b.ndim === 1) out = out.squeeze(out.ndim - 1);
    return out;
  }
  return record('matmul', nd.matmul(a.data, b.data), [a, b], (g) => [
    a.requiresGrad ? unbroadcast(g.matmul(b.transpose(-1, -2)), a.shape) : null,
    b.requiresGrad ? unbroadcast(a.transpose(-1, -2).matmul(g), b.shape) : null,
  ]);
}
