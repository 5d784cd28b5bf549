/**
 * The fully connected product `x W^T + b` as one op. It is the composition
 * `x.matmul(weight.mT).add(bias)`, value for value and gradient for gradient, but the bias
 * is added into the product's fresh output instead of into a second array of the same
 * size: a training step's largest avoidable allocation after the products themselves.
 */
import * as nd from '@tsgrad/tensor';
import { unbroadcast } from '../broadcast.ts';
import { record } from '../graph.ts';
import type { Tensor } from '../tensor.ts';

/** `out[r, o] += bias[o]`, as `nd.add(out, bias)` computes each sum (product on the left). */
function addRowInPlace(out: nd.NDArray, bias: nd.NDArray): void {
  const [rows, cols] = out.shape as [number, number];
  const od = out.data;
  const bd = bias.data;
  const bs = bias.strides[0]!;
  for (let r = 0, p = 0; r < rows; r++) {
    for (let o = 0, q = bias.offset; o < cols; o++, p++, q += bs) od[p] = od[p]! + bd[q]!;
  }
}

/**
 * `x W^T + b` for `x` of shape [rows, in], `weight` [out, in] (PyTorch's layout) and
 * `bias` [out] or null; other ranks and mixed dtypes take the composition
 * `x.matmul(weight.mT).add(bias)`, whose errors (naming both shapes) they also get.
 * Backward: dx = g W, dW = (x^T g)^T, db = g summed over rows, computed as the
 * composition's rules compute them, so gradients are bitwise the same.
 * @example
 * const y = linear(x, w, b); // [rows, in] x [out, in]^T + [out] -> [rows, out]
 */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  const fused =
    bias !== null &&
    x.ndim === 2 &&
    weight.ndim === 2 &&
    bias.ndim === 1 &&
    nd.isFloat(x.dtype) &&
    x.dtype === weight.dtype &&
    x.dtype === bias.dtype &&
    x.shape[1] === weight.shape[1] &&
    bias.shape[0] === weight.shape[0];
  if (!fused) {
    const y = x.matmul(weight.mT);
    return bias ? y.add(bias) : y;
  }
  const wt = weight.data.permute([1, 0]);
  const product = nd.matmul(x.data, wt);
  // the product is new storage; were it ever a view, add the bias out of place
  const dense = product.offset === 0 && product.isContiguous() && product.data.length === product.size && product.dtype === x.dtype;
  const out = dense ? product : nd.add(product, bias.data);
  if (dense) addRowInPlace(out, bias.data);
  return record('linear', out, [x, weight, bias], (g) => [
    x.requiresGrad ? g.matmul(weight) : null,
    weight.requiresGrad ? x.mT.matmul(g).mT : null,
    bias.requiresGrad ? unbroadcast(g, bias.shape) : null,
  ]);
}
