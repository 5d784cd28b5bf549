import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { noGrad, Tensor } from '@tsgrad/autograd';
import { Linear, MLP, type AnyModule } from '@tsgrad/nn';
import * as nd from '@tsgrad/tensor';
import {
  applyLora,
  computeEva,
  getEvaStateDict,
  getLoraConfig,
  initializeLoraEvaWeights,
  LoraLinear,
  loraLayers,
  maxComponents,
  type EvaBatch,
} from '../src/index.ts';
import { GPT_TARGETS, maxAbs, maxAbsDiff, tinyGpt, tokenBatch } from './helpers.ts';

/** Rows with a decaying spectrum (so layers differ in how concentrated their inputs are). */
function mlpBatches(seed: number, n: number, b: number, d: number): EvaBatch[] {
  const rng = new nd.Rng(seed);
  const scales = Array.from({ length: d }, (_, j) => Math.pow(0.6, j));
  const mix = nd.randn([d, d], { seed: seed + 1 }).toFloat64Array();
  return Array.from({ length: n }, () => {
    const x = new Float32Array(b * d);
    for (let i = 0; i < b; i++) {
      const z = scales.map((s) => s * rng.normal());
      for (let j = 0; j < d; j++) {
        let v = 0;
        for (let k = 0; k < d; k++) v += z[k]! * mix[k * d + j]!;
        x[i * d + j] = v + 0.5;
      }
    }
    return { input: new Tensor(nd.NDArray.fromTyped(x, [b, d])) };
  });
}

function randomMlp(seed: number, widths: number[]): MLP {
  return new MLP(widths, { activation: 'relu', seed });
}

function hookCount(model: AnyModule): number {
  let n = 0;
  for (const m of model.modules()) {
    const r = m as unknown as { _preHooks: Map<number, unknown>; _hooks: Map<number, unknown> };
    n += r._preHooks.size + r._hooks.size;
  }
  return n;
}

function rowsOrthonormal(a: nd.NDArray, tol = 1e-6): boolean {
  const x = nd.cast(a, 'float64');
  const g = nd.matmul(x, x.transpose(0, 1)).toFloat64Array();
  const r = a.shape[0]!;
  for (let i = 0; i < r; i++) for (let j = 0; j < r; j++) if (Math.abs(g[i * r + j]! - (i === j ? 1 : 0)) > tol) return false;
  return true;
}

test('EVA on random MLPs: ranks sum to the budget, none exceeds round(rho r), A rows orthonormal', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 10_000 }),
      fc.constantFrom(1, 1.5, 2),
      fc.integer({ min: 1, max: 3 }),
      fc.array(fc.integer({ min: 6, max: 14 }), { minLength: 2, maxLength: 3 }),
      (seed, rho, r, hidden) => {
        const widths = [8, ...hidden, 4];
        const mlp = randomMlp(seed, widths);
        const loader = mlpBatches(seed, 6, 24, 8);
        const res = computeEva(mlp, loader, { loraConfig: { targetModules: 'layers\\.\\d+', r }, evaConfig: { rho, tau: 0.95 }, maxBatches: 300 });
        const nLayers = widths.length - 1;
        assert.is(res.rankBudget, r * nLayers);
        let sum = 0;
        for (const [name, k] of res.ranks) {
          assert.ok(k >= 0 && k <= maxComponents(r, rho), `${name}: rank ${k}`);
          sum += k;
          const a = res.stateDict[name]!;
          assert.equal([...a.shape], [k, (mlp.getSubmodule(name) as Linear).inFeatures]);
          if (k > 0) assert.ok(rowsOrthonormal(a), `${name}: A rows not orthonormal`);
        }
        assert.is(sum, r * nLayers);
        if (rho === 1) for (const k of res.ranks.values()) assert.is(k, r);
      },
    ),
    { numRuns: 8 },
  );
});

