/**
 * One batch format (issue 11 item 2): nn's `Batch`, the run-time checks `toBatch` /
 * `asBatches` / `checkedBatches` with errors that name the consumer and what was
 * expected, loaders that produce it, `fit` over it, and NDArrays accepted at a module's
 * boundary (item 3). Compile-time rejections are checked with `@ts-expect-error`
 * (a wrong shape that compiled would fail `pnpm typecheck` as an unused directive).
 */
import * as fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Tensor, tensor } from '@tsgrad/autograd';
import { NDArray } from '@tsgrad/tensor';
import * as nd from '@tsgrad/tensor';
import {
  asBatches,
  type Batch,
  type BatchLike,
  checkedBatches,
  crossEntropy,
  DataLoader,
  fit,
  InputTargetDataset,
  type LabelledBatchLike,
  Linear,
  SGD,
  TensorDataset,
  toBatch,
  toBatches,
} from '../src/index.ts';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const features = (n: number) => NDArray.fromTyped(Float32Array.from(range(n * 3)), [n, 3]);
const labels = (n: number) => NDArray.fromTyped(Int32Array.from(range(n), (i) => i % 2), [n]);

test('toBatch takes { input, target } objects and [input, target] pairs', () => {
  const x = features(4);
  const y = labels(4);
  assert.equal(toBatch({ input: x, target: y }, 't'), { input: x, target: y });
  assert.equal(toBatch([x, y], 't'), { input: x, target: y });
  assert.equal(toBatch([x], 't'), { input: x });
  const t = new Tensor(x);
  assert.is(toBatch({ input: t }, 't').input, t, 'tensors pass through');
});

test('toBatch names the consumer and what it expected', () => {
  const x = features(2);
  assert.throws(() => toBatch(x, 'interpolate'), /^interpolate: expected batches \{ input, target \} \(or \[input, target\] pairs\), got an NDArray of shape \[2, 3\]$/);
  assert.throws(() => toBatch([x, x, x], 'evaluate'), /evaluate: expected batches .*got an array of length 3/);
  assert.throws(() => toBatch({ images: x, labels: x }, 'evaluate'), /got an object with keys images, labels/);
  assert.throws(() => toBatch({ input: x, target: [1, 2] }, 'evaluate'), /evaluate: the batch's target must be an NDArray or a Tensor, got an array of length 2/);
  assert.throws(() => toBatch({ input: x }, 'steMatching', { target: true }), /steMatching: the batch has an input but no target; steMatching needs \{ input, target \}/);
  assert.throws(() => toBatch(undefined, 'fit'), /fit: expected batches .*got undefined/);
});

test('asBatches: arrays, DataLoaders of pairs and of { input, target }, generators read once', () => {
  const x = features(10);
  const y = labels(10);
  const pairs = asBatches(new DataLoader(new TensorDataset(x, y), { batchSize: 4 }), 'c');
  const objects = asBatches(new DataLoader(new InputTargetDataset(x, y), { batchSize: 4 }), 'c');
  assert.is(pairs.length, 3);
  assert.equal(pairs.map((b) => [b.input.shape, b.target!.shape]), objects.map((b) => [b.input.shape, b.target!.shape]));
  assert.equal(pairs.map((b) => (b.target as NDArray).toArray()), objects.map((b) => (b.target as NDArray).toArray()));
  function* gen() {
    yield [x, y] as const;
  }
  const g = gen();
  assert.is(asBatches(g, 'c').length, 1);
  assert.throws(() => asBatches(g, 'eva'), /eva: the data yielded no batches: it is a generator .* already used up; pass an array, a DataLoader, or a function that returns a fresh generator/);
  assert.throws(() => asBatches([], 'evaluate'), /evaluate: the data yielded no batches \(it is empty\)/);
});

test('asBatches explains a source that is not iterable, such as loadMnist()\'s result', () => {
  const split = { images: features(2), labels: labels(2), ids: new Int32Array(2) };
  assert.throws(() => asBatches({ train: split, test: split }, 'interpolate'), /interpolate: expected an iterable of batches .*got an object with keys train, test; loadMnist\(\) returns .*toBatches\(split\.train\.images, split\.train\.labels, 256\)/);
  assert.throws(() => asBatches(features(2), 'evaluate'), /evaluate: expected an iterable of batches .*got an NDArray of shape \[2, 3\]/);
  assert.throws(() => asBatches([features(2)], 'evaluate'), /evaluate: expected batches .*got an NDArray of shape \[2, 3\] \(batch 0\)/);
});

test('InputTargetDataset + DataLoader yields every row once per epoch as { input, target } (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 8 }), fc.boolean(), fc.nat(1000), (n, bs, shuffle, seed) => {
      const loader = new DataLoader(new InputTargetDataset(features(n), labels(n)), { batchSize: bs, shuffle, seed });
      const seen: number[] = [];
      for (const { input, target } of loader) {
        assert.is(input.shape[0], target.shape[0]);
        const rows = input.toArray<number[][]>();
        rows.forEach((r, i) => {
          const id = r[0]! / 3;
          assert.is((target.toArray<number[]>())[i], id % 2, 'input and target rows stay together');
          seen.push(id);
        });
      }
      assert.equal([...seen].sort((a, b) => a - b), range(n));
      return true;
    }),
    { numRuns: 40, seed: 11 },
  );
});

