/**
 * Issue 10 §1: an adapter operation that fails leaves the model exactly as it was (state
 * dict bit for bit, every requiresGrad flag, the very same module objects, no LoRA config),
 * and a correct call afterwards succeeds.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noGrad } from '@tsgrad/autograd';
import { loadSafetensors, normal, saveSafetensors, type AnyModule } from '@tsgrad/nn';
import * as nd from '@tsgrad/tensor';
import { applyLora, getLoraConfig, initializeLoraEvaWeights, loadAdapter, loraLayers, saveAdapter, type LoraConfig } from '../src/index.node.ts';
import { maxAbsDiff, randomInput, tinyMlp } from './helpers.ts';

type Fingerprint = {
  modules: [string, AnyModule][];
  state: [string, number[], number[]][];
  flags: [string, boolean][];
  config: string;
};

function fingerprint(model: AnyModule): Fingerprint {
  let config = 'none';
  try {
    config = JSON.stringify(getLoraConfig(model));
  } catch {
    // a plain model has no LoRA config
  }
  return {
    modules: [...model.namedModules()],
    state: Object.entries(model.stateDict()).map(([k, v]) => [k, [...v.shape], Array.from(v.toFloat64Array())]),
    flags: [...model.namedParameters()].map(([n, p]) => [n, p.requiresGrad]),
    config,
  };
}

function assertSame(before: Fingerprint, after: Fingerprint, what: string): void {
  assert.equal(
    after.modules.map(([n]) => n),
    before.modules.map(([n]) => n),
    `${what}: module names`,
  );
  before.modules.forEach(([n, m], i) => assert.ok(after.modules[i]![1] === m, `${what}: module '${n}' is the same object`));
  assert.equal(after.state, before.state, `${what}: state dict`);
  assert.equal(after.flags, before.flags, `${what}: requiresGrad flags`);
  assert.is(after.config, before.config, `${what}: LoRA config`);
}

const TARGETS = ['layers.0', 'layers.1', 'layers.2'];

/** A saved adapter of tinyMlp(seed): PiSSA on every layer (so a half-done load would change base weights) and a saved head. */
function writeGoodAdapter(dir: string, seed: number, init: 'pissa' | 'default'): void {
  const mlp = tinyMlp(seed);
  applyLora(mlp, { targetModules: TARGETS.slice(0, 2), r: 2, alpha: 4, init, modulesToSave: ['layers.2'] });
  for (const l of loraLayers(mlp).values()) normal(l.lora_B.weight, 0, 0.3, { rng: l.generator });
  saveAdapter(mlp, dir);
}

type Edit = { tensors?: (t: Record<string, nd.NDArray>) => void; config?: (c: Record<string, unknown>) => void };

function editAdapter(good: string, edit: Edit): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsgrad-eva-bad-'));
  cpSync(good, dir, { recursive: true });
  if (edit.tensors) {
    const { tensors } = loadSafetensors(join(dir, 'adapter_model.safetensors'));
    edit.tensors(tensors);
    saveSafetensors(join(dir, 'adapter_model.safetensors'), tensors, { format: 'pt' });
  }
  if (edit.config) {
    const c = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    edit.config(c);
    writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify(c));
  }
  return dir;
}

