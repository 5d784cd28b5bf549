/**
 * In-place updates of a tensor's values, named as in PyTorch (`sub_`, `add_`, `mul_`,
 * `div_`, `zero_`, `fill_`, `copy_`): what a hand-written optimizer step needs.
 *
 * They are not recorded in the graph. So that no gradient is silently lost or wrong:
 * - while gradients are recorded, a tensor that requires grad (a parameter, or anything
 *   computed from one) cannot be changed in place, nor can the operand require grad:
 *   wrap the update in `noGrad(() => ...)`, as `torch.no_grad()` around an optimizer step;
 * - every write bumps the storage's version (version.ts), and backward raises if a
 *   tensor a recorded op saved has been written since.
 */
import * as nd from '@tsgrad/tensor';
import { isGradEnabled } from './graph.ts';
import type { Tensor } from './tensor.ts';
import { bumpVersion } from './version.ts';

/** What an in-place binary op combines the tensor with. */
export type InPlaceOperand = Tensor | nd.NDArray | number;

function valuesOf(o: InPlaceOperand): nd.NDArray | number {
  return typeof o === 'number' || o instanceof nd.NDArray ? o : o.data;
}

function requiresGrad(o: InPlaceOperand | undefined): boolean {
  return o !== undefined && typeof o !== 'number' && !(o instanceof nd.NDArray) && o.requiresGrad;
}

/** Refuses an in-place change that autograd would need to record. */
function guard(op: string, target: Tensor, operand?: InPlaceOperand): void {
  if (!isGradEnabled()) return;
  if (target.requiresGrad && target.isLeaf) {
    throw new Error(
      `${op}: a leaf tensor that requires grad cannot be changed in place while gradients are recorded; ` +
        `wrap the update in noGrad(() => ...), as an optimizer step does`,
    );
  }
  if (target.requiresGrad) {
    throw new Error(`${op}: in-place ops on a tensor computed by a recorded op ('${target.node?.op}') are not supported; use the out-of-place op, or noGrad`);
  }
  if (requiresGrad(operand)) {
    throw new Error(`${op}: the operand requires grad but in-place ops are not recorded, so its gradient would be lost; use the out-of-place op, or noGrad`);
  }
}

/** Writes `values` (already of the target's shape) into the target's storage. */
function write(op: string, target: Tensor, values: nd.NDArray, allowNarrowing: boolean): Tensor {
  const dst = target.data;
  const shared = dst.strides.findIndex((s, i) => s === 0 && dst.shape[i]! > 1);
  if (shared !== -1) {
    throw new Error(
      `${op}: the tensor of shape [${dst.shape.join(', ')}] is an expanded view (stride 0 on axis ${shared}), ` +
        'so several of its elements share one memory location; write into a contiguous() copy instead',
    );
  }
  if (!allowNarrowing && nd.isFloat(values.dtype) && !nd.isFloat(dst.dtype)) {
    throw new Error(`${op}: the result has dtype ${values.dtype} and cannot be written into a tensor of dtype ${dst.dtype}`);
  }
  // toTyped copies, so a source that aliases the target (x.copy_(x.T)) is read in full first
  const flat = nd.castIfNeeded(values, dst.dtype).toTyped();
  if (dst.isContiguous()) dst.data.set(flat, dst.offset);
  else dst.forEachIndex((p, i) => (dst.data[p] = flat[i]!));
  bumpVersion(dst);
  return target;
}

/** The operand broadcast to the target's shape, or an error naming both shapes. */
function checkBroadcast(op: string, target: Tensor, other: nd.NDArray | number): void {
  if (typeof other === 'number') return;
  const shape = nd.broadcastShapes(target.shape, other.shape, op);
  if (!nd.shapesEqual(shape, target.shape)) {
    throw new Error(`${op}: an operand of shape [${other.shape.join(', ')}] cannot be broadcast to the tensor's shape [${target.shape.join(', ')}]`);
  }
}

function binaryInPlace(op: string, fn: (a: nd.NDArray, b: nd.Operand) => nd.NDArray, target: Tensor, operand: InPlaceOperand): Tensor {
  guard(op, target, operand);
  const other = valuesOf(operand);
  checkBroadcast(op, target, other);
  return write(op, target, fn(target.data, other), false);
}

/** `target -= operand` in place. @example noGrad(() => w.sub_(w.grad!.mul(0.1))) */
export function sub_(target: Tensor, operand: InPlaceOperand): Tensor {
  return binaryInPlace('sub_', nd.sub, target, operand);
}
/** `target += operand` in place. @example noGrad(() => m.add_(g)) */
export function add_(target: Tensor, operand: InPlaceOperand): Tensor {
  return binaryInPlace('add_', nd.add, target, operand);
}
/** `target *= operand` in place. @example noGrad(() => m.mul_(0.9)) */
export function mul_(target: Tensor, operand: InPlaceOperand): Tensor {
  return binaryInPlace('mul_', nd.mul, target, operand);
}
/** `target /= operand` in place (float tensors). @example noGrad(() => w.div_(2)) */
export function div_(target: Tensor, operand: InPlaceOperand): Tensor {
  return binaryInPlace('div_', nd.div, target, operand);
}
/** Sets every element to `value` (cast to the tensor's dtype). @example noGrad(() => w.fill_(1)) */
export function fill_(target: Tensor, value: number): Tensor {
  guard('fill_', target);
  return write('fill_', target, nd.full(target.shape, value, target.dtype), true);
}
/** Sets every element to zero. @example w.grad?.zero_() */
export function zero_(target: Tensor): Tensor {
  guard('zero_', target);
  return write('zero_', target, nd.zeros(target.shape, target.dtype), true);
}
/** Copies `source` (broadcast, cast to the tensor's dtype) into the tensor. @example noGrad(() => w.copy_(saved)) */
export function copy_(target: Tensor, source: InPlaceOperand): Tensor {
  guard('copy_', target, source);
  const values = valuesOf(source);
  checkBroadcast('copy_', target, values);
  const full = typeof values === 'number' ? nd.full(target.shape, values, target.dtype) : values.expand(target.shape);
  return write('copy_', target, full, true);
}
