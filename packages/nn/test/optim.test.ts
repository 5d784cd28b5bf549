/**
 * Optimizers against their update rules written out independently on plain JS
 * arrays (torch.optim's algorithm boxes), over random parameters, gradients and
 * hyperparameters for several steps; parameter groups, zeroGrad, state dicts,
 * gradient clipping and learning-rate schedules.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Tensor } from '@tsgrad/autograd';
import * as nd from '@tsgrad/tensor';
import {
  Adam,
  AdamW,
  clipGradNorm,
  clipGradValue,
  linearWarmup,
  LRScheduler,
  SGD,
  warmupCosine,
  warmupLinearDecay,
  type Optimizer,
} from '../src/index.ts';
import { values } from './nn-helpers.ts';

interface Hyper {
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
  betas: [number, number];
  eps: number;
  amsgrad: boolean;
  maximize: boolean;
}

/** torch.optim.SGD, one parameter vector, all steps. */
function refSGD(theta: number[], grads: number[][], h: Hyper): number[] {
  const p = [...theta];
  let buf: number[] | null = null;
  for (const grad of grads) {
    const g = grad.map((gi, i) => (h.maximize ? -gi : gi) + h.weightDecay * p[i]!);
    let d = g;
    if (h.momentum !== 0) {
      buf = buf === null ? [...g] : buf.map((b, i) => h.momentum * b + (1 - h.dampening) * g[i]!);
      d = h.nesterov ? g.map((gi, i) => gi + h.momentum * buf![i]!) : buf;
    }
    d.forEach((di, i) => (p[i] = p[i]! - h.lr * di));
  }
  return p;
}

/** torch.optim.Adam (decoupled = false) and AdamW (true), paper form with bias-corrected moments. */
function refAdam(theta: number[], grads: number[][], h: Hyper, decoupled: boolean): number[] {
  const p = [...theta];
  const n = p.length;
  const m = new Array<number>(n).fill(0);
  const v = new Array<number>(n).fill(0);
  const vmax = new Array<number>(n).fill(0);
  const [b1, b2] = h.betas;
  grads.forEach((grad, k) => {
    const t = k + 1;
    for (let i = 0; i < n; i++) {
      let g = h.maximize ? -grad[i]! : grad[i]!;
      if (decoupled) p[i] = p[i]! * (1 - h.lr * h.weightDecay);
      else g += h.weightDecay * p[i]!;
      m[i] = b1 * m[i]! + (1 - b1) * g;
      v[i] = b2 * v[i]! + (1 - b2) * g * g;
      const mHat = m[i]! / (1 - b1 ** t);
      let vHat: number;
      if (h.amsgrad) {
        vmax[i] = Math.max(vmax[i]!, v[i]!);
        vHat = vmax[i]! / (1 - b2 ** t);
      } else vHat = v[i]! / (1 - b2 ** t);
      p[i] = p[i]! - (h.lr * mHat) / (Math.sqrt(vHat) + h.eps);
    }
  });
  return p;
}

const hyperArb: fc.Arbitrary<Hyper> = fc
  .record({
    lr: fc.double({ min: 1e-4, max: 0.5, noNaN: true }),
    momentum: fc.oneof(fc.constant(0), fc.double({ min: 0.05, max: 0.99, noNaN: true })),
    dampening: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 0.9, noNaN: true })),
    nesterov: fc.boolean(),
    weightDecay: fc.oneof(fc.constant(0), fc.double({ min: 1e-4, max: 0.3, noNaN: true })),
    betas: fc.tuple(fc.double({ min: 0, max: 0.99, noNaN: true }), fc.double({ min: 0.5, max: 0.9999, noNaN: true })),
    eps: fc.oneof(fc.constant(1e-8), fc.double({ min: 1e-10, max: 1e-2, noNaN: true })),
    amsgrad: fc.boolean(),
    maximize: fc.boolean(),
  })
  .map((h) => (h.nesterov && (h.momentum === 0 || h.dampening !== 0) ? { ...h, nesterov: false } : h));

const problemArb = fc.record({
  n: fc.integer({ min: 1, max: 6 }),
  steps: fc.integer({ min: 1, max: 5 }),
  seed: fc.integer(),
});

