/** EVA reads nn's one batch format: DataLoader pairs, NDArray inputs; and names what it expected otherwise. */
import { DataLoader, TensorDataset } from '@tsgrad/nn';
import * as nd from '@tsgrad/tensor';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { computeEva } from '../src/index.ts';
import { tinyMlp } from './helpers.ts';

const lora = { targetModules: ['layers.0', 'layers.1'], r: 2 };

test('EVA takes a DataLoader of [x, y] pairs and NDArray inputs, and matches the { input: Tensor } result', () => {
  const x = nd.randn([64, 10], { seed: 3 });
  const y = nd.zeros([64], 'int32');
  const loader = new DataLoader(new TensorDataset(x, y), { batchSize: 16 });
  const fromPairs = computeEva(tinyMlp(1), loader, { loraConfig: lora, maxBatches: 200 });
  const objects = [0, 1, 2, 3].map((i) => ({ input: x.slice(0, 16 * i, 16 * i + 16).contiguous() }));
  const fromObjects = computeEva(tinyMlp(1), objects, { loraConfig: lora, maxBatches: 200 });
  assert.equal([...fromPairs.ranks], [...fromObjects.ranks]);
  for (const [name, a] of Object.entries(fromPairs.stateDict)) assert.equal(a.toArray(), fromObjects.stateDict[name]!.toArray());
});

test('EVA refuses a wrong batch shape by name, and says when a generator ran out', () => {
  const x = nd.randn([16, 10], { seed: 4 });
  assert.throws(() => computeEva(tinyMlp(1), [x] as unknown as Iterable<{ input: unknown }>, { loraConfig: lora }), /EVA: expected .*got an NDArray/);
  function* once() {
    yield { input: x };
  }
  assert.throws(() => computeEva(tinyMlp(1), once(), { loraConfig: lora, maxBatches: 50 }), /EVA: the data ran out after 1 batches.*generator/);
  const used = once();
  [...used];
  assert.throws(() => computeEva(tinyMlp(1), used, { loraConfig: lora }), /generator that is empty or was already used up/);
});

test.run();
