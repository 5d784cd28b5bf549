import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MNIST_COUNTS } from '../src/data/index.ts';
import { loadMnist } from '../src/node.ts';

function counts(labels: Int32Array): number[] {
  const c = new Array<number>(10).fill(0);
  for (const l of labels) c[l]!++;
  return c;
}

test('default split: shapes, dtypes, value range, stratified label counts', () => {
  const { train, test: te } = loadMnist();
  assert.equal([...train.images.shape], [8000, 784]);
  assert.equal([...te.images.shape], [2000, 784]);
  assert.is(train.images.dtype, 'float32');
  assert.is(train.labels.dtype, 'int32');
  assert.equal([...train.labels.shape], [8000]);
  let min = Infinity;
  let max = -Infinity;
  for (const v of train.images.data) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  assert.is(min, 0);
  assert.ok(max <= 1 && max > 0.99);
  const testCounts = counts(te.labels.data as Int32Array);
  assert.equal(testCounts, MNIST_COUNTS.map((c) => Math.round(0.2 * c)));
  assert.equal(counts(train.labels.data as Int32Array), MNIST_COUNTS.map((c, d) => c - testCounts[d]!));
  // shuffled, not sorted by digit
  assert.not.equal(Array.from(train.labels.data.subarray(0, 20)), new Array(20).fill(0));
});

test('deterministic per seed, different across seeds; train and test never overlap', () => {
  const a = loadMnist({ seed: 7 });
  const b = loadMnist({ seed: 7 });
  const c = loadMnist({ seed: 8 });
  assert.equal(Array.from(a.train.ids), Array.from(b.train.ids));
  assert.equal(Array.from(a.test.labels.data), Array.from(b.test.labels.data));
  assert.equal(Array.from(a.test.images.data.subarray(0, 784 * 3)), Array.from(b.test.images.data.subarray(0, 784 * 3)));
  assert.not.equal(Array.from(a.test.ids).sort(), Array.from(c.test.ids).sort());
  const trainIds = new Set(a.train.ids);
  assert.is(trainIds.size, 8000);
  for (const id of a.test.ids) assert.not.ok(trainIds.has(id), `id ${id} is in both sets`);
  // all 10,000 used exactly once
  assert.is(new Set([...a.train.ids, ...a.test.ids]).size, 10000);
});

test('the digits filter: only those labels, a subset of the full split', () => {
  const full = loadMnist({ seed: 1 });
  const low = loadMnist({ seed: 1, digits: [0, 1, 2, 3, 4] });
  const high = loadMnist({ seed: 1, digits: [9, 8, 7, 6, 5] });
  for (const s of [low.train, low.test]) for (const l of s.labels.data) assert.ok(l <= 4);
  for (const s of [high.train, high.test]) for (const l of s.labels.data) assert.ok(l >= 5);
  assert.is(low.train.labels.shape[0]! + high.train.labels.shape[0]!, 8000);
  assert.is(low.test.labels.shape[0]! + high.test.labels.shape[0]!, 2000);
  const fullTrain = new Set(full.train.ids);
  const fullTest = new Set(full.test.ids);
  for (const id of low.train.ids) assert.ok(fullTrain.has(id));
  for (const id of high.test.ids) assert.ok(fullTest.has(id));
  // same id, same pixels and label
  const where = full.test.ids.indexOf(high.test.ids[0]!);
  assert.is(full.test.labels.data[where], high.test.labels.data[0]);
  assert.equal(Array.from(full.test.images.data.subarray(where * 784, where * 784 + 784)), Array.from(high.test.images.data.subarray(0, 784)));
});

test('explicit sizes: proportional per digit, smaller train stays out of the default test set', () => {
  const small = loadMnist({ seed: 2, trainSize: 1000, testSize: 500, digits: [3, 7] });
  assert.is(small.train.labels.shape[0], 1000);
  assert.is(small.test.labels.shape[0], 500);
  const c = counts(small.train.labels.data as Int32Array);
  assert.equal([c[3], c[7]], [Math.round((1000 * 1032) / 2102), 1000 - Math.round((1000 * 1032) / 2102)]);
  const defaultTest = new Set(loadMnist({ seed: 2 }).test.ids);
  for (const id of small.train.ids) assert.not.ok(defaultTest.has(id));
  assert.throws(() => loadMnist({ trainSize: 9000, testSize: 2000 }), /exceed/);
  assert.throws(() => loadMnist({ digits: [10] }), /digits/);
  assert.throws(() => loadMnist({ testSize: 1.5 }), /testSize/);
});

test.run();