/** Runs `make(params)` for `steps` steps with the given gradients on a float64 parameter. */
function run(make: (ps: Tensor[]) => Optimizer<{ lr: number }>, theta: number[], grads: number[][]): number[] {
  const p = new Tensor(nd.NDArray.fromTyped(Float64Array.from(theta), [theta.length], 'float64'), true);
  const opt = make([p]);
  for (const g of grads) {
    p.grad = new Tensor(nd.NDArray.fromTyped(Float64Array.from(g), [g.length], 'float64'));
    opt.step();
    opt.zeroGrad();
    assert.is(p.grad, null);
  }
  return values(p);
}

function draw(n: number, steps: number, seed: number): { theta: number[]; grads: number[][] } {
  const rng = new nd.Rng(seed);
  const theta = Array.from({ length: n }, () => rng.normal());
  const grads = Array.from({ length: steps }, () => Array.from({ length: n }, () => rng.normal() * (rng.uniform() < 0.2 ? 0 : 1)));
  return { theta, grads };
}

function close(a: number[], b: number[], tol = 1e-12): void {
  a.forEach((x, i) => assert.ok(Math.abs(x - b[i]!) <= tol * (1 + Math.abs(b[i]!)), `element ${i}: ${x} vs ${b[i]}`));
}

test('SGD matches the torch.optim.SGD rule (momentum, dampening, Nesterov, weight decay, maximize)', () => {
  fc.assert(
    fc.property(problemArb, hyperArb, ({ n, steps, seed }, h) => {
      const { theta, grads } = draw(n, steps, seed);
      const got = run((ps) => new SGD(ps, h), theta, grads);
      close(got, refSGD(theta, grads, h));
      return true;
    }),
    { numRuns: 200 },
  );
});

test('Adam matches the torch.optim.Adam rule (L2 weight decay, amsgrad, maximize)', () => {
  fc.assert(
    fc.property(problemArb, hyperArb, ({ n, steps, seed }, h) => {
      const { theta, grads } = draw(n, steps, seed);
      const got = run((ps) => new Adam(ps, h), theta, grads);
      close(got, refAdam(theta, grads, h, false), 1e-10);
      return true;
    }),
    { numRuns: 200 },
  );
});

test('AdamW matches the torch.optim.AdamW rule (decoupled weight decay)', () => {
  fc.assert(
    fc.property(problemArb, hyperArb, ({ n, steps, seed }, h) => {
      const { theta, grads } = draw(n, steps, seed);
      const got = run((ps) => new AdamW(ps, h), theta, grads);
      close(got, refAdam(theta, grads, h, true), 1e-10);
      return true;
    }),
    { numRuns: 200 },
  );
});

test('defaults are PyTorch\'s', () => {
  const p = new Tensor(nd.zeros([1]), true);
  assert.equal(new Adam([p]).defaults, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false });
  assert.is(new AdamW([p]).defaults.weightDecay, 1e-2);
  assert.equal(new SGD([p]).defaults, { lr: 1e-3, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, maximize: false });
  // the first Adam step moves every coordinate by about lr, whatever the gradient's scale
  const q = new Tensor(nd.NDArray.fromTyped(new Float64Array([1, 1]), [2], 'float64'), true);
  q.grad = new Tensor(nd.NDArray.fromTyped(new Float64Array([1e-3, 1e3]), [2], 'float64'));
  new Adam([q]).step();
  close(values(q), [1 - 1e-3, 1 - 1e-3], 1e-5);
});

test('float32 parameters track the float64 reference closely', () => {
  const { theta, grads } = draw(50, 5, 11);
  const h = { lr: 1e-2, momentum: 0.9, dampening: 0, nesterov: true, weightDecay: 0.01, betas: [0.9, 0.999] as [number, number], eps: 1e-8, amsgrad: false, maximize: false };
  const p = new Tensor(nd.NDArray.fromTyped(Float32Array.from(theta), [50]), true);
  const opt = new AdamW([p], h);
  for (const g of grads) {
    p.grad = new Tensor(nd.NDArray.fromTyped(Float32Array.from(g), [50]));
    opt.step();
  }
  close(values(p), refAdam(theta, grads, h, true), 1e-5);
});

