/**
 * Undoing broadcasting in the backward pass: a gradient of the broadcast shape is
 * summed over the axes that broadcasting created or stretched, then reshaped back.
 */
import { shapesEqual, type Shape } from '@tsgrad/tensor';
import type { Tensor } from './tensor.ts';

export function unbroadcast(grad: Tensor, shape: Shape): Tensor {
  if (shapesEqual(grad.shape, shape)) return grad;
  const lead = grad.ndim - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < grad.ndim; i++) {
    if (i < lead || (shape[i - lead] === 1 && grad.shape[i] !== 1)) axes.push(i);
  }
  const summed = axes.length > 0 ? grad.sum(axes, true) : grad;
  return summed.reshape(shape);
}