test('EVA on a GPT: q/k/v share one PCA, ranks respect the budget, model forward unchanged and no hooks left', () => {
  const gpt = tinyGpt(0);
  const loader = Array.from({ length: 6 }, (_, i) => ({ input: tokenBatch(100 + i, 8, 8) }));
  const ids = tokenBatch(7);
  gpt.train();
  const before = noGrad(() => gpt.call(ids));
  const hooksBefore = hookCount(gpt);
  const res = computeEva(gpt, loader, { loraConfig: { targetModules: GPT_TARGETS, r: 2 }, evaConfig: { tau: 0.99 } });
  assert.is(res.groups.get('blocks.0.attn.k_proj'), 'blocks.0.attn.q_proj');
  assert.is(res.groups.get('blocks.0.attn.v_proj'), 'blocks.0.attn.q_proj');
  assert.is(res.groups.get('blocks.0.mlp.fc1'), 'blocks.0.mlp.fc1');
  assert.is(res.groups.get('blocks.1.attn.q_proj'), 'blocks.1.attn.q_proj');
  assert.is([...res.ranks.values()].reduce((a, b) => a + b, 0), 2 * 13);
  // group members get prefixes of the same components
  const q = res.stateDict['blocks.0.attn.q_proj']!;
  const k = res.stateDict['blocks.0.attn.k_proj']!;
  const rk = k.shape[0]!;
  assert.ok(res.ranks.get('blocks.0.attn.q_proj')! >= rk);
  assert.is(maxAbsDiff(q.slice(0, 0, rk), k), 0);
  assert.is(hookCount(gpt), hooksBefore);
  for (const m of gpt.modules()) assert.ok(m.training, 'training flag not restored');
  assert.is(maxAbsDiff(noGrad(() => gpt.call(ids)), before), 0);
  assert.ok(res.batches >= 2, 'every layer needs at least two SVD updates');
});

test('EVA: the maxBatches guard names the unconverged layers and leaves no hooks', () => {
  const gpt = tinyGpt(1);
  const loader = Array.from({ length: 3 }, (_, i) => ({ input: tokenBatch(i, 4, 8) }));
  const before = hookCount(gpt);
  assert.throws(
    () => computeEva(gpt, loader, { loraConfig: { targetModules: ['fc1', 'lm_head'], r: 2 }, evaConfig: { tau: 1 }, maxBatches: 3 }),
    /not converged after maxBatches=3 .*unconverged layers: blocks\.0\.mlp\.fc1 \(\d+\/\d+ components converged\).*lm_head/,
  );
  assert.is(hookCount(gpt), before);
  for (const m of gpt.modules()) assert.ok(m.training);
});

test('EVA: padding and ignored labels are removed from the SVD rows', () => {
  const gpt = tinyGpt(2);
  const t = 8;
  const mask = nd.NDArray.fromTyped(Int32Array.from({ length: 4 * t }, (_, i) => (i % t < 5 ? 1 : 0)), [4, t], 'int32');
  // Batches that differ only at masked (trailing) positions: causal attention keeps
  // the kept positions' activations identical, so masking makes the results identical.
  const make = (salt: number) =>
    Array.from({ length: 5 }, (_, i) => {
      const ids = tokenBatch(50 + i, 4, t).data.toTyped() as Int32Array;
      const alt = tokenBatch(1000 * salt + i, 4, t).data.toTyped() as Int32Array;
      const x = ids.map((v, p) => (p % t < 5 ? v : alt[p]!));
      return { input: new Tensor(nd.NDArray.fromTyped(x, [4, t], 'int32')) };
    });
  const cfg = { loraConfig: { targetModules: ['fc1', 'fc2'], r: 2 }, evaConfig: { tau: 0.9 } };
  const a = make(1);
  const b = make(2);
  const withMask = (l: { input: Tensor }[]) => l.map((x) => ({ ...x, attentionMask: mask }));
  const labels = nd.NDArray.fromTyped(Int32Array.from({ length: 4 * t }, (_, i) => (i % t < 5 ? 3 : -100)), [4, t], 'int32');
  const withLabels = (l: { input: Tensor }[]) => l.map((x) => ({ ...x, labels }));
  const sdA = getEvaStateDict(gpt, withMask(a), cfg);
  const sdB = getEvaStateDict(gpt, withMask(b), cfg);
  for (const name of Object.keys(sdA)) assert.is(maxAbsDiff(sdA[name]!, sdB[name]!), 0, `${name} depends on padding`);
  const lA = getEvaStateDict(gpt, withLabels(a), cfg);
  for (const name of Object.keys(sdA)) assert.is(maxAbsDiff(lA[name]!, sdA[name]!), 0, `${name}: label mask differs from attention mask`);
  // without the masks the padded positions do change the result
  const uA = getEvaStateDict(gpt, a, cfg);
  const uB = getEvaStateDict(gpt, b, cfg);
  assert.ok(Object.keys(uA).some((n) => uA[n]!.shape[0] !== uB[n]!.shape[0] || maxAbsDiff(uA[n]!, uB[n]!) > 1e-6));
  // useLabelMask: false ignores labels
  const noLabelMask = getEvaStateDict(gpt, withLabels(a), { ...cfg, evaConfig: { tau: 0.9, useLabelMask: false } });
  for (const name of Object.keys(uA)) assert.is(maxAbsDiff(noLabelMask[name]!, uA[name]!), 0);
});

