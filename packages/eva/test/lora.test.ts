import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { noGrad, Tensor } from '@tsgrad/autograd';
import { crossEntropy, Linear, normal } from '@tsgrad/nn';
import * as nd from '@tsgrad/tensor';
import {
  applyLora,
  getLoraConfig,
  initLoraLayer,
  LoraLinear,
  loraLayers,
  loraParameters,
  mergeAdapters,
  registerLoraInit,
  trainableParameters,
  unmergeAdapters,
  withAdaptersDisabled,
} from '../src/index.ts';
import { GPT_TARGETS, maxAbs, maxAbsDiff, randomInput, tinyGpt, tinyMlp, tokenBatch } from './helpers.ts';

test('LoraLinear: y = W x + b + s B A x, equal to the base while B = 0', () => {
  const base = new Linear(6, 4, { seed: 1 });
  const x = randomInput(2, [3, 5, 6]);
  const y0 = base.call(x);
  const lora = new LoraLinear(base, { r: 3, alpha: 6, rng: new nd.Rng(0) });
  assert.is(lora.scaling, 2);
  assert.is(maxAbsDiff(lora.call(x), y0), 0);
  normal(lora.lora_B.weight, 0, 1, { seed: 3 });
  const expected = nd.add(
    y0.data,
    nd.mul(nd.matmul(nd.matmul(x.data, lora.lora_A.weight.data.transpose(0, 1)), lora.lora_B.weight.data.transpose(0, 1)), 2),
  );
  assert.ok(maxAbsDiff(lora.call(x), expected) < 1e-5);
  const rs = new LoraLinear(new Linear(6, 4, { seed: 1 }), { r: 4, alpha: 6, useRslora: true });
  assert.is(rs.scaling, 3);
});

test('LoraLinear: dropout acts on the adapter path in training only', () => {
  const lora = new LoraLinear(new Linear(6, 4, { seed: 1 }), { r: 2, alpha: 2, dropout: 0.5, rng: new nd.Rng(3) });
  normal(lora.lora_B.weight, 0, 1, { seed: 4 });
  const x = randomInput(6, [5, 6]);
  lora.eval();
  const y0 = lora.call(x);
  assert.is(maxAbsDiff(lora.call(x), y0), 0);
  lora.train();
  const y1 = lora.call(x);
  assert.ok(maxAbsDiff(y1, y0) > 1e-4, 'dropout did nothing in training mode');
  // the base path is untouched: with B = 0 training-mode output equals the base layer
  normal(lora.lora_B.weight, 0, 0, { seed: 4 });
  assert.is(maxAbsDiff(lora.call(x), lora.base_layer.call(x)), 0);
});

test('LoraLinear: merge() folds s B A into W and unmerge() restores it', () => {
  const base = new Linear(8, 5, { seed: 4 });
  const w0 = nd.copy(base.weight.data);
  const lora = new LoraLinear(base, { r: 2, alpha: 3, rng: new nd.Rng(1) });
  normal(lora.lora_B.weight, 0, 0.5, { seed: 2 });
  const x = randomInput(5, [7, 8]);
  const before = lora.call(x);
  lora.merge();
  assert.ok(lora.merged);
  assert.ok(maxAbsDiff(base.weight.data, w0) > 1e-3, 'merge changed nothing');
  assert.ok(maxAbsDiff(lora.call(x), before) < 1e-5);
  lora.unmerge();
  assert.ok(maxAbsDiff(base.weight.data, w0) < 1e-6);
  assert.ok(maxAbsDiff(lora.call(x), before) < 1e-6);
  // disabling a merged layer unmerges it first, as PEFT does
  lora.merge();
  lora.disabled = true;
  assert.ok(maxAbsDiff(lora.call(x), base.call(x)) < 1e-6);
  assert.not.ok(lora.merged);
});

test('applyLora: wraps matching Linears, freezes the rest, only A and B train', () => {
  const gpt = tinyGpt(0);
  const { layers, config } = applyLora(gpt, { targetModules: GPT_TARGETS, r: 4, alpha: 8, rankPattern: { fc1: 2 }, alphaPattern: { 'blocks.1.attn.q_proj': 1 } });
  assert.is(layers.length, 2 * 6 + 1);
  assert.ok(layers.includes('blocks.0.attn.q_proj') && layers.includes('lm_head'));
  const l = loraLayers(gpt);
  assert.is(l.get('blocks.0.mlp.fc1')!.r, 2);
  assert.is(l.get('blocks.0.mlp.fc2')!.r, 4);
  assert.is(l.get('blocks.1.attn.q_proj')!.alpha, 1);
  assert.is(l.get('blocks.0.attn.q_proj')!.alpha, 8);
  const trainable = trainableParameters(gpt);
  assert.is(trainable.length, 2 * layers.length);
  assert.equal(new Set(trainable), new Set(loraParameters(gpt)));
  assert.is(getLoraConfig(gpt), config);
  const names = [...gpt.namedParameters()].map(([n]) => n);
  assert.ok(names.includes('blocks.0.attn.q_proj.lora_A.weight'));
  assert.ok(names.includes('blocks.0.attn.q_proj.base_layer.weight'));
  // gradients reach A and B only
  normal(l.get('lm_head')!.lora_B.weight, 0, 0.1, { seed: 1 });
  const ids = tokenBatch(1);
  const loss = crossEntropy(gpt.call(ids), tokenBatch(2).data);
  loss.backward();
  for (const [n, p] of gpt.namedParameters()) {
    if (n.includes('lora_')) assert.ok(p.grad !== null, `${n} has no gradient`);
    else assert.is(p.grad, null, `${n} got a gradient`);
  }
  assert.throws(() => applyLora(gpt, { targetModules: ['fc1'] }), /already has LoRA layers/);
  assert.throws(() => applyLora(tinyGpt(1), { targetModules: ['nope'] }), /match no Linear.*lm_head/);
});

