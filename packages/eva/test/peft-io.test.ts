import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noGrad } from '@tsgrad/autograd';
import { loadSafetensors, normal } from '@tsgrad/nn';
import {
  applyLora,
  fromPeftConfig,
  getLoraConfig,
  initializeLoraEvaWeights,
  loadAdapter,
  loraLayers,
  resolveLoraConfig,
  saveAdapter,
  toPeftConfig,
} from '../src/index.node.ts';
import { GPT_TARGETS, maxAbsDiff, tinyGpt, tinyMlp, tokenBatch, randomInput } from './helpers.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'tsgrad-eva-'));

test('saveAdapter writes PEFT key names and config fields; loadAdapter round-trips the outputs', () => {
  const dir = tmp();
  try {
    const gpt = tinyGpt(0);
    applyLora(gpt, { targetModules: GPT_TARGETS, r: 3, alpha: 6, rankPattern: { lm_head: 2 }, alphaPattern: { fc2: 1 }, seed: 2 });
    for (const l of loraLayers(gpt).values()) normal(l.lora_B.weight, 0, 0.1, { rng: l.generator });
    const ids = tokenBatch(3);
    const out = noGrad(() => gpt.call(ids));
    saveAdapter(gpt, dir, { baseModelNameOrPath: 'tiny-gpt' });

    const { tensors, metadata } = loadSafetensors(join(dir, 'adapter_model.safetensors'));
    assert.equal(metadata, { format: 'pt' });
    assert.equal([...tensors['base_model.model.blocks.0.attn.q_proj.lora_A.weight']!.shape], [3, 16]);
    assert.equal([...tensors['base_model.model.blocks.0.attn.q_proj.lora_B.weight']!.shape], [16, 3]);
    assert.equal([...tensors['base_model.model.lm_head.lora_A.weight']!.shape], [2, 16]);
    assert.is(Object.keys(tensors).length, 26);
    assert.ok(Object.keys(tensors).every((k) => /^base_model\.model\..+\.lora_[AB]\.weight$/.test(k)));

    const cfg = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
    assert.is(cfg.peft_type, 'LORA');
    assert.is(cfg.r, 3);
    assert.is(cfg.lora_alpha, 6);
    assert.equal(cfg.target_modules, GPT_TARGETS);
    assert.equal(cfg.rank_pattern, { lm_head: 2 });
    assert.equal(cfg.alpha_pattern, { fc2: 1 });
    assert.is(cfg.init_lora_weights, true);
    assert.is(cfg.eva_config, null);
    assert.is(cfg.use_rslora, false);
    assert.is(cfg.base_model_name_or_path, 'tiny-gpt');
    assert.equal(Object.keys(cfg), [...Object.keys(cfg)].sort(), 'keys are sorted as PEFT writes them');

    const fresh = tinyGpt(0);
    loadAdapter(fresh, dir);
    assert.ok(maxAbsDiff(noGrad(() => fresh.call(ids)), out) < 1e-6);
    assert.is(loraLayers(fresh).get('blocks.1.mlp.fc2')!.alpha, 1);
    assert.throws(() => loadAdapter(tinyMlp(0), dir), /match no Linear/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('EVA adapters export heterogeneous ranks through rank_pattern/alpha_pattern and eva_config', () => {
  const dir = tmp();
  try {
    const gpt = tinyGpt(1);
    applyLora(gpt, { targetModules: GPT_TARGETS, r: 2, alpha: 2, init: 'eva', evaConfig: { tau: 0.95, rho: 2 } });
    const loader = Array.from({ length: 6 }, (_, i) => ({ input: tokenBatch(300 + i, 8, 8) }));
    const res = initializeLoraEvaWeights(gpt, { dataLoader: loader });
    for (const l of loraLayers(gpt).values()) normal(l.lora_B.weight, 0, 0.1, { rng: l.generator });
    const ids = tokenBatch(5);
    const out = noGrad(() => gpt.call(ids));
    saveAdapter(gpt, dir);
    const cfg = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
    assert.is(cfg.init_lora_weights, 'eva');
    assert.equal(cfg.eva_config, { adjust_scaling_factors: true, label_mask_value: -100, rho: 2, tau: 0.95, use_label_mask: true, whiten: false });
    for (const [name, rank] of res.ranks) {
      if (rank !== 2 && rank !== 0) assert.is(cfg.rank_pattern[name], rank);
      if (rank !== 2 && rank !== 0) assert.is(cfg.alpha_pattern[name], rank, 'alpha = 2 * rank / 2');
      assert.is(cfg.target_modules.includes(name), rank > 0);
    }
    const fresh = tinyGpt(1);
    loadAdapter(fresh, dir);
    assert.ok(maxAbsDiff(noGrad(() => fresh.call(ids)), out) < 1e-6);
    assert.equal(getLoraConfig(fresh).rankPattern, cfg.rank_pattern);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('PiSSA adapters reload onto the original base model (the residual is recomputed, as in PEFT)', () => {
  const dir = tmp();
  try {
    const gpt = tinyGpt(2);
    applyLora(gpt, { targetModules: ['fc1', 'fc2'], r: 2, alpha: 4, init: 'pissa' });
    for (const l of loraLayers(gpt).values()) normal(l.lora_A.weight, 0, 0.3, { rng: l.generator });
    const ids = tokenBatch(6);
    const out = noGrad(() => gpt.call(ids));
    saveAdapter(gpt, dir);
    const fresh = tinyGpt(2);
    loadAdapter(fresh, dir);
    assert.ok(maxAbsDiff(noGrad(() => fresh.call(ids)), out) < 1e-5);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('modulesToSave parameters are saved without the wrapper infix and reloaded', () => {
  const dir = tmp();
  try {
    const mlp = tinyMlp(3);
    applyLora(mlp, { targetModules: ['layers.0', 'layers.1'], r: 2, modulesToSave: ['layers.2'] });
    normal(mlp.getParameter('layers.2.weight'), 0, 1, { seed: 9 });
    const x = randomInput(1, [4, 10]);
    const out = noGrad(() => mlp.call(x));
    saveAdapter(mlp, dir);
    const { tensors } = loadSafetensors(join(dir, 'adapter_model.safetensors'));
    assert.ok('base_model.model.layers.2.weight' in tensors && 'base_model.model.layers.2.bias' in tensors);
    const fresh = tinyMlp(3);
    loadAdapter(fresh, dir);
    assert.ok(maxAbsDiff(noGrad(() => fresh.call(x)), out) < 1e-6);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('PEFT config mapping: init names, validation of unsupported features', () => {
  const c = resolveLoraConfig({ targetModules: 'blocks\\.\\d+\\.mlp\\.fc1', init: 'olora', useRslora: true });
  const j = toPeftConfig(c);
  assert.is(j['init_lora_weights'], 'olora');
  assert.is(j['target_modules'], 'blocks\\.\\d+\\.mlp\\.fc1');
  assert.equal(fromPeftConfig(j), c);
  assert.throws(() => fromPeftConfig({ ...j, use_dora: true }), /use_dora=true is not supported/);
  assert.throws(() => fromPeftConfig({ ...j, peft_type: 'IA3' }), /peft_type must be "LORA"/);
  assert.throws(() => resolveLoraConfig({ targetModules: ['a'], init: 'eva', evaConfig: { rho: 0.5 } }), /rho must be >= 1/);
  assert.throws(() => resolveLoraConfig({ targetModules: ['a'], init: 'eva', evaConfig: { tau: 2 } }), /tau must be in \[0, 1\]/);
});

test.run();