test('parameter groups carry their own lr and weight decay; params without grad are skipped', () => {
  const a = new Tensor(nd.NDArray.fromTyped(new Float64Array([1]), [1], 'float64'), true);
  const b = new Tensor(nd.NDArray.fromTyped(new Float64Array([1]), [1], 'float64'), true);
  const c = new Tensor(nd.NDArray.fromTyped(new Float64Array([1]), [1], 'float64'), true);
  const opt = new SGD([{ params: [a], lr: 0.5 }, { params: [b, c], weightDecay: 1 }], { lr: 0.1 });
  assert.is(opt.paramGroups[0]!.lr, 0.5);
  assert.is(opt.paramGroups[1]!.lr, 0.1);
  a.grad = new Tensor(nd.NDArray.fromTyped(new Float64Array([1]), [1], 'float64'));
  b.grad = new Tensor(nd.NDArray.fromTyped(new Float64Array([1]), [1], 'float64'));
  opt.step();
  close(values(a), [0.5]);
  close(values(b), [1 - 0.1 * 2]);
  close(values(c), [1]);
  assert.throws(() => new SGD([{ params: [a] }, { params: [a] }]), /appears twice/);
  assert.throws(() => new Adam([]), /Adam: got an empty parameter list/);
  assert.throws(() => new SGD([a], { nesterov: true }), /Nesterov momentum requires a momentum/);
  assert.throws(() => new Adam([a], { betas: [1, 0.9] }), /invalid beta1/);
});

test('optimizer stateDict / loadStateDict resumes training exactly', () => {
  const { theta, grads } = draw(4, 6, 5);
  const h = { lr: 0.05, amsgrad: true };
  const straight = run((ps) => new Adam(ps, h), theta, grads);
  // run 3 steps, save, rebuild everything, load, run the rest
  const p = new Tensor(nd.NDArray.fromTyped(Float64Array.from(theta), [4], 'float64'), true);
  const opt = new Adam([p], h);
  const stepWith = (o: Adam, q: Tensor, g: number[]) => {
    q.grad = new Tensor(nd.NDArray.fromTyped(Float64Array.from(g), [4], 'float64'));
    o.step();
    o.zeroGrad();
  };
  grads.slice(0, 3).forEach((g) => stepWith(opt, p, g));
  const sd = opt.stateDict();
  const p2 = new Tensor(nd.copy(p.data), true);
  const opt2 = new Adam([p2], { lr: 123 });
  opt2.loadStateDict(sd);
  assert.is(opt2.paramGroups[0]!.lr, 0.05);
  grads.slice(3).forEach((g) => stepWith(opt2, p2, g));
  close(values(p2), straight);
});

test('clipGradNorm returns the total norm and scales to maxNorm (property)', () => {
  fc.assert(
    fc.property(fc.integer(), fc.double({ min: 0.01, max: 10, noNaN: true }), fc.constantFrom(2, 1, Infinity), (seed, maxNorm, normType) => {
      const ps = [new Tensor(nd.zeros([3]), true), new Tensor(nd.zeros([2, 2]), true), new Tensor(nd.zeros([1]), true)];
      ps[0]!.grad = new Tensor(nd.randn([3], { seed }));
      ps[1]!.grad = new Tensor(nd.randn([2, 2], { seed: seed + 1 }));
      const all = [...values(ps[0]!.grad), ...values(ps[1]!.grad)];
      const norm = (xs: number[]) => (normType === Infinity ? Math.max(...xs.map(Math.abs)) : xs.reduce((s, x) => s + Math.abs(x) ** normType, 0) ** (1 / normType));
      const total = norm(all);
      const got = clipGradNorm(ps, maxNorm, { normType });
      assert.ok(Math.abs(got - total) < 1e-5 * (1 + total));
      const after = norm([...values(ps[0]!.grad!), ...values(ps[1]!.grad!)]);
      assert.ok(after <= Math.max(maxNorm, 0) * (1 + 1e-5) || Math.abs(after - total) < 1e-6 * (1 + total));
      if (total <= maxNorm) assert.ok(Math.abs(after - total) < 1e-6 * (1 + total));
      assert.is(ps[2]!.grad, null);
      return true;
    }),
    { numRuns: 100 },
  );
  const p = new Tensor(nd.zeros([2]), true);
  p.grad = new Tensor(nd.NDArray.fromTyped(new Float32Array([NaN, 1]), [2]));
  assert.throws(() => clipGradNorm([p], 1, { errorIfNonfinite: true }), /total norm of order 2 of the gradients is NaN/);
});

test('clipGradNorm does not scale twice when two parameters share one gradient array', () => {
  const a = new Tensor(nd.zeros([2]), true);
  const b = new Tensor(nd.zeros([2]), true);
  const g = nd.NDArray.fromTyped(new Float32Array([3, 4]), [2]);
  a.grad = new Tensor(g);
  b.grad = new Tensor(g);
  clipGradNorm([a, b], 1);
  const expected = 1 / (Math.sqrt(50) + 1e-6);
  close(values(a.grad!), [3 * expected, 4 * expected], 1e-6);
  close(values(b.grad!), [3 * expected, 4 * expected], 1e-6);
  clipGradValue([a], 0.1);
  close(values(a.grad!), [0.1, 0.1], 1e-7);
});