test('initializeLoraEvaWeights: B = 0 so outputs equal the base model, ranks and alphas applied, scaling kept', () => {
  const gpt = tinyGpt(3);
  const ids = tokenBatch(9);
  const base = noGrad(() => gpt.call(ids));
  applyLora(gpt, { targetModules: GPT_TARGETS, r: 2, alpha: 4, init: 'eva', evaConfig: { tau: 0.95 } });
  const loader = Array.from({ length: 6 }, (_, i) => ({ input: tokenBatch(200 + i, 8, 8) }));
  const res = initializeLoraEvaWeights(gpt, { dataLoader: loader });
  assert.is(maxAbsDiff(noGrad(() => gpt.call(ids)), base), 0);
  const cfg = getLoraConfig(gpt);
  let sum = 0;
  for (const [name, rank] of res.ranks) {
    sum += rank;
    const m = gpt.getSubmodule(name);
    if (rank === 0) {
      assert.ok(m instanceof Linear && !(m instanceof LoraLinear), `${name} kept its adapter at rank 0`);
      continue;
    }
    const l = m as LoraLinear;
    assert.is(l.r, rank);
    assert.ok(Math.abs(l.scaling - 4 / 2) < 1e-12, `${name}: scaling ${l.scaling}`);
    assert.is(maxAbs(l.lora_B.weight), 0);
    assert.ok(rowsOrthonormal(l.lora_A.weight.data, 1e-5));
    assert.is(l.initMethod, 'eva');
    if (rank !== 2) assert.is(cfg.rankPattern[name], rank);
    else assert.is(cfg.rankPattern[name], undefined);
  }
  assert.is(sum, 26);
  assert.equal(cfg.targetModules, [...loraLayers(gpt).keys()]);
  assert.ok(res.eva && res.eva.seconds > 0);
  // a precomputed state dict gives the same model
  const gpt2 = tinyGpt(3);
  applyLora(gpt2, { targetModules: GPT_TARGETS, r: 2, alpha: 4, init: 'eva', evaConfig: { tau: 0.95 } });
  initializeLoraEvaWeights(gpt2, { evaStateDict: res.eva!.stateDict });
  for (const [name, l] of loraLayers(gpt)) assert.is(maxAbsDiff(loraLayers(gpt2).get(name)!.lora_A.weight, l.lora_A.weight), 0);
  assert.throws(() => initializeLoraEvaWeights(tinyGptWithDefault(), { evaStateDict: {} }), /init is 'default', not 'eva'/);
});

function tinyGptWithDefault(): AnyModule {
  const g = tinyGpt(4);
  applyLora(g, { targetModules: ['fc1'], r: 2 });
  return g;
}

test('EVA: whitening divides A rows by sqrt(singular values); adjustScalingFactors false keeps alpha', () => {
  const mlp = randomMlp(5, [8, 12, 4]);
  const loader = mlpBatches(5, 6, 24, 8);
  const opts = { loraConfig: { targetModules: ['layers.0', 'layers.1'], r: 2 }, evaConfig: { tau: 0.95, rho: 1 } };
  const plain = computeEva(mlp, loader, opts);
  const white = computeEva(mlp, loader, { ...opts, evaConfig: { ...opts.evaConfig, whiten: true } });
  const a = plain.stateDict['layers.0']!.toFloat64Array();
  const w = white.stateDict['layers.0']!.toFloat64Array();
  const ratio = Math.abs(a[0]! / w[0]!);
  assert.ok(ratio > 0 && Number.isFinite(ratio));
  assert.not.ok(rowsOrthonormal(white.stateDict['layers.0']!));

  const m2 = randomMlp(6, [8, 12, 12, 4]);
  applyLora(m2, { targetModules: 'layers\\.\\d', r: 2, alpha: 3, init: 'eva', evaConfig: { tau: 0.95, adjustScalingFactors: false } });
  const res = initializeLoraEvaWeights(m2, { dataLoader: mlpBatches(6, 6, 24, 8) });
  for (const [name, alpha] of res.alphas) assert.is(alpha, 3, name);
});

test('EVA: exact and randomized SVD agree on the leading components', () => {
  const mlp = randomMlp(8, [8, 10, 4]);
  const loader = mlpBatches(8, 6, 40, 8);
  const opts = { loraConfig: { targetModules: ['layers.0'], r: 2 }, evaConfig: { tau: 0.9, rho: 1 } };
  const lo = computeEva(mlp, loader, { ...opts, svd: 'lowrank' as const });
  const ex = computeEva(mlp, loader, { ...opts, svd: 'exact' as const });
  const x = lo.stateDict['layers.0']!.toFloat64Array();
  const y = ex.stateDict['layers.0']!.toFloat64Array();
  let dot = 0;
  for (let j = 0; j < 8; j++) dot += x[j]! * y[j]!;
  assert.ok(Math.abs(dot) > 0.999, `first component cos ${dot}`);
});

test.run();
