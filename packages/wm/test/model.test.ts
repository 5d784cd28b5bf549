import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GPT, MLP } from '@tsgrad/nn';
import { NDArray, Rng } from '@tsgrad/tensor';
import {
  activationMatching,
  applyPermutation,
  checkInvariance,
  evaluate,
  gptPermutationSpec,
  interpolate,
  invertPermutation,
  l2Distance,
  maxAbsSpectrumDiff,
  mergeMany,
  meanStateDicts,
  mlpFeatureSources,
  mlpPermutationSpec,
  permutationSpec,
  randomPermutation,
  singularValues,
  steMatching,
  toBatches,
  weightMatching,
  weightMatrixKeys,
  type StateDict,
} from '../src/index.ts';
import { addNoise, randomInput } from './helpers.ts';

function classification(n: number, dim: number, classes: number, seed: number) {
  const rng = new Rng(seed);
  const x = randomInput(n, dim, seed);
  const y = NDArray.fromTyped(Int32Array.from({ length: n }, () => rng.int(0, classes)), [n], 'int32');
  return toBatches(x, y, 16);
}

function tokens(b: number, t: number, vocab: number, seed: number): NDArray {
  const rng = new Rng(seed);
  return NDArray.fromTyped(Int32Array.from({ length: b * t }, () => rng.int(0, vocab)), [b, t], 'int32');
}

const gptConfig = { vocabSize: 11, contextLength: 8, dModel: 12, nHeads: 3, nLayers: 2, seed: 0 };

test('nn MLP: the spec matches its parameter names and random permutations keep outputs', () => {
  const net = new MLP([10, 16, 12, 4], { seed: 1 });
  const sd = net.stateDict({ clone: true });
  const spec = mlpPermutationSpec(net);
  assert.equal(Object.keys(spec.permToAxes), ['P_layers.0', 'P_layers.1']);
  for (let s = 0; s < 5; s++) {
    const r = checkInvariance(net, applyPermutation(spec, randomPermutation(spec, sd, s), sd), randomInput(9, 10, s));
    assert.ok(r.ok, `maxAbsDiff ${r.maxAbsDiff}`);
  }
  // The weights are restored after the check.
  assert.is(l2Distance(sd, net.stateDict()), 0);
  // A wrong spec (first layer only) is caught.
  const broken = permutationSpec({ 'layers.0.weight': ['P', null], 'layers.0.bias': ['P'] });
  assert.not.ok(checkInvariance(net, applyPermutation(broken, randomPermutation(broken, sd, 1), sd), randomInput(9, 10, 0)).ok);
});

for (const residual of ['identity', 'shared'] as const) {
  test(`GPT spec (residual ${residual}, heads): permutations keep logits, spectra, and invert exactly`, () => {
    const gpt = new GPT(gptConfig);
    const sd = gpt.stateDict({ clone: true });
    const spec = gptPermutationSpec(gpt, { residual, heads: true });
    const ids = Object.keys(spec.permToAxes).sort();
    const expected = ['H_blocks.0.attn', 'H_blocks.1.attn', 'P_blocks.0.mlp', 'P_blocks.1.mlp'];
    assert.equal(ids, residual === 'shared' ? [...expected, 'P_res'] : expected);
    const x = tokens(2, 8, 11, 3);
    for (let s = 0; s < 3; s++) {
      const perm = randomPermutation(spec, sd, s);
      const permuted = applyPermutation(spec, perm, sd);
      const r = checkInvariance(gpt, permuted, x);
      assert.ok(r.ok, `maxAbsDiff ${r.maxAbsDiff} scale ${r.scale}`);
      const keys = weightMatrixKeys(spec, sd);
      assert.ok(maxAbsSpectrumDiff(singularValues(sd, keys), singularValues(permuted, keys)) < 1e-6);
      const back = applyPermutation(spec, invertPermutation(perm), permuted);
      for (const k of Object.keys(sd)) assert.equal(Array.from(back[k]!.toTyped()), Array.from(sd[k]!.toTyped()), k);
    }
  });
}

test('GPT spec: heads are needed as whole heads (permuting head dims across heads breaks it)', () => {
  const gpt = new GPT(gptConfig);
  const sd = gpt.stateDict({ clone: true });
  // Treat every q/k/v row as its own unit (group 1): not a symmetry of attention.
  const b = 'blocks.0.attn';
  const wrong = permutationSpec({
    [`${b}.q_proj.weight`]: ['X', null],
    [`${b}.q_proj.bias`]: ['X'],
    [`${b}.k_proj.weight`]: ['X', null],
    [`${b}.k_proj.bias`]: ['X'],
    [`${b}.v_proj.weight`]: ['X', null],
    [`${b}.v_proj.bias`]: ['X'],
    [`${b}.out_proj.weight`]: [null, 'X'],
  });
  // Biases are zero at init; give them values so that they matter.
  const noisy = addNoise(sd, 0.05, 1);
  gpt.loadStateDict(noisy);
  const r = checkInvariance(gpt, applyPermutation(wrong, randomPermutation(wrong, noisy, 5), noisy), tokens(2, 8, 11, 1));
  assert.not.ok(r.ok);
});

