/** Calling a module with some of its parameters swapped out for the duration of one call. */
import type { Tensor } from '@tsgrad/autograd';
import type { AnyModule } from './module.ts';

/**
 * Runs `fn` with some parameters of `module` temporarily replaced by the given
 * tensors (by dotted name), restoring the originals afterwards, like
 * torch.func.functional_call. Useful for gradient checks and weight interpolation.
 * @example functionalCall(model, { 'fc.weight': w }, () => model.call(x))
 */
export function functionalCall<T>(module: AnyModule, params: Record<string, Tensor>, fn: () => T): T {
  const saved: [string, Tensor][] = [];
  try {
    for (const [name, t] of Object.entries(params)) {
      saved.push([name, module.getParameter(name)]);
      module.setParameter(name, t);
    }
    return fn();
  } finally {
    for (const [name, t] of saved.reverse()) module.setParameter(name, t);
  }
}
