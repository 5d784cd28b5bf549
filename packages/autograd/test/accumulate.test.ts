/**
 * In-place gradient sums (accumulate.ts): over fast-check-drawn graphs in which storage is
 * shared every way the engine must see through (rules that hand their gradOutput to two
 * inputs, views, a user rule returning its gradOutput or a tensor the user keeps, retained
 * and returned intermediate gradients, a user's gradOutput), every gradient equals the one
 * the functional sums give, bit for bit, and no tensor the user holds changes.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import * as nd from '@tsgrad/tensor';
import { setInPlaceSums, sumStats } from '../src/accumulate.ts';
import { gradients, record, Tensor } from '../src/index.ts';
import { params, shapeArb, sizeOf, valuesArb } from './arbitraries.ts';

const KINDS = ['add', 'addSelf', 'sub', 'mul', 'tanh', 'reshape', 'userIdentity', 'userHeld', 'broadcast', 'transposeBack'] as const;
type Kind = (typeof KINDS)[number];

interface Plan {
  dtype: 'float32' | 'float64';
  shape: number[];
  leaves: number[][];
  steps: { kind: Kind; i: number; j: number; retain: boolean }[];
  weights: number[];
  /** undefined: a scalar loss; otherwise the last tensor is the root and these values its gradOutput */
  gradOutput?: number[];
  /** which tensors `gradients` is asked for (indices into the pool), or null for backward() */
  wanted: number[] | null;
}

const planArb: fc.Arbitrary<Plan> = fc
  .record({ dtype: fc.constantFrom('float32' as const, 'float64' as const), shape: shapeArb({ minDims: 1, maxDims: 3, maxSide: 3 }) })
  .chain(({ dtype, shape }) => {
    const n = sizeOf(shape);
    const step = fc.record({ kind: fc.constantFrom(...KINDS), i: fc.nat(40), j: fc.nat(40), retain: fc.boolean() });
    return fc.record({
      dtype: fc.constant(dtype),
      shape: fc.constant(shape),
      leaves: fc.array(valuesArb(n), { minLength: 1, maxLength: 3 }),
      steps: fc.array(step, { minLength: 1, maxLength: 12 }),
      weights: fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: 16, maxLength: 16 }),
      gradOutput: fc.option(valuesArb(n), { nil: undefined }),
      wanted: fc.option(fc.array(fc.nat(40), { minLength: 1, maxLength: 3 }), { nil: null }),
    });
  });

const bytes = (a: nd.NDArray): number[] => {
  const t = a.toTyped();
  return [...new Uint8Array(t.buffer, t.byteOffset, t.byteLength)];
};

interface Outcome {
  grads: (number[] | null)[];
  /** the user's tensors (gradOutput, a held tensor a user rule returns, .grad read mid-way) before and after */
  held: [number[], nd.NDArray][];
}