test('GPT: WM recovers a planted permutation (heads, MLP units and the shared residual)', () => {
  const gpt = new GPT(gptConfig);
  const a = addNoise(gpt.stateDict({ clone: true }), 0.05, 2);
  const spec = gptPermutationSpec(gpt, { residual: 'shared', heads: true });
  const planted = randomPermutation(spec, a, 7);
  const b = addNoise(applyPermutation(spec, planted, a), 1e-3, 8);
  const res = weightMatching(spec, a, b, { seed: 1 });
  const want = invertPermutation(planted);
  for (const id of Object.keys(want)) assert.equal(Array.from(res.perm[id]!), Array.from(want[id]!), id);
});

test('interpolate: endpoints equal the models, three barrier definitions, net restored', () => {
  const a = new MLP([6, 8, 3], { seed: 1 });
  const b = new MLP([6, 8, 3], { seed: 2 });
  const train = classification(40, 6, 3, 1);
  const test = classification(24, 6, 3, 2);
  const before = a.stateDict({ clone: true });
  const curve = interpolate(a, b, [0, 0.25, 0.5, 0.75, 1], { train, test });
  assert.ok(Math.abs(curve.trainLoss[0]! - evaluate(a, train).loss) < 1e-6);
  assert.ok(Math.abs(curve.testAcc[4]! - evaluate(b, test).acc) < 1e-12);
  assert.is(curve.trainLoss.length, 5);
  assert.ok(curve.barrier.loss.train.maxGapToLinear >= 0);
  assert.is(l2Distance(before, a.stateDict()), 0);
});

test('activation matching recovers a planted permutation from features', () => {
  const a = new MLP([6, 10, 10, 3], { seed: 3 });
  const b = new MLP([6, 10, 10, 3], { seed: 4 });
  const spec = mlpPermutationSpec(a);
  const planted = randomPermutation(spec, a.stateDict(), 9);
  b.loadStateDict(applyPermutation(spec, planted, a.stateDict()));
  const batches = classification(64, 6, 3, 5);
  // Pre-activation features (no ReLU): no dead units, so the matching is unique.
  const features = Object.fromEntries(Object.entries(mlpFeatureSources(spec)).map(([id, f]) => [id, { module: f.module }]));
  const res = activationMatching(spec, a, b, batches, { features });
  const want = invertPermutation(planted);
  for (const id of Object.keys(want)) assert.equal(Array.from(res.perm[id]!), Array.from(want[id]!), id);
  assert.is(res.rows, 64);
  // With the default ReLU features the aligned model computes the same function as A.
  const relu = activationMatching(spec, a, b, batches, { features: mlpFeatureSources(spec) });
  assert.ok(relu.matched['P_layers.0']!.matched >= relu.matched['P_layers.0']!.identity);
});

test('STE: keeps the best permutation by minibatch loss and restores the network', () => {
  const net = new MLP([6, 8, 8, 3], { seed: 5 });
  const a = net.stateDict({ clone: true });
  const b = new MLP([6, 8, 8, 3], { seed: 6 }).stateDict();
  const spec = mlpPermutationSpec(net);
  const batches = classification(64, 6, 3, 7);
  const res = steMatching(spec, net, a, b, batches, { epochs: 2, lr: 1e-2, seed: 1 });
  assert.is(res.steps, 8);
  assert.is(res.losses.length, 8);
  assert.is(res.bestLoss, Math.min(...res.losses));
  assert.ok(res.wmSweeps.every((s) => s >= 1));
  assert.is(l2Distance(a, net.stateDict()), 0);
  assert.ok(res.drift > 0);
  // The kept permutation is a valid one: it keeps B's function.
  const bNet = new MLP([6, 8, 8, 3], { seed: 6 });
  assert.ok(checkInvariance(bNet, applyPermutation(spec, res.perm, b), randomInput(5, 6, 1)).ok);
});

test('mergeMany: permuted noisy copies of one model merge back to it', () => {
  const base = new MLP([8, 12, 12, 4], { seed: 11 }).stateDict({ clone: true });
  const spec = mlpPermutationSpec(base);
  const copies: StateDict[] = [0, 1, 2, 3].map((s) => addNoise(applyPermutation(spec, randomPermutation(spec, base, s), base), 0.01, s + 10));
  const res = mergeMany(spec, copies, { seed: 0 });
  assert.ok(res.distances.at(-1)! < res.distances[0]! / 5, `distances ${res.distances}`);
  // The merged model is the base in some basis: WM to it brings it within noise level.
  const wm = weightMatching(spec, base, res.merged);
  const d = l2Distance(base, applyPermutation(spec, wm.perm, res.merged));
  // Noise of 0.01 on ~316 weights is about 0.18 per copy, 0.09 for the mean of four.
  assert.ok(d < 0.15, `distance to base ${d}`);
  const naive = meanStateDicts(copies);
  const dNaive = l2Distance(base, applyPermutation(spec, weightMatching(spec, base, naive).perm, naive));
  assert.ok(d < 0.3 * dNaive, `merged ${d} vs naive mean ${dNaive}`);
  for (let i = 1; i < res.distances.length; i++) assert.ok(res.distances[i]! <= res.distances[i - 1]! + 1e-9);
});

test.run();