test('toBatches splits into consecutive { input, target } batches that concatenate back (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 12 }), (n, bs) => {
      const batches = toBatches(features(n), labels(n), bs);
      assert.is(batches.length, Math.ceil(n / bs));
      assert.equal(batches.flatMap((b) => b.input.toArray<number[][]>()), features(n).toArray());
      assert.equal(batches.flatMap((b) => b.target.toArray<number[]>()), labels(n).toArray());
      return true;
    }),
    { numRuns: 40, seed: 12 },
  );
  assert.throws(() => toBatches(features(3), labels(4), 2), /toBatches: inputs \[3, 3\] and targets \[4\] disagree/);
  assert.throws(() => toBatches(features(3), labels(3), 0), /batchSize must be a positive integer, got 0/);
});

test('checkedBatches passes batches through lazily and closes the source on an early stop', () => {
  let closed = false;
  function* gen() {
    try {
      yield 1;
      yield 2;
    } finally {
      closed = true;
    }
  }
  for (const b of checkedBatches(gen(), 'fit')) {
    assert.is(b, 1);
    break;
  }
  assert.ok(closed);
  assert.throws(() => [...checkedBatches(5 as unknown as Iterable<number>, 'fit')], /fit: expected an iterable of batches .*got a number/);
});

test('modules take NDArrays at their boundary (lifted to constant tensors)', () => {
  const lin = new Linear(3, 2, { seed: 0 });
  const x = features(4);
  const seen: unknown[] = [];
  lin.registerForwardPreHook((_m, [a]) => void seen.push(a));
  const fromArray = lin.call(x);
  const fromTensor = lin.call(new Tensor(x));
  assert.equal(fromArray.toArray(), fromTensor.toArray());
  assert.instance(seen[0], Tensor, 'hooks see a Tensor');
  assert.not.ok((seen[0] as Tensor).requiresGrad, 'a constant');
  fromArray.sum().backward();
  assert.ok(lin.weight.grad !== null, 'gradients still reach the parameters');
});

test('fit trains on { input, target } batches from a DataLoader, and reports a used-up generator', () => {
  const n = 64;
  const rng = new nd.Rng(3);
  const x = NDArray.fromTyped(Float32Array.from({ length: n * 2 }, () => rng.normal()), [n, 2]);
  const y = NDArray.fromTyped(Int32Array.from({ length: n }, (_, i) => (x.data[2 * i]! + x.data[2 * i + 1]! > 0 ? 1 : 0)), [n]);
  const model = new Linear(2, 2, { seed: 1 });
  const loader = new DataLoader(new InputTargetDataset(x, y), { batchSize: 16, shuffle: true, seed: 2 });
  const res = fit({ model, optimizer: new SGD(model.parameters(), { lr: 0.5 }), data: loader, epochs: 5, logEvery: 0, loss: (b) => crossEntropy(model.call(b.input), b.target) });
  assert.is(res.steps, 20);
  assert.ok(res.losses.at(-1)! < res.losses[0]!, `loss ${res.losses[0]} -> ${res.losses.at(-1)}`);
  function* once() {
    yield* toBatches(x, y, 16);
  }
  assert.throws(
    () => fit({ model, optimizer: new SGD(model.parameters(), { lr: 0.1 }), data: once(), epochs: 2, logEvery: 0, loss: (b) => crossEntropy(model.call(b.input), b.target) }),
    /fit: the data yielded no batches: it is a generator/,
  );
  assert.throws(
    () => fit({ model, optimizer: new SGD(model.parameters(), { lr: 0.1 }), data: { train: x } as unknown as Batch[], logEvery: 0, loss: () => tensor(0) }),
    /fit: expected an iterable of batches .*got an object with keys train; loadMnist\(\) returns/,
  );
});

test('the types accept every batch format and reject what is not a batch', () => {
  const x = features(2);
  const ok: BatchLike[] = [{ input: x }, { input: new Tensor(x), target: x }, [x, x]];
  const labelled: LabelledBatchLike[] = [{ input: x, target: x }, [x, x]];
  // @ts-expect-error an NDArray is not a batch
  const lone: BatchLike = x;
  // @ts-expect-error a labelled batch needs a target
  const unlabelled: LabelledBatchLike = { input: x };
  // @ts-expect-error loadMnist()'s split is not a batch
  const split: BatchLike = { images: x, labels: x };
  const lin = new Linear(3, 2);
  const pairs = new DataLoader(new TensorDataset(x, x));
  // @ts-expect-error the loss reads { input, target } but the loader yields [x, y] pairs
  fit({ model: lin, optimizer: new SGD(lin.parameters(), { lr: 0.1 }), data: pairs, loss: (b: Batch) => lin.call(b.input).sum(), epochs: 0 });
  // @ts-expect-error a plain JS array is neither a Tensor nor an NDArray
  assert.throws(() => lin.call([[1, 2, 3]]));
  assert.ok(ok.length + labelled.length > 0 && [lone, unlabelled, split].length === 3);
});

test.run();
