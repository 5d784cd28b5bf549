/**
 * Gradient checking in float64 against central finite differences.
 *
 * `gradcheck` compares, for one random cotangent c, the analytic vector-Jacobian
 * product  d<c, f(x)>/dx  with  (<c, f(x + e_i h)> - <c, f(x - e_i h)>) / 2h  for every
 * input element i, and also runs the random-direction dot-product test
 * <t, vjp(c)> ~= <c, jvp_numeric(t)> used by JAX's check_grads.
 */
import * as nd from '@tsgrad/tensor';
import { gradients } from './functional.ts';
import { enableGrad, noGrad } from './graph.ts';
import { cat } from './ops/shape.ts';
import { Tensor } from './tensor.ts';

export interface GradcheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Seed for the random cotangent and direction. */
  seed?: number;
  /** Also check second derivatives (gradients of the VJP). */
  secondOrder?: boolean;
}

/** Error thrown when analytic and numeric gradients disagree. */
export class GradcheckError extends Error {}

function dot(a: nd.NDArray, b: nd.NDArray): number {
  const x = a.toFloat64Array();
  const y = b.toFloat64Array();
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * y[i]!;
  return s;
}

/**
 * Checks the gradients of `f` at `inputs` (float64 tensors; those requiring grad are
 * checked). Returns true or throws a `GradcheckError` naming the input and element.
 * @example gradcheck((x) => x.tanh(), [randn([3], { dtype: 'float64', requiresGrad: true })])
 */
export function gradcheck(f: (...xs: Tensor[]) => Tensor, inputs: readonly Tensor[], opts: GradcheckOptions = {}): true {
  const { eps = 1e-6, atol = 1e-5, rtol = 1e-3, seed = 0 } = opts;
  for (const x of inputs) {
    if (x.requiresGrad && x.dtype !== 'float64') {
      throw new GradcheckError(`gradcheck: inputs that require grad must be float64 (got ${x.dtype}); finite differences need double precision`);
    }
  }
  const rng = new nd.Rng(seed);
  // leaves we own, so the user's tensors are never mutated or given .grad
  const xs = inputs.map((x) => (x.requiresGrad ? new Tensor(nd.copy(x.data), true) : x));
  const out0 = f(...xs);
  const c = nd.randn(out0.shape, { seed: rng.int(0, 2 ** 30), dtype: 'float64' });
  const objective = (...args: Tensor[]) => noGrad(() => dot(f(...args).data, c));
  const diff = xs.filter((x) => x.requiresGrad);
  const analytic = gradients(f(...xs), diff, { gradOutput: new Tensor(c.astype(out0.dtype)) });

  diff.forEach((x, k) => {
    const data = x.data.data as Float64Array;
    const a = analytic[k]!.data.toFloat64Array();
    for (let i = 0; i < data.length; i++) {
      const orig = data[i]!;
      data[i] = orig + eps;
      const up = objective(...xs);
      data[i] = orig - eps;
      const down = objective(...xs);
      data[i] = orig;
      const numeric = (up - down) / (2 * eps);
      if (!(Math.abs(numeric - a[i]!) <= atol + rtol * Math.abs(numeric))) {
        throw new GradcheckError(
          `gradcheck: input ${xs.indexOf(x)} (shape [${x.shape.join(', ')}]) element ${i}: analytic ${a[i]} vs numeric ${numeric}`,
        );
      }
    }
  });

  // Random-direction dot-product test: <t, vjp> vs (phi(x + h t) - phi(x - h t)) / 2h.
  const dirs = diff.map((x) => nd.randn(x.shape, { seed: rng.int(0, 2 ** 30), dtype: 'float64' }));
  const vjpDotT = diff.reduce((s, _x, k) => s + dot(analytic[k]!.data, dirs[k]!), 0);
  const shifted = (sign: number) =>
    objective(...xs.map((x) => (x.requiresGrad ? new Tensor(nd.add(x.data, nd.mul(dirs[diff.indexOf(x)]!, sign * eps)), true) : x)));
  const jvp = (shifted(1) - shifted(-1)) / (2 * eps);
  if (!(Math.abs(jvp - vjpDotT) <= atol * Math.max(1, diff.length) + rtol * Math.abs(jvp))) {
    throw new GradcheckError(`gradcheck: dot-product test failed: <t, vjp> = ${vjpDotT} but numeric jvp = ${jvp}`);
  }

  if (opts.secondOrder) gradgradcheck(f, inputs, { ...opts, secondOrder: false });
  return true;
}

/**
 * Checks second derivatives: runs `gradcheck` on x -> <c, vjp_f(x)(c1)> computed with
 * `createGraph`, i.e. Hessian-vector products against finite differences of gradients.
 */
export function gradgradcheck(f: (...xs: Tensor[]) => Tensor, inputs: readonly Tensor[], opts: GradcheckOptions = {}): true {
  const rng = new nd.Rng((opts.seed ?? 0) + 1);
  const probe = noGrad(() => f(...inputs));
  const c1 = new Tensor(nd.randn(probe.shape, { seed: rng.int(0, 2 ** 30), dtype: probe.dtype }));
  // Recording must stay on inside, even when gradcheck evaluates it under noGrad.
  const firstOrder = (...xs: Tensor[]) =>
    enableGrad(() => {
      const diff = xs.filter((x) => x.requiresGrad);
      const gs = gradients(f(...xs), diff, { gradOutput: c1, createGraph: true });
      return gs.length === 1 ? gs[0]! : cat(gs.map((g) => g.reshape([-1])), 0);
    });
  return gradcheck(firstOrder, inputs, { ...opts, secondOrder: false });
}