const P = 'base_model.model.';
const BAD_ADAPTERS: [string, Edit, RegExp][] = [
  ['lora_A of the wrong shape', { tensors: (t) => void (t[`${P}layers.1.lora_A.weight`] = nd.zeros([3, 12])) }, /shape mismatches: base_model\.model\.layers\.1\.lora_A\.weight: file \[3, 12\], model \[2, 12\]/],
  ['a missing lora_B', { tensors: (t) => void delete t[`${P}layers.1.lora_B.weight`] }, /missing keys: base_model\.model\.layers\.1\.lora_B\.weight/],
  ['an extra key', { tensors: (t) => void (t[`${P}layers.1.lora_C.weight`] = nd.zeros([2])) }, /unexpected keys: base_model\.model\.layers\.1\.lora_C\.weight/],
  [
    'keys without the prefix',
    { tensors: (t) => { for (const k of Object.keys(t)) { t[k.slice(P.length)] = t[k]!; delete t[k]; } } },
    /unexpected keys \(they lack PEFT's 'base_model\.model\.' prefix\)/,
  ],
  ['init_lora_weights "loftq"', { config: (c) => void (c['init_lora_weights'] = 'loftq') }, /init_lora_weights "loftq" is not supported/],
  ['a PiSSA B of the wrong shape', { tensors: (t) => void (t[`${P}layers.1.lora_B.weight`] = nd.zeros([12, 3])) }, /layers\.1\.lora_B\.weight: file \[12, 3\], model \[12, 2\]/],
  ['lora_alpha "abc"', { config: (c) => void (c['lora_alpha'] = 'abc') }, /lora_alpha must be a finite number, got "abc"/],
  ['modules_to_save as a string', { config: (c) => void (c['modules_to_save'] = 'layers.2') }, /modules_to_save must be a list of module names, got the string "layers\.2"/],
  ['layers_to_transform', { config: (c) => void (c['layers_to_transform'] = [0]) }, /layers_to_transform=\[0\] is not supported/],
];

test('loadAdapter: every bad adapter is refused with the model untouched, then the good one loads (property over model seeds)', () => {
  const root = mkdtempSync(join(tmpdir(), 'tsgrad-eva-good-'));
  try {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), fc.constantFrom<'pissa' | 'default'>('pissa', 'default'), (seed, init) => {
        const good = join(root, `${seed}-${init}`);
        writeGoodAdapter(good, seed, init);
        const model = tinyMlp(seed);
        for (const [what, edit, message] of BAD_ADAPTERS) {
          const bad = editAdapter(good, edit);
          try {
            const before = fingerprint(model);
            assert.throws(() => loadAdapter(model, bad), message, what);
            assertSame(before, fingerprint(model), what);
          } finally {
            rmSync(bad, { recursive: true, force: true });
          }
        }
        const reference = tinyMlp(seed);
        loadAdapter(reference, good);
        loadAdapter(model, good);
        const x = randomInput(seed, [3, 10]);
        assert.ok(maxAbsDiff(noGrad(() => model.call(x)), noGrad(() => reference.call(x))) === 0);
        assert.equal([...loraLayers(model).keys()], TARGETS.slice(0, 2));
      }),
      { numRuns: 4, seed: 7 },
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('applyLora: a config refused up front or an init failing on a later layer leaves the model untouched', () => {
  const bad: [string, LoraConfig, RegExp][] = [
    ['modulesToSave that match nothing', { targetModules: TARGETS, r: 2, modulesToSave: ['nope'] }, /modulesToSave \["nope"\] match no module/],
    // layers.2 is 12 -> 5: PiSSA's rank check fails there, after layers.0 and layers.1 got residual weights.
    ['PiSSA with r > min(out, in) on the last layer', { targetModules: TARGETS, r: 6, init: 'pissa' }, /pissa init: rank 6 exceeds min\(out, in\) = 5/],
    ['OLoRA likewise', { targetModules: TARGETS, r: 6, init: 'olora' }, /olora init: rank 6 exceeds/],
    ['an unknown init', { targetModules: TARGETS, init: 'loftq' }, /init "loftq" is not a registered LoRA init/],
    ['a string modulesToSave', { targetModules: TARGETS, modulesToSave: 'layers.2' as unknown as string[] }, /modulesToSave must be a list of module names, got the string "layers\.2"; write \["layers\.2"\]/],
  ];
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1000 }), (seed) => {
      const model = tinyMlp(seed);
      model.getParameter('layers.2.bias').requiresGrad_(false); // a mixed pattern of flags to restore
      for (const [what, config, message] of bad) {
        const before = fingerprint(model);
        assert.throws(() => applyLora(model, config), message, what);
        assertSame(before, fingerprint(model), what);
      }
      const { layers } = applyLora(model, { targetModules: TARGETS, r: 5, init: 'pissa', modulesToSave: ['layers.2'] });
      assert.equal(layers, TARGETS);
    }),
    { numRuns: 4, seed: 3 },
  );
});

test('initializeLoraEvaWeights: a state dict with a bad entry anywhere is refused before any layer changes', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 1, max: 4 }), (seed, rank) => {
      const model = tinyMlp(seed);
      applyLora(model, { targetModules: TARGETS, r: 3, init: 'eva' });
      const rng = new nd.Rng(seed);
      const good = () => ({
        'layers.0': nd.randn([rank, 10], { seed: rng.int(0, 1e6) }),
        'layers.1': nd.randn([rank, 12], { seed: rng.int(0, 1e6) }),
        'layers.2': nd.zeros([0, 12]),
      });
      const withNaN = good();
      withNaN['layers.1'].data[1] = NaN;
      const bad: [string, Record<string, nd.NDArray>, RegExp][] = [
        ['second layer with the wrong in-features', { ...good(), 'layers.1': nd.zeros([rank, 11]) }, /evaStateDict\['layers\.1'\] has shape \[\d, 11\], expected \[rank, 12\]/],
        ['a NaN entry', withNaN, /evaStateDict\['layers\.1'\] has a non-finite value NaN at \[0, 1\]/],
        ['an unknown layer', { ...good(), 'layers.9': nd.zeros([1, 12]) }, /entries for 'layers\.9', which are not LoRA layers/],
        ['a 1-D entry', { ...good(), 'layers.2': nd.zeros([12]) }, /evaStateDict\['layers\.2'\] has shape \[12\]/],
      ];
      for (const [what, sd, message] of bad) {
        const before = fingerprint(model);
        assert.throws(() => initializeLoraEvaWeights(model, { evaStateDict: sd }), message, what);
        assertSame(before, fingerprint(model), what);
      }
      const res = initializeLoraEvaWeights(model, { evaStateDict: good() });
      assert.equal([...res.ranks.values()], [rank, rank, 0]);
      assert.equal([...loraLayers(model).keys()], ['layers.0', 'layers.1']);
    }),
    { numRuns: 6, seed: 11 },
  );
});

test.run();
