/**
 * Shared helpers for the nn tests: float64 tensors, gradient checks of a module's
 * inputs and parameters together, and plain-array comparisons.
 */
import { gradcheck, Tensor, type GradcheckOptions } from '@tsgrad/autograd';
import * as nd from '@tsgrad/tensor';
import { functionalCall, type AnyModule } from '../src/index.ts';

/** A float64 tensor from flat values (requires grad by default). */
export function f64(values: ArrayLike<number>, shape: readonly number[], requiresGrad = true): Tensor {
  return new Tensor(nd.NDArray.fromTyped(Float64Array.from(values), shape, 'float64'), requiresGrad);
}

/** A seeded float64 normal tensor. */
export function randn64(shape: readonly number[], seed: number, requiresGrad = true, std = 1): Tensor {
  return new Tensor(nd.randn(shape, { seed, dtype: 'float64', std }), requiresGrad);
}

/** int32 ids. */
export function ids(values: readonly number[], shape: readonly number[]): Tensor {
  return new Tensor(nd.NDArray.fromTyped(Int32Array.from(values), shape, 'int32'));
}

/**
 * gradcheck of `out = reduce(module.call(...inputs))` with respect to the float inputs
 * and every parameter of `module` (which must already be float64).
 */
export function checkModule(module: AnyModule, inputs: Tensor[], opts: GradcheckOptions & { post?: (y: Tensor) => Tensor } = {}): true {
  const names = [...module.namedParameters()].map(([n]) => n);
  const params = names.map((n) => module.getParameter(n));
  const k = inputs.length;
  return gradcheck(
    (...xs: Tensor[]) => {
      const ps = Object.fromEntries(names.map((n, i) => [n, xs[k + i]!]));
      const y = functionalCall(module, ps, () => module.call(...xs.slice(0, k)));
      return opts.post ? opts.post(y) : y;
    },
    [...inputs, ...params],
    opts,
  );
}

export function values(t: Tensor | nd.NDArray): number[] {
  return [...(t instanceof Tensor ? t.data : t).toFloat64Array()];
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`maxAbsDiff: lengths ${a.length} and ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
