/**
 * The EVA ablations' transforms keep what they claim to keep: rotation keeps each layer's
 * span (and orthonormal rows), permutation moves whole inits between layers of the same
 * width (so the rank budget is unchanged), and the minor components are the directions
 * of least input variance, orthogonal to the principal ones. Plus the summary's
 * `{ mean, std, values }` shape and the learning-rate choice on validation loss.
 */
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Tensor } from '@tsgrad/autograd';
import { applyLora, computeEva, type EvaStateDict } from '@tsgrad/eva';
import { MLP } from '@tsgrad/nn';
import * as nd from '@tsgrad/tensor';
import { minorComponents, permuteAcrossLayers, rotateComponents } from '../eva/ablations.ts';
import type { RunResult } from '../eva/finetune.ts';
import { summariseMethod, summariseSweep } from '../eva/summary.ts';

/** Random orthonormal rows [r, d] (from a QR). */
function orthoRows(r: number, d: number, seed: number): nd.NDArray {
  const { Q } = nd.qr(nd.randn([d, r], { seed, dtype: 'float64' }));
  return nd.NDArray.fromTyped(Float64Array.from(Q.transpose(0, 1).contiguous().toFloat64Array()), [r, d]);
}

/** ||P_a - P_b|| for the projectors onto the row spans of a and b (both orthonormal rows). */
function spanDistance(a: nd.NDArray, b: nd.NDArray): number {
  const pa = nd.matmul(a.transpose(0, 1), a).toFloat64Array();
  const pb = nd.matmul(b.transpose(0, 1), b).toFloat64Array();
  return Math.max(...pa.map((v, i) => Math.abs(v - pb[i]!)));
}

test('rotateComponents: same span, orthonormal rows, different rows (property over ranks and widths)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 5 }), fc.integer({ min: 6, max: 12 }), fc.integer({ min: 0, max: 1000 }), (r, d, seed) => {
      const sd: EvaStateDict = { x: orthoRows(r, d, seed), empty: nd.zeros([0, d], 'float64') };
      const out = rotateComponents(sd, seed);
      assert.ok(spanDistance(out['x']!, sd['x']!) < 1e-9);
      const gram = nd.matmul(out['x']!, out['x']!.transpose(0, 1)).toFloat64Array();
      gram.forEach((v, i) => assert.ok(Math.abs(v - (i % (r + 1) === 0 ? 1 : 0)) < 1e-9));
      assert.ok(Math.max(...out['x']!.toFloat64Array().map((v, i) => Math.abs(v - sd['x']!.toFloat64Array()[i]!))) > 1e-3);
      assert.is(out['empty']!.shape[0], 0);
    }),
    { numRuns: 20 },
  );
});

test('permuteAcrossLayers: each layer gets an init of its own width; the inits and the rank budget are unchanged', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1000 }), (seed) => {
      const sd: EvaStateDict = { a: orthoRows(2, 8, 1), b: orthoRows(3, 8, 2), c: orthoRows(1, 8, 3), w: orthoRows(2, 5, 4) };
      const out = permuteAcrossLayers(sd, seed);
      assert.equal(Object.keys(out).sort(), Object.keys(sd).sort());
      for (const [k, v] of Object.entries(out)) assert.is(v.shape[1], sd[k]!.shape[1]);
      assert.is(out['w'], sd['w']); // alone in its width
      const used = ['a', 'b', 'c'].map((k) => Object.keys(sd).find((j) => sd[j] === out[k])!).sort();
      assert.equal(used, ['a', 'b', 'c']);
      const budget = (x: EvaStateDict) => Object.values(x).reduce((s, v) => s + v.shape[0]!, 0);
      assert.is(budget(out), budget(sd));
    }),
    { numRuns: 30 },
  );
});

test('minorComponents: least-variance directions, orthogonal to EVA principal ones, ranks kept', () => {
  const mlp = new MLP([6, 8, 3], { activation: 'relu', seed: 0 });
  applyLora(mlp, { targetModules: ['layers.0'], r: 2, init: 'eva', evaConfig: { rho: 1, tau: 0.9 } });
  // inputs with per-feature scales 1..6: the minor directions are the low-scale features
  const rng = new nd.Rng(3);
  const batches = Array.from({ length: 10 }, () => ({ input: new Tensor(nd.NDArray.fromTyped(Float32Array.from({ length: 32 * 6 }, (_, i) => rng.normal() * (1 + (i % 6))), [32, 6])) }));
  const eva = computeEva(mlp, batches, { svd: 'exact' });
  const minor = minorComponents(mlp, batches, 10, eva.stateDict);
  const m = minor['layers.0']!;
  assert.equal(m.shape, eva.stateDict['layers.0']!.shape);
  const v = m.toFloat64Array();
  // rows concentrate on the two smallest-scale features (0 and 1)
  for (let k = 0; k < 2; k++) assert.ok(v[k * 6]! ** 2 + v[k * 6 + 1]! ** 2 > 0.9, `row ${k} lies in the low-variance features`);
  const cross = nd.matmul(m, eva.stateDict['layers.0']!.transpose(0, 1)).toFloat64Array();
  for (const c of cross) assert.ok(Math.abs(c) < 0.2, `minor vs principal cosine ${c}`);
});

function fakeRun(seed: number, lr: number, val: number, test: number): RunResult {
  return { method: 'x', seed, lr, curve: [{ step: 0, evalLoss: 3 }, { step: 10, evalLoss: test }], finalValLoss: val, trainLoss: [], gradNormAtStep0: 1, initSeconds: 0.5, trainSeconds: 2, loraParams: 100 };
}

test('summary: every seed-dependent scalar is { mean, std, values }; init step equivalents = init s / s per step', () => {
  const s = summariseMethod([fakeRun(0, 1e-3, 1, 1.1), fakeRun(1, 1e-3, 1.2, 1.3)], 10);
  for (const k of ['finalEvalLoss', 'finalValLoss', 'gradNormAtStep0', 'initSeconds', 'trainSeconds', 'initStepEquivalents', 'initSharePercent', 'loraParams'] as const) {
    assert.ok(Array.isArray(s[k].values) && s[k].values.length === 2 && Number.isFinite(s[k].std), k);
  }
  assert.equal(s.curve[1]!.evalLoss.values, [1.1, 1.3]);
  assert.is(s.initStepEquivalents.mean, 2.5);
  assert.is(s.initSharePercent.mean, 25);
});

test('summariseSweep: the best rate is chosen on validation loss, not on test loss', () => {
  const w = summariseSweep([
    { lr: 1e-3, runs: [fakeRun(0, 1e-3, 1.0, 2.0), fakeRun(1, 1e-3, 1.1, 2.0)] },
    { lr: 3e-3, runs: [fakeRun(0, 3e-3, 1.5, 0.5), fakeRun(1, 3e-3, 1.4, 0.5)] },
  ]);
  assert.is(w.bestLr, 1e-3);
  assert.ok(Math.abs(w.sensitivity - 0.4) < 1e-12);
});

test.run();