test('schedules: warm-up, linear decay, cosine; LRScheduler sets group lrs like LambdaLR', () => {
  close([linearWarmup(4)(0), linearWarmup(4)(2), linearWarmup(4)(10)], [0, 0.5, 1]);
  const lin = warmupLinearDecay({ warmupSteps: 10, totalSteps: 110 });
  close([lin(5), lin(10), lin(60), lin(110), lin(500)], [0.5, 1, 0.5, 0, 0]);
  const cos = warmupCosine({ warmupSteps: 10, totalSteps: 110, minFactor: 0.1 });
  close([cos(0), cos(10), cos(60), cos(110)], [0, 1, 0.55, 0.1]);
  const p = new Tensor(nd.zeros([1]), true);
  const q = new Tensor(nd.zeros([1]), true);
  const opt = new SGD([{ params: [p], lr: 1 }, { params: [q], lr: 0.1 }]);
  const sched = new LRScheduler(opt, linearWarmup(2));
  close(sched.getLastLr(), [0, 0]);
  sched.step();
  close(sched.getLastLr(), [0.5, 0.05]);
  sched.step();
  sched.step();
  close(sched.getLastLr(), [1, 0.1]);
});

/** float32 [rows, cols] parameter and `steps` gradients, each a transposed view of a [cols, rows] array (as Linear's weight gradient arrives). */
function transposedCase(rows: number, cols: number, steps: number, seed: number): { w0: Float32Array; grads: nd.NDArray[] } {
  const rng = new nd.Rng(seed);
  const w0 = Float32Array.from({ length: rows * cols }, () => rng.normal());
  const grads = Array.from({ length: steps }, () => nd.NDArray.fromTyped(Float32Array.from({ length: rows * cols }, () => rng.normal()), [cols, rows]).transpose(0, 1));
  return { w0, grads };
}

/** Runs `make`'s optimizer over the gradients on `backend`; returns the parameter's values and the optimizer state. */
function runOn(backend: string, make: (ps: Tensor[]) => Optimizer<{ lr: number }>, rows: number, cols: number, c: { w0: Float32Array; grads: nd.NDArray[] }): Float32Array[] {
  return nd.withBackend(backend, () => {
    const p = new Tensor(nd.NDArray.fromTyped(c.w0.slice(), [rows, cols]), true);
    const opt = make([p]);
    for (const g of c.grads) {
      p.grad = new Tensor(g);
      opt.step();
    }
    const s = opt.state.get(p)!;
    return [p.data.data as Float32Array, ...Object.values(s.buffers).map((b) => b as Float32Array)];
  });
}

test('float32 Adam / AdamW on the fast backend (wasm kernel) is bitwise the plain loop (reference backend), transposed gradients', () => {
  fc.assert(
    fc.property(
      fc.record({ rows: fc.integer({ min: 1, max: 40 }), cols: fc.integer({ min: 1, max: 300 }), seed: fc.integer({ min: 0, max: 1e6 }), decoupled: fc.boolean(), amsgrad: fc.boolean(), maximize: fc.boolean() }),
      ({ rows, cols, seed, decoupled, amsgrad, maximize }) => {
        const c = transposedCase(rows, cols, 3, seed);
        const h = { lr: 1e-2, weightDecay: 0.05, amsgrad, maximize };
        const make = (ps: Tensor[]) => (decoupled ? new AdamW(ps, h) : new Adam(ps, h));
        const fast = runOn('fast', make, rows, cols, c);
        const ref = runOn('reference', make, rows, cols, c);
        assert.is(fast.length, amsgrad ? 4 : 3);
        fast.forEach((a, i) => assert.equal([...a], [...ref[i]!], `array ${i}`));
      },
    ),
    { numRuns: 40, seed: 20_261_203 },
  );
});

test('SGD with transposed gradients (copied into a buffer reused across steps) matches dense gradients', () => {
  const c = transposedCase(7, 13, 4, 5);
  const dense = { w0: c.w0, grads: c.grads.map((g) => g.contiguous()) };
  const make = (ps: Tensor[]) => new SGD(ps, { lr: 0.1, momentum: 0.9 });
  assert.equal([...runOn('fast', make, 7, 13, c)[0]!], [...runOn('fast', make, 7, 13, dense)[0]!]);
});

test.run();
