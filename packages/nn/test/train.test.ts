/**
 * fit: the loop runs the given number of steps and learns, logs JSON lines, stops on
 * a non-finite loss or gradient naming the step and parameter, and is reproducible
 * from its seed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tensor } from '@tsgrad/autograd';
import * as nd from '@tsgrad/tensor';
import { fit, Linear, LRScheduler, mseLoss, NonFiniteError, SGD, linearWarmup, MLP, crossEntropy, Adam } from '../src/index.ts';

/** y = 3 x0 - 2 x1 + 1 with batches drawn from a seeded generator. */
function regressionBatches(n: number, seed: number): [Tensor, Tensor][] {
  const rng = new nd.Rng(seed);
  return Array.from({ length: n }, () => {
    const x = nd.zeros([8, 2]);
    const y = nd.zeros([8, 1]);
    for (let i = 0; i < 8; i++) {
      const a = rng.normal();
      const b = rng.normal();
      x.data[2 * i] = a;
      x.data[2 * i + 1] = b;
      y.data[i] = 3 * a - 2 * b + 1;
    }
    return [new Tensor(x), new Tensor(y)];
  });
}

test('fit trains, logs JSON lines with step/loss/lr/throughput, and applies the scheduler', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsgrad-fit-'));
  try {
    const model = new Linear(2, 1, { seed: 0 });
    const optimizer = new SGD(model.parameters(), { lr: 0.1 });
    const file = join(dir, 'sub', 'metrics.jsonl');
    const res = fit({
      model,
      optimizer,
      data: regressionBatches(20, 1),
      epochs: 3,
      loss: ([x, y]) => mseLoss(model.call(x), y),
      scheduler: new LRScheduler(optimizer, linearWarmup(5)),
      logEvery: 10,
      metricsFile: file,
      label: 'test-fit',
      evaluate: { every: 30, fn: () => ({ w0: model.weight.data.data[0]! }) },
    });
    assert.is(res.steps, 60);
    assert.is(res.losses.length, 60);
    assert.ok(res.losses[59]! < 1e-3 * res.losses[0]!, `loss ${res.losses[0]} -> ${res.losses[59]}`);
    assert.ok(Math.abs(model.weight.data.data[0]! - 3) < 1e-2);
    const rows = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
    const train = rows.filter((r) => !r.eval);
    assert.equal(train.map((r) => r.step), [10, 20, 30, 40, 50, 60]);
    assert.ok(train.every((r) => typeof r.loss === 'number' && r.samples_per_s! > 0 && r.lr === 0.1));
    assert.equal(res.evaluations.map((e) => e.step), [30, 60]);
    assert.is(rows.filter((r) => r.eval).length, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fit stops at maxSteps and restores the training flag', () => {
  const model = new Linear(2, 1, { seed: 0 });
  model.eval();
  const res = fit({ model, optimizer: new SGD(model.parameters()), data: () => regressionBatches(5, 2), epochs: 10, maxSteps: 7, logEvery: 0, loss: ([x, y]) => mseLoss(model.call(x), y) });
  assert.is(res.steps, 7);
  assert.is(model.training, false);
});

test('fit stops on a non-finite loss, naming the step', () => {
  const model = new Linear(2, 1, { seed: 0 });
  const batches = regressionBatches(6, 3);
  batches[4]![0].data.data[0] = Infinity;
  try {
    fit({ model, optimizer: new SGD(model.parameters(), { lr: 0.01 }), data: batches, logEvery: 0, loss: ([x, y]) => mseLoss(model.call(x), y) });
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.instance(e, NonFiniteError);
    assert.match((e as Error).message, /loss is (NaN|Infinity) at step 4/);
  }
});

test('fit stops on a non-finite gradient, naming the step and the first bad parameter', () => {
  const model = new MLP([2, 3, 1], { seed: 0 });
  const batches = regressionBatches(4, 4);
  // sqrt'(0) is infinite: the loss stays finite (sqrt(0) = 0) but the gradient does not
  const loss = ([x, y]: [Tensor, Tensor], step: number) => {
    const out = mseLoss(model.call(x), y);
    return step === 2 ? out.add(model.layers.get(1).bias!.mul(0).sqrt().sum()) : out;
  };
  assert.throws(
    () => fit({ model, optimizer: new SGD(model.parameters(), { lr: 0.01 }), data: batches, logEvery: 0, loss }),
    (e: Error) => /non-finite gradient at step 2 \(epoch 0\) in parameter 'layers\.1\.bias'/.test(e.message),
  );
});

test('fit with the same seeds gives the same losses', () => {
  const run = () => {
    const model = new MLP([2, 8, 3], { seed: 5, dropout: 0.2 });
    const rng = new nd.Rng(9);
    const data = Array.from({ length: 10 }, () => {
      const x = new Tensor(nd.randn([4, 2], { seed: rng.nextUint32() }));
      const y = new Tensor(nd.randint(0, 3, [4], { seed: rng.nextUint32() }));
      return [x, y] as const;
    });
    return fit({ model, optimizer: new Adam(model.parameters()), data, logEvery: 0, seed: 1, loss: ([x, y]) => crossEntropy(model.call(x), y) }).losses;
  };
  assert.equal(run(), run());
});

test.run();
