/**
 * What nn refuses instead of training on a wrong number (issue 10): out-of-range
 * embedding ids, element-wise losses whose shapes only match by broadcasting, NaN or
 * negative learning-rate factors and schedule options, bad `fit` options; and what
 * `fit` names when it stops on a non-finite value.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Tensor, tensor } from '@tsgrad/autograd';
import * as nd from '@tsgrad/tensor';
import {
  Embedding,
  fit,
  findNonFiniteParameter,
  Linear,
  linearWarmup,
  LRScheduler,
  mseLoss,
  NonFiniteError,
  SGD,
  warmupCosine,
  warmupLinearDecay,
} from '../src/index.ts';

function throwsMatching(fn: () => unknown, re: RegExp): void {
  try {
    fn();
  } catch (e) {
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`expected an error matching ${re}`);
}

test('Embedding refuses ids outside [0, vocab), naming the id and the vocabulary size', () => {
  const emb = new Embedding(5, 3, { seed: 0 });
  const ids = (v: number[]) => tensor(v, { dtype: 'int32' });
  throwsMatching(() => emb.call(ids([0, -1])), /^Embedding: id -1 at position 1 is out of range for a vocabulary of 5/);
  throwsMatching(() => emb.call(ids([5])), /^Embedding: id 5 at position 0 is out of range for a vocabulary of 5/);
  assert.equal(emb.call(ids([4, 0])).shape, [2, 3]);
});

test('Embedding: any id in range gives its row, any other id throws (property)', () => {
  const emb = new Embedding(4, 2, { seed: 1 });
  fc.assert(
    fc.property(fc.array(fc.integer({ min: -5, max: 8 }), { minLength: 1, maxLength: 6 }), (vs) => {
      const call = () => emb.call(tensor(vs, { dtype: 'int32' }));
      const bad = vs.findIndex((v) => v < 0 || v >= 4);
      if (bad >= 0) throwsMatching(call, new RegExp(`^Embedding: id ${vs[bad]} at position ${bad} is out of range for a vocabulary of 4`));
      else assert.equal(call().toArray(), vs.map((v) => emb.weight.data.toArray()[v as never]));
    }),
    { numRuns: 100, seed: 10 },
  );
});

test('mseLoss refuses shapes that only match by broadcasting, naming both', () => {
  const a = tensor([1, 2, 3]);
  throwsMatching(() => mseLoss(a, tensor([[1], [2], [3]])), /^mseLoss: input of shape \[3\] and target of shape \[3, 1\] differ/);
  throwsMatching(() => mseLoss(tensor([[1, 2, 3]]), a), /^mseLoss: input of shape \[1, 3\] and target of shape \[3\]/);
  throwsMatching(() => mseLoss(a, tensor(1)), /^mseLoss: input of shape \[3\] and target of shape \[\]/);
  assert.is(mseLoss(a, tensor([1, 2, 4])).item(), Math.fround(1 / 3));
});

test('LRScheduler refuses a NaN, infinite or negative factor and leaves the learning rate as it was', () => {
  const model = new Linear(2, 1, { seed: 0 });
  const opt = new SGD(model.parameters(), { lr: 0.1 });
  throwsMatching(() => new LRScheduler(opt, () => NaN), /^LRScheduler: the schedule gave factor NaN at step 0/);
  assert.is(opt.paramGroups[0]!.lr, 0.1);
  const sched = new LRScheduler(opt, (s) => (s < 2 ? 1 : s === 2 ? -1 : Infinity));
  sched.step();
  throwsMatching(() => sched.step(), /^LRScheduler: the schedule gave factor -1 at step 2/);
  assert.is(sched.lastStep, 1, 'the step did not advance');
  assert.is(opt.paramGroups[0]!.lr, 0.1);
  const nanLr = new SGD(model.parameters(), { lr: 0.1 });
  nanLr.paramGroups[0]!.lr = NaN;
  throwsMatching(() => new LRScheduler(nanLr, () => 1), /^LRScheduler: the learning rate of group 0 must be a finite number >= 0, got NaN/);
});

test('schedule constructors refuse NaN, infinite and negative options, naming the option', () => {
  throwsMatching(() => linearWarmup(NaN), /^linearWarmup: warmupSteps must be a finite number >= 0, got NaN/);
  throwsMatching(() => warmupCosine({ totalSteps: NaN }), /^warmupCosine: totalSteps must be/);
  throwsMatching(() => warmupCosine({ totalSteps: 10, minFactor: NaN }), /^warmupCosine: minFactor must be .* got NaN/);
  throwsMatching(() => warmupLinearDecay({ totalSteps: 10, warmupSteps: -1 }), /^warmupLinearDecay: warmupSteps must be .* got -1/);
  throwsMatching(() => warmupLinearDecay({ totalSteps: Infinity }), /^warmupLinearDecay: totalSteps/);
  assert.is(warmupCosine({ totalSteps: 10 })(0), 1);
});

test('fit refuses NaN and negative numeric options, naming the option', () => {
  const model = new Linear(2, 1, { seed: 0 });
  const base = { model, optimizer: new SGD(model.parameters()), data: [] as [Tensor, Tensor][], logEvery: 0, loss: ([x, y]: [Tensor, Tensor]) => mseLoss(model.call(x), y) };
  throwsMatching(() => fit({ ...base, epochs: NaN }), /^fit: epochs must be an integer >= 0, got NaN/);
  throwsMatching(() => fit({ ...base, maxSteps: -1 }), /^fit: maxSteps must be an integer >= 0, got -1/);
  throwsMatching(() => fit({ ...base, clipGradNorm: NaN }), /^fit: clipGradNorm must be a finite number > 0, got NaN/);
  throwsMatching(() => fit({ ...base, evaluate: { every: 0, fn: () => ({}) } }), /^fit: evaluate.every must be an integer > 0, got 0/);
});

function batches(n: number): [Tensor, Tensor][] {
  return Array.from({ length: n }, (_, i) => [new Tensor(nd.randn([4, 2], { seed: i })), new Tensor(nd.randn([4, 1], { seed: 100 + i }))]);
}

test("fit's NaN stop names the first parameter whose value is non-finite", () => {
  const model = new Linear(2, 1, { seed: 0 });
  // an infinite learning rate makes the weights non-finite after the first step
  const optimizer = new SGD(model.parameters(), { lr: Infinity });
  try {
    fit({ model, optimizer, data: batches(3), logEvery: 0, loss: ([x, y]) => mseLoss(model.call(x), y) });
    assert.unreachable('fit should stop');
  } catch (e) {
    assert.instance(e, NonFiniteError);
    assert.match((e as Error).message, /^fit: loss is NaN at step 1 \(epoch 0\); stopping; first non-finite parameter: 'weight' \(its value: 2 of 2 values\)/);
  }
  assert.equal(findNonFiniteParameter(model), { name: 'weight', kind: 'value', count: 2, size: 2 });
});

test("fit's NaN stop says when the gradient, not the value, is non-finite", () => {
  const model = new Linear(2, 1, { seed: 0 });
  const loss = ([x, y]: [Tensor, Tensor], step: number) => {
    const out = mseLoss(model.call(x), y);
    return step === 1 ? out.add(model.bias!.mul(0).sqrt().sum()) : out;
  };
  throwsMatching(
    () => fit({ model, optimizer: new SGD(model.parameters(), { lr: 0.01 }), data: batches(3), logEvery: 0, loss }),
    /^fit: non-finite gradient at step 1 \(epoch 0\) in parameter 'bias' \(1 of 1 values\)/,
  );
  // a loss that is NaN by itself: every parameter is finite, and the message says so
  const m2 = new Linear(2, 1, { seed: 0 });
  throwsMatching(
    () => fit({ model: m2, optimizer: new SGD(m2.parameters()), data: batches(1), logEvery: 0, loss: ([x]) => m2.call(x).sum().mul(NaN) }),
    /^fit: loss is NaN at step 0 .*every parameter and gradient is finite/,
  );
});

test.run();
