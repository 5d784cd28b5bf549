import * as fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NDArray } from '@tsgrad/tensor';
import { DataLoader, defaultCollate, type Dataset, TensorDataset, takeRows } from '../src/data/index.ts';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

function makeDataset(n: number) {
  const x = NDArray.fromTyped(Float32Array.from(range(n * 3)), [n, 3]);
  const y = NDArray.fromTyped(Int32Array.from(range(n)), [n]);
  return new TensorDataset(x, y);
}

test('TensorDataset: rows, 0-d labels, mismatched lengths rejected', () => {
  const ds = makeDataset(5);
  assert.is(ds.length, 5);
  const [x, y] = ds.get(2);
  assert.equal(x!.toArray(), [6, 7, 8]);
  assert.equal([...y!.shape], []);
  assert.is(y!.item(), 2);
  assert.throws(() => ds.get(5), /out of range/);
  assert.throws(() => new TensorDataset(NDArray.zeros([3, 2]), NDArray.zeros([4])), /first dimensions differ/);
  assert.equal(takeRows(NDArray.fromTyped(Int32Array.from(range(6)), [3, 2]), [2, 0]).toArray(), [[4, 5], [0, 1]]);
});

test('DataLoader without shuffle: order, batch sizes, dropLast, length', () => {
  const ds = makeDataset(10);
  const loader = new DataLoader(ds, { batchSize: 4 });
  assert.is(loader.length, 3);
  const batches = [...loader];
  assert.equal(batches.map(([x]) => x!.shape[0]), [4, 4, 2]);
  assert.equal(batches.flatMap(([, y]) => Array.from(y!.toTyped())), range(10));
  assert.equal(batches[0]![0]!.shape, [4, 3]);
  const dropped = new DataLoader(ds, { batchSize: 4, dropLast: true });
  assert.is(dropped.length, 2);
  assert.equal([...dropped].map(([x]) => x!.shape[0]), [4, 4]);
});

test('DataLoader shuffle: each epoch a permutation, new per epoch, same for the same seed (fast-check)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 16 }), fc.integer(), (n, bs, seed) => {
      const ds = makeDataset(n);
      const a = new DataLoader(ds, { batchSize: bs, shuffle: true, seed });
      const b = new DataLoader(ds, { batchSize: bs, shuffle: true, seed });
      const epoch = (l: DataLoader<NDArray[]>) => [...l].flatMap(([, y]) => Array.from(y!.toTyped()));
      const a0 = epoch(a);
      const a1 = epoch(a);
      assert.equal([...a0].sort((p, q) => p - q), range(n));
      assert.equal([...a1].sort((p, q) => p - q), range(n));
      assert.equal(epoch(b), a0);
      assert.equal(epoch(b), a1);
      assert.equal(Array.from(a.order(1)), a1);
      assert.is(a.epoch, 2);
    }),
    { numRuns: 100 },
  );
  const ds = makeDataset(50);
  const l = new DataLoader(ds, { batchSize: 50, shuffle: true, seed: 3 });
  const e0 = Array.from(l.order(0));
  assert.not.equal(e0, range(50));
  assert.not.equal(Array.from(l.order(1)), e0);
  assert.not.equal(Array.from(new DataLoader(ds, { shuffle: true, seed: 4 }).order(0)), e0);
});

test('DataLoader with a custom collate and a plain Dataset', () => {
  const ds: Dataset<{ x: number; y: boolean; v: NDArray }> = {
    length: 3,
    get: (i) => ({ x: i * 0.5, y: i % 2 === 0, v: NDArray.fromTyped(Int32Array.from([i, -i]), [2]) }),
  };
  const [batch] = [...new DataLoader(ds, { batchSize: 3 })];
  assert.is(batch!.x.dtype, 'float32');
  assert.equal(batch!.x.toArray(), [0, 0.5, 1]);
  assert.equal(batch!.y.toArray(), [true, false, true]);
  assert.equal(batch!.v.toArray(), [[0, 0], [1, -1], [2, -2]]);
  const sums = [...new DataLoader(ds, { batchSize: 2, collate: (items) => items.reduce((s, it) => s + it.x, 0) })];
  assert.equal(sums, [0.5, 1]);
  assert.throws(() => defaultCollate([NDArray.zeros([2]), NDArray.zeros([3])]), /mixes float32 \[2\] with float32 \[3\]/);
  assert.throws(() => new DataLoader(ds, { batchSize: 0 }), /batchSize/);
});

test.run();