/** Builds the planned graph, runs backward, and reads every gradient the user can see. */
function run(plan: Plan, inPlace: boolean): Outcome {
  const previous = setInPlaceSums(inPlace);
  try {
    const { dtype, shape } = plan;
    const make = (v: number[]) => nd.cast(nd.NDArray.fromTyped(Float64Array.from(v), shape), dtype);
    const leaves = plan.leaves.map((v) => new Tensor(make(v), true));
    const pool: Tensor[] = [...leaves];
    const held: [number[], nd.NDArray][] = [];
    const retained: Tensor[] = [];
    for (const s of plan.steps) {
      const a = pool[s.i % pool.length]!;
      const b = pool[s.j % pool.length]!;
      let y: Tensor;
      switch (s.kind) {
        case 'add':
          y = a.add(b);
          break;
        case 'addSelf':
          y = a.add(a);
          break;
        case 'sub':
          y = a.sub(b);
          break;
        case 'mul':
          y = a.mul(b);
          break;
        case 'tanh':
          y = a.tanh();
          break;
        case 'reshape':
          y = a.reshape([-1]).reshape(shape);
          break;
        case 'userIdentity':
          y = record('userIdentity', a.data, [a], (g) => [g]);
          break;
        case 'userHeld': {
          // a straight-through rule whose gradient is a tensor the user keeps
          const keep = new Tensor(make(Array.from({ length: sizeOf(shape) }, (_, k) => plan.weights[k % plan.weights.length]!)));
          held.push([bytes(keep.data), keep.data]);
          y = record('userHeld', a.data, [a], () => [keep]);
          break;
        }
        case 'broadcast':
          y = a.sum(0, true).expand(shape);
          break;
        case 'transposeBack':
          y = a.ndim >= 2 ? a.mT.mul(1).mT : a.mul(1);
          break;
      }
      if (s.retain) {
        y.retainGrad();
        retained.push(y);
      }
      pool.push(y);
    }
    let root: Tensor;
    let gradOutput: Tensor | undefined;
    if (plan.gradOutput) {
      root = pool[pool.length - 1]!;
      gradOutput = new Tensor(make(plan.gradOutput));
      held.push([bytes(gradOutput.data), gradOutput.data]);
    } else {
      root = pool.map((t, k) => t.mul(plan.weights[k % plan.weights.length]!).sum()).reduce((x, y) => x.add(y));
    }
    if (!root.requiresGrad) return { grads: [], held };
    if (plan.wanted) {
      const wanted = plan.wanted.map((k) => pool[k % pool.length]!);
      const gs = gradients(root, wanted, { gradOutput });
      return { grads: gs.map((g) => bytes(g.data)), held };
    }
    root.backward(gradOutput);
    const seen = [...leaves, ...retained].map((t) => (t.grad ? bytes(t.grad.data) : null));
    return { grads: seen, held };
  } finally {
    setInPlaceSums(previous);
  }
}

test('in-place sums give bitwise the functional gradients and never change a tensor the user holds', () => {
  sumStats.inPlace = 0;
  fc.assert(
    fc.property(planArb, (plan) => {
      const functional = run(plan, false);
      const inPlace = run(plan, true);
      assert.equal(inPlace.grads, functional.grads);
      for (const [before, now] of inPlace.held) assert.equal(bytes(now), before, 'a tensor the user holds was written');
    }),
    params(300),
  );
  // the property is about the in-place path: make sure the drawn graphs take it
  assert.ok(sumStats.inPlace > 50, `only ${sumStats.inPlace} in-place sums over the run`);
});

test('a .grad the user holds from an earlier backward is not written by the next one', () => {
  const x = new Tensor(nd.NDArray.fromTyped(Float64Array.from([1, 2, 3]), [3]), true);
  x.tanh().mul(x.exp()).sum().backward();
  const first = x.grad!;
  const before = bytes(first.data);
  // x receives three fresh contributions: the second and third are summed in place
  x.tanh().add(x.exp()).add(x.sin()).sum().backward();
  assert.equal(bytes(first.data), before);
  assert.ok(x.grad !== first);
});

test('a retained intermediate gradient that flows on through a view is not written by later sums', () => {
  const x = new Tensor(nd.NDArray.fromTyped(Float64Array.from([0.5, -1, 2, 0.25]), [2, 2]), true);
  const h = x.exp();
  const y = h.tanh();
  y.retainGrad();
  // y's gradient flows on to h through reshape's view of it; h has two more uses
  const loss = y.reshape([4]).mul(3).sum().add(h.sin().sum()).add(h.mul(h).sum());
  loss.backward();
  const expected = [3, 3, 3, 3];
  assert.equal([...y.grad!.data.toFloat64Array()], expected);
});

test('the in-place path is the functional one in a recorded backward (createGraph)', () => {
  const x = new Tensor(nd.NDArray.fromTyped(Float64Array.from([0.3, -0.7]), [2]), true);
  const loss = x.tanh().add(x.exp()).add(x.sin()).sum();
  sumStats.inPlace = 0;
  const [g] = gradients(loss, [x], { createGraph: true });
  assert.is(sumStats.inPlace, 0);
  // and the gradient is differentiable again: d/dx sum(g) = sum of the second derivatives
  const [gg] = gradients(g!.sum(), [x]);
  const want = [0.3, -0.7].map((v) => -2 * Math.tanh(v) * (1 - Math.tanh(v) ** 2) + Math.exp(v) - Math.sin(v));
  gg!.data.toFloat64Array().forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-12));
});

test.run();
