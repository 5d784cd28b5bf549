/**
 * wm takes nn's one batch format (issue 11 item 2): `{ input, target }` batches,
 * `[input, target]` pairs from nn's DataLoader, Tensors or NDArrays, arrays or
 * generators; anything else is rejected by the types and, at run time, with an error
 * naming the consumer and what it expected.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Tensor } from '@tsgrad/autograd';
import { DataLoader, InputTargetDataset, MLP, TensorDataset, type Batch } from '@tsgrad/nn';
import { NDArray, Rng } from '@tsgrad/tensor';
import { activationMatching, evaluate, interpolate, mlpFeatureSources, mlpPermutationSpec, steMatching, toBatches } from '../src/index.ts';
import { randomInput } from './helpers.ts';

const x = randomInput(32, 6, 1);
const rng = new Rng(2);
const y = NDArray.fromTyped(Int32Array.from({ length: 32 }, () => rng.int(0, 3)), [32], 'int32');

test('evaluate gives the same numbers for every batch format', () => {
  const net = new MLP([6, 8, 3], { seed: 1 });
  const reference = evaluate(net, toBatches(x, y, 8));
  const pairs = new DataLoader(new TensorDataset(x, y), { batchSize: 8 });
  const objects = new DataLoader(new InputTargetDataset(x, y), { batchSize: 8 });
  const tensors = toBatches(x, y, 8).map((b) => ({ input: new Tensor(b.input), target: new Tensor(b.target) }));
  function* gen() {
    yield* toBatches(x, y, 16);
  }
  for (const [name, source] of [['pairs', pairs], ['objects', objects], ['tensors', tensors], ['generator', gen()]] as const) {
    const r = evaluate(net, source);
    assert.ok(Math.abs(r.loss - reference.loss) < 1e-9 && r.acc === reference.acc && r.count === 32, name);
  }
});

test('interpolate reads a generator once and explains loadMnist-like and used-up sources', () => {
  const a = new MLP([6, 8, 3], { seed: 1 });
  const b = new MLP([6, 8, 3], { seed: 2 });
  function* gen() {
    yield* toBatches(x, y, 16);
  }
  const curve = interpolate(a, b, [0, 1], { train: gen(), test: new DataLoader(new TensorDataset(x, y), { batchSize: 8 }) });
  assert.ok(Math.abs(curve.trainLoss[0]! - curve.testLoss[0]!) < 1e-9, 'the same data through two formats');
  const mnistLike = { train: { images: x, labels: y }, test: { images: x, labels: y } };
  assert.throws(
    () => interpolate(a, b, [0], { train: mnistLike as never, test: toBatches(x, y, 8) }),
    /interpolate: opts.train: expected an iterable of batches \{ input, target \}.*got an object with keys train, test; loadMnist\(\) returns .*toBatches/,
  );
  const used = gen();
  [...used];
  assert.throws(() => interpolate(a, b, [0], { train: used, test: toBatches(x, y, 8) }), /interpolate: opts.train: the data yielded no batches: it is a generator/);
  assert.throws(() => evaluate(a, [{ input: x }] as never), /evaluate: the batch has an input but no target/);
});

test('STE and activation matching take nn DataLoaders directly', () => {
  const net = new MLP([6, 8, 3], { seed: 3 });
  const spec = mlpPermutationSpec(net);
  const sdA = net.stateDict({ clone: true });
  const sdB = new MLP([6, 8, 3], { seed: 4 }).stateDict();
  const loader = new DataLoader(new TensorDataset(x, y), { batchSize: 16, shuffle: true, seed: 1 });
  const ste = steMatching(spec, net, sdA, sdB, loader, { epochs: 2, seed: 0 });
  assert.is(ste.steps, 4);
  const am = activationMatching(spec, net, new MLP([6, 8, 3], { seed: 4 }), new DataLoader(new InputTargetDataset(x, y), { batchSize: 16 }), { features: mlpFeatureSources(spec) });
  assert.is(am.rows, 32);
  assert.throws(() => steMatching(spec, net, sdA, sdB, [x] as never), /steMatching: expected batches .*got an NDArray of shape \[32, 6\] \(batch 0\)/);
});

test('the types reject what is not a batch source', () => {
  const net = new MLP([6, 8, 3], { seed: 1 });
  const unlabelled: Batch[] = [{ input: x }];
  // @ts-expect-error a lone NDArray is not an iterable of batches
  assert.throws(() => evaluate(net, x));
  // @ts-expect-error loadMnist()'s result is not an iterable of batches
  assert.throws(() => evaluate(net, { train: { images: x, labels: y } }));
  // @ts-expect-error evaluate needs targets: a Batch without one does not type-check
  assert.throws(() => evaluate(net, unlabelled));
  // @ts-expect-error an iterable of NDArrays is not an iterable of batches
  assert.throws(() => interpolate(net, net, [0], { train: [x], test: [x] }));
});

test.run();
