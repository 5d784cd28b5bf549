/**
 * Issue 10 §2 and §5 for LoRA/EVA: numeric fields are checked where they enter (the error
 * names the field), lenient inputs are refused, and EVA names the layer it complains about.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Tensor } from '@tsgrad/autograd';
import { Linear, zeros } from '@tsgrad/nn';
import * as nd from '@tsgrad/tensor';
import { computeEva, fromPeftConfig, LoraLinear, resolveEvaConfig, resolveLoraConfig, toPeftConfig, type LoraConfig } from '../src/index.ts';
import { tinyMlp } from './helpers.ts';

const GOOD = toPeftConfig(resolveLoraConfig({ targetModules: ['fc1'], r: 4, alpha: 8, init: 'eva', rankPattern: { fc1: 2 }, alphaPattern: { fc1: 4 } }));
const notFinite = fc.oneof(
  fc.string(),
  fc.constantFrom(null, true, false, {}, [], [1], NaN, Infinity, -Infinity),
  fc.dictionary(fc.string(), fc.integer()),
);

test('fromPeftConfig: a non-numeric or non-finite lora_alpha / pattern value is refused naming the field (property)', () => {
  fc.assert(
    fc.property(notFinite.filter((v) => v !== null), (v) => {
      assert.throws(() => fromPeftConfig({ ...GOOD, lora_alpha: v }), /adapter_config\.json: lora_alpha must be a finite number/);
      assert.throws(() => fromPeftConfig({ ...GOOD, alpha_pattern: { fc1: v } }), /adapter_config\.json: alpha_pattern\['fc1'\] must be a finite number/);
      assert.throws(() => fromPeftConfig({ ...GOOD, rank_pattern: { fc1: v } }), /adapter_config\.json: rank_pattern\['fc1'\] must be a non-negative integer/);
      assert.throws(() => fromPeftConfig({ ...GOOD, r: v }), /adapter_config\.json: r must be a positive integer/);
      assert.throws(() => fromPeftConfig({ ...GOOD, eva_config: { rho: v } }), /adapter_config\.json: eva_config\.rho must be a finite number/);
    }),
    { numRuns: 60, seed: 1 },
  );
  fc.assert(
    fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (alpha) => {
      assert.is(fromPeftConfig({ ...GOOD, lora_alpha: alpha }).alpha, alpha);
    }),
    { numRuns: 30, seed: 2 },
  );
});

test('fromPeftConfig: r must be a positive integer, flags booleans, lists lists', () => {
  for (const r of [0, -1, 2.5, '8']) assert.throws(() => fromPeftConfig({ ...GOOD, r }), /r must be a positive integer, got /);
  assert.throws(() => fromPeftConfig({ ...GOOD, use_rslora: 'false' }), /use_rslora must be true or false, got "false"/);
  assert.throws(() => fromPeftConfig({ ...GOOD, eva_config: { whiten: 1 } }), /eva_config\.whiten must be true or false/);
  assert.throws(() => fromPeftConfig({ ...GOOD, modules_to_save: 'lm_head' }), /modules_to_save must be a list of module names, got the string "lm_head"; write \["lm_head"\]/);
  assert.throws(() => fromPeftConfig({ ...GOOD, modules_to_save: [1] }), /modules_to_save must be a list of module names, got \[1\]/);
  assert.equal(fromPeftConfig({ ...GOOD, modules_to_save: ['lm_head'] }).modulesToSave, ['lm_head']);
  assert.throws(() => fromPeftConfig({ ...GOOD, layers_to_transform: 1 }), /layers_to_transform=1 is not supported/);
  assert.throws(() => fromPeftConfig({ ...GOOD, layers_to_transform: [0, 1], layers_pattern: 'blocks' }), /layers_to_transform=\[0,1\] is not supported/);
  // PEFT's "not used" spellings are accepted
  for (const v of [null, []]) assert.equal(fromPeftConfig({ ...GOOD, layers_to_transform: v, layers_pattern: v }), fromPeftConfig(GOOD));
  assert.throws(() => fromPeftConfig({ ...GOOD, init_lora_weights: 'loftq' }), /init_lora_weights "loftq" is not supported \(supported: true, "gaussian"/);
  assert.throws(() => fromPeftConfig({ ...GOOD, init_lora_weights: 3 }), /init_lora_weights 3 is not supported/);
});

test('resolveLoraConfig / resolveEvaConfig: the same checks for configs written in TypeScript', () => {
  const base: LoraConfig = { targetModules: ['fc1'] };
  const bad: [Partial<Record<keyof LoraConfig, unknown>>, RegExp][] = [
    [{ alpha: 'abc' }, /applyLora: alpha must be a finite number, got "abc"/],
    [{ alpha: {} }, /applyLora: alpha must be a finite number, got \{\}/],
    [{ alpha: NaN }, /applyLora: alpha must be a finite number, got NaN/],
    [{ alphaPattern: { fc1: 'x' } }, /applyLora: alphaPattern\['fc1'\] must be a finite number, got "x"/],
    [{ rankPattern: { fc1: 1.5 } }, /applyLora: rankPattern\['fc1'\] must be a non-negative integer, got 1\.5/],
    [{ r: 0 }, /applyLora: r must be a positive integer, got 0/],
    [{ r: 2.5 }, /applyLora: r must be a positive integer, got 2\.5/],
    [{ dropout: 1 }, /applyLora: dropout must be in \[0, 1\), got 1/],
    [{ dropout: '0.1' }, /applyLora: dropout must be a finite number/],
    [{ useRslora: 'yes' }, /applyLora: useRslora must be true or false/],
    [{ targetModules: [1] }, /applyLora: targetModules must be a list of name suffixes or one regex string/],
    [{ init: 'loftq' }, /applyLora: init "loftq" is not a registered LoRA init \(registered: default, gaussian, pissa, olora, eva/],
  ];
  for (const [patch, message] of bad) assert.throws(() => resolveLoraConfig({ ...base, ...patch } as LoraConfig), message, JSON.stringify(patch));
  assert.throws(() => resolveLoraConfig({ ...base, layersToTransform: [0] } as LoraConfig), /applyLora: layersToTransform is not supported/);
  assert.throws(() => resolveEvaConfig({ rho: Infinity }), /EvaConfig: rho must be a finite number, got Infinity/);
  assert.throws(() => resolveEvaConfig({ tau: '0.9' as unknown as number }), /EvaConfig: tau must be a finite number, got "0\.9"/);
  assert.throws(() => resolveEvaConfig({ labelMaskValue: NaN }), /EvaConfig: labelMaskValue must be a finite number/);
  assert.is(resolveEvaConfig({ rho: undefined }).rho, 2, 'an explicit undefined takes the default');
  assert.throws(() => new LoraLinear(new Linear(4, 3), { r: 2, alpha: 'abc' as unknown as number }), /LoraLinear: alpha must be a finite number, got abc/);
  const layer = new LoraLinear(new Linear(4, 3), { r: 2, alpha: 2 });
  assert.throws(() => layer.resize(3, NaN), /LoraLinear: alpha must be a finite number, got NaN/);
  assert.is(layer.r, 2, 'a refused resize changes nothing');
});

const loader = (seed: number, n = 8, poison = false) =>
  Array.from({ length: n }, (_, i) => {
    const x = nd.randn([16, 10], { seed: seed * 100 + i });
    if (poison && i === 2) x.data[5] = NaN;
    return { input: new Tensor(x) };
  });

test("EVA: NaN in a layer's input is an error naming the layer; maxBatches must be a positive integer", () => {
  const mlp = tinyMlp(0);
  const opts = { loraConfig: { targetModules: ['layers.0', 'layers.1'], r: 2 }, evaConfig: { tau: 1 } };
  assert.throws(() => computeEva(mlp, loader(0, 8, true), opts), /EVA: layer 'layers\.0': IncrementalPCA\.partialFit: the batch of shape \[16, 10\] contains NaN or Infinity/);
  assert.throws(() => computeEva(mlp, loader(0), { ...opts, maxBatches: NaN }), /maxBatches must be a positive integer, got NaN/);
});

test('EVA: a layer whose input has zero variance is ranked last (here rank 0) with one warning naming it', () => {
  const mlp = tinyMlp(4);
  // layers.1 reads relu(0 x + 0.5) = a constant: zero variance.
  zeros(mlp.getParameter('layers.0.weight'));
  mlp.getParameter('layers.0.bias').data.data.fill(0.5);
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (msg: string) => void warnings.push(msg);
  try {
    const res = computeEva(mlp, loader(1, 6), { loraConfig: { targetModules: ['layers.0', 'layers.1'], r: 2 }, evaConfig: { tau: 0.9 }, maxBatches: 200 });
    assert.equal(res.zeroVarianceLayers, ['layers.1']);
    assert.is(res.ranks.get('layers.1'), 0);
    assert.is(res.ranks.get('layers.0'), 4, 'the budget went to the layer with variance');
    assert.is(res.stateDict['layers.1']!.shape[0], 0);
    assert.is(warnings.length, 1);
    assert.match(warnings[0]!, /EVA: the inputs of layers\.1 had zero variance over every batch seen/);
  } finally {
    console.warn = warn;
  }
});

test.run();
