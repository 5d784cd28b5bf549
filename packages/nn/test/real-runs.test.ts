/**
 * Short real training runs (seeded, well under a minute together on 2 cores):
 * an MLP on the MNIST split reaches >= 90% test accuracy, and a tiny character GPT
 * on Moby Dick drives its held-out loss well below the unigram entropy.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { noGrad, Tensor } from '@tsgrad/autograd';
import * as nd from '@tsgrad/tensor';
import {
  accuracy,
  Adam,
  AdamW,
  CharTokenizer,
  crossEntropy,
  DataLoader,
  fit,
  GPT,
  MLP,
  nextTokenBatches,
  splitTokens,
  TensorDataset,
  TextDataset,
} from '../src/index.ts';
import { loadCorpus, loadMnist } from '../src/node.ts';

test('MLP 784-64-10 on the 8k/2k MNIST split reaches >= 90% test accuracy in 3 epochs', () => {
  const { train, test: held } = loadMnist({ seed: 0 });
  const model = new MLP([784, 64, 10], { activation: 'relu', seed: 0 });
  const loader = new DataLoader(new TensorDataset(train.images, train.labels), { batchSize: 32, shuffle: true, seed: 0 });
  const before = noGrad(() => accuracy(model.call(new Tensor(held.images)), held.labels));
  const res = fit({
    model,
    optimizer: new Adam(model.parameters(), { lr: 3e-3 }),
    data: loader,
    epochs: 3,
    logEvery: 0,
    loss: ([x, y]) => crossEntropy(model.call(new Tensor(x!)), new Tensor(y!)),
  });
  model.eval();
  const acc = noGrad(() => accuracy(model.call(new Tensor(held.images)), held.labels));
  process.stderr.write(`  mnist: test accuracy ${before.toFixed(3)} -> ${acc.toFixed(4)} after ${res.steps} steps in ${res.seconds.toFixed(1)} s\n`);
  assert.ok(before < 0.3);
  assert.ok(acc >= 0.9, `test accuracy ${acc}`);
});

test('a tiny GPT on Moby Dick gets its validation loss well below the unigram entropy', () => {
  const text = loadCorpus('moby-dick');
  const tok = CharTokenizer.fromText(text);
  const ids = tok.encode(text);
  const counts = new Float64Array(tok.vocabSize);
  for (const i of ids) counts[i]!++;
  let unigram = 0;
  for (const c of counts) if (c > 0) unigram -= (c / ids.length) * Math.log(c / ids.length);
  const { train, val } = splitTokens(ids, 0.9);
  const T = 16;
  const model = new GPT({ vocabSize: tok.vocabSize, contextLength: T, dModel: 32, nHeads: 4, nLayers: 1, seed: 0 });
  const batches = nextTokenBatches(train, { contextLength: T, batchSize: 32, seed: 0 });
  const res = fit({
    model,
    optimizer: new AdamW(model.parameters(), { lr: 1e-2, weightDecay: 0 }),
    data: { [Symbol.iterator]: () => batches },
    maxSteps: 120,
    logEvery: 0,
    loss: ([x, y]) => crossEntropy(model.call(new Tensor(x)), new Tensor(y)),
  });
  model.eval();
  const [vx, vy] = new TextDataset(val, T).sample(128, new nd.Rng(1));
  const valLoss = noGrad(() => crossEntropy(model.call(new Tensor(vx)), new Tensor(vy)).item());
  process.stderr.write(
    `  gpt: loss ${res.losses[0]!.toFixed(3)} -> val ${valLoss.toFixed(3)} (unigram entropy ${unigram.toFixed(3)}, uniform ${Math.log(tok.vocabSize).toFixed(3)}) in ${res.seconds.toFixed(1)} s\n`,
  );
  assert.ok(res.losses[0]! > unigram, 'starts above the unigram entropy');
  assert.ok(valLoss < unigram - 0.4, `validation loss ${valLoss} vs unigram entropy ${unigram}`);
});

test.run();
