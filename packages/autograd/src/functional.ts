/**
 * Function transformations: `grad(f)` and `valueAndGrad(f)` in the style of JAX,
 * built on the same engine as `backward()` but without touching any `.grad` fields.
 */
import * as nd from '@tsgrad/tensor';
import { runBackward } from './engine.ts';
import { isGradEnabled, setGradEnabled } from './graph.ts';
import { Tensor } from './tensor.ts';

/** Gradients of one output w.r.t. given inputs (torch.autograd.grad); unused inputs get zeros. */
export function gradients(
  output: Tensor,
  inputs: readonly Tensor[],
  opts: { gradOutput?: Tensor; createGraph?: boolean; retainGraph?: boolean } = {},
): Tensor[] {
  if (!output.requiresGrad) {
    return inputs.map((x) => new Tensor(nd.zeros(x.shape, x.dtype)));
  }
  const gs = runBackward([output], opts.gradOutput ? [opts.gradOutput] : undefined, opts, inputs);
  return gs.map((g, i) => g ?? new Tensor(nd.zeros(inputs[i]!.shape, inputs[i]!.dtype)));
}

/**
 * Inputs as seen inside a transformed function. An input that already requires a
 * gradient is used as is, so `grad(grad(f))` can differentiate through the inner
 * call; any other input becomes a fresh leaf that requires a gradient.
 */
function prepare(inputs: readonly Tensor[]): { xs: Tensor[]; nested: boolean } {
  const nested = isGradEnabled() && inputs.some((x) => x.requiresGrad);
  const xs = inputs.map((x) => (x.requiresGrad && isGradEnabled() ? x : x.detach().requiresGrad_(true)));
  return { xs, nested };
}

/**
 * `valueAndGrad(f)(...xs)` returns `[f(...xs), gradients]`, where `gradients` has one
 * tensor per input. `f` must return a scalar tensor.
 * @example
 * const [loss, [dw]] = valueAndGrad((w) => w.mul(w).sum())(tensor([1, 2]));
 */
export function valueAndGrad(f: (...xs: Tensor[]) => Tensor): (...xs: Tensor[]) => [Tensor, Tensor[]] {
  return (...inputs: Tensor[]) => {
    const { xs, nested } = prepare(inputs);
    const value = setGradEnabled(true, () => f(...xs));
    if (value.size !== 1) {
      throw new Error(`grad: f must return a scalar, got shape [${value.shape.join(', ')}]; use gradients(output, inputs, { gradOutput })`);
    }
    const gs = gradients(value, xs, { createGraph: nested, retainGraph: nested });
    return [nested ? value : value.detach(), gs];
  };
}

/**
 * `grad(f)` is a function returning the gradient of scalar `f` w.r.t. its inputs: a
 * tensor when called with one input, an array with several. Compose for higher
 * orders: `grad((x) => grad(f)(x).sum())`.
 * @example
 * const dfdx = grad((x) => x.pow(3).sum())(tensor([2])); // [12]
 */
export function grad(f: (x: Tensor) => Tensor): (x: Tensor) => Tensor;
export function grad(f: (...xs: Tensor[]) => Tensor): (...xs: Tensor[]) => Tensor | Tensor[];
export function grad(f: (...xs: Tensor[]) => Tensor): (...xs: Tensor[]) => Tensor | Tensor[] {
  const vg = valueAndGrad(f);
  return (...xs: Tensor[]) => {
    const gs = vg(...xs)[1];
    return xs.length === 1 ? gs[0]! : gs;
  };
}