test('applyLora: a regex targetModules and modulesToSave (a head that trains fully)', () => {
  const mlp = tinyMlp(0);
  const { layers } = applyLora(mlp, { targetModules: 'layers\\.[01]', r: 2, modulesToSave: ['layers.2'] });
  assert.equal(layers, ['layers.0', 'layers.1']);
  const trainable = trainableParameters(mlp);
  assert.is(trainable.length, 4 + 2);
  assert.ok(mlp.getParameter('layers.2.weight').requiresGrad);
});

const inits = ['default', 'gaussian', 'pissa', 'olora', 'eva'] as const;

test('every init leaves the model output unchanged at init (B = 0, or the residual W for PiSSA/OLoRA)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1000 }), fc.constantFrom(...inits), fc.integer({ min: 1, max: 4 }), fc.boolean(), (seed, init, r, rs) => {
      const gpt = tinyGpt(seed);
      const ids = tokenBatch(seed + 1);
      const before = noGrad(() => gpt.call(ids));
      applyLora(gpt, { targetModules: GPT_TARGETS, r, alpha: 2 * r + 1, init, useRslora: rs, seed });
      const after = noGrad(() => gpt.call(ids));
      assert.ok(maxAbsDiff(before, after) < 2e-5 * Math.max(1, maxAbs(before)), `${init}: output moved by ${maxAbsDiff(before, after)}`);
    }),
    { numRuns: 20 },
  );
});

test('init details: default bound 1/sqrt(in), gaussian std 1/r, PiSSA A A^T = diag(S_r / s), OLoRA B orthonormal', () => {
  const mk = (init: string) => {
    const lin = new Linear(64, 24, { seed: 9 });
    const w0 = nd.copy(lin.weight.data);
    const l = new LoraLinear(lin, { r: 4, alpha: 2, rng: new nd.Rng(1) });
    initLoraLayer(l, init);
    return { l, w0 };
  };
  const d = mk('default').l;
  assert.ok(maxAbs(d.lora_A.weight) <= 1 / 8 + 1e-7 && maxAbs(d.lora_A.weight) > 0.1);
  assert.is(maxAbs(d.lora_B.weight), 0);
  const g = mk('gaussian').l.lora_A.weight.data.toFloat64Array();
  const std = Math.sqrt(g.reduce((s, v) => s + v * v, 0) / g.length);
  assert.ok(Math.abs(std - 0.25) < 0.03, `gaussian std ${std}`);
  const { l: p, w0 } = mk('pissa');
  const s = nd.svd(w0).S.toFloat64Array();
  const a64 = nd.cast(p.lora_A.weight.data, 'float64');
  const aat = nd.matmul(a64, a64.transpose(0, 1)).toFloat64Array();
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 4; j++) {
      const want = i === j ? s[i]! / p.scaling : 0;
      assert.ok(Math.abs(aat[i * 4 + j]! - want) < 1e-5, `pissa AA^T[${i},${j}]`);
    }
  }
  // the residual's top singular values are the original's tail
  const sres = nd.svd(p.base_layer.weight.data).S.toFloat64Array();
  assert.ok(Math.abs(sres[0]! - s[4]!) < 1e-5);
  const o = mk('olora').l;
  const b = nd.cast(o.lora_B.weight.data, 'float64');
  const btb = nd.matmul(b.transpose(0, 1), b).toFloat64Array();
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) assert.ok(Math.abs(btb[i * 4 + j]! - (i === j ? 1 : 0)) < 1e-6);
  assert.throws(() => initLoraLayer(new LoraLinear(new Linear(3, 2), { r: 3, alpha: 1 }), 'pissa'), /rank 3 exceeds min\(out, in\) = 2/);
  assert.throws(() => initLoraLayer(d, 'nope'), /unknown; registered: default, gaussian, pissa, olora, eva/);
});

test('a new init is one function (registerLoraInit)', () => {
  registerLoraInit('test-ones', (l) => {
    l.lora_A.weight.data.data.fill(1);
    l.lora_B.weight.data.data.fill(0);
  });
  const mlp = tinyMlp(1);
  applyLora(mlp, { targetModules: ['layers.0'], r: 2, init: 'test-ones' });
  const l = loraLayers(mlp).get('layers.0')!;
  assert.is(l.initMethod, 'test-ones');
  assert.is(maxAbs(l.lora_A.weight), 1);
});

test('mergeAdapters / unmergeAdapters / withAdaptersDisabled on a whole model', () => {
  const gpt = tinyGpt(3);
  const ids = tokenBatch(4);
  const base = noGrad(() => gpt.call(ids));
  applyLora(gpt, { targetModules: GPT_TARGETS, r: 2, seed: 1 });
  for (const l of loraLayers(gpt).values()) normal(l.lora_B.weight, 0, 0.05, { rng: l.generator });
  const adapted = noGrad(() => gpt.call(ids));
  assert.ok(maxAbsDiff(adapted, base) > 1e-4);
  assert.ok(maxAbsDiff(noGrad(() => withAdaptersDisabled(gpt, () => gpt.call(ids))), base) < 1e-6);
  mergeAdapters(gpt);
  assert.ok(maxAbsDiff(noGrad(() => gpt.call(ids)), adapted) < 1e-4);
  unmergeAdapters(gpt);
  assert.ok(maxAbsDiff(noGrad(() => gpt.call(ids)), adapted) < 1e-5);
  void Tensor;
});

test.run();
