/**
 * Turning JS numbers into tensors for binary ops. A number becomes a 0-d constant of
 * the other operand's dtype (a "weak" scalar that does not widen the result).
 */
import * as nd from '@tsgrad/tensor';
import { Tensor } from './tensor.ts';

export type TensorLike = Tensor | number;

/** `op` names the operation in the error thrown when a number does not fit the dtype (e.g. 3e9 as int32). */
export function lift(a: TensorLike, b: TensorLike, op = 'scalar'): [Tensor, Tensor] {
  if (a instanceof Tensor && b instanceof Tensor) return [a, b];
  if (a instanceof Tensor) return [a, new Tensor(nd.scalar(b as number, nd.promoteWithScalar(a.dtype, b as number), op))];
  if (b instanceof Tensor) return [new Tensor(nd.scalar(a, nd.promoteWithScalar(b.dtype, a), op)), b];
  return [new Tensor(nd.scalar(a, undefined, op)), new Tensor(nd.scalar(b, undefined, op))];
}
