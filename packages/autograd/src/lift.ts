/**
 * Turning JS numbers into tensors for binary ops. A number becomes a 0-d constant of
 * the other operand's dtype (a "weak" scalar that does not widen the result).
 */
import * as nd from '@tsgrad/tensor';
import { Tensor } from './tensor.ts';

export type TensorLike = Tensor | number;

export function lift(a: TensorLike, b: TensorLike): [Tensor, Tensor] {
  if (a instanceof Tensor && b instanceof Tensor) return [a, b];
  if (a instanceof Tensor) return [a, new Tensor(nd.scalar(b as number, nd.promoteWithScalar(a.dtype, b as number)))];
  if (b instanceof Tensor) return [new Tensor(nd.scalar(a, nd.promoteWithScalar(b.dtype, a))), b];
  return [new Tensor(nd.scalar(a)), new Tensor(nd.scalar(b))];
}
