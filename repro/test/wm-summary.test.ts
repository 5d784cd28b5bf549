import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { alignmentR, applyPermutation, curveBarriers, invertPermutation, layerSVDs, randomPermutation, type InterpolationCurve } from '@tsgrad/wm';
import { CNN_ARCHS, cnnModel, cnnSpec, matricize } from '../wm/cnn.ts';
import { layerType } from '../wm/gpt.ts';
import { agreement, GAMMAS, type PairResult } from '../wm/mlp.ts';
import { PRESETS } from '../wm/presets.ts';
import { summarise, summariseCnn } from '../wm/summary.ts';

/** A curve whose loss rises by `bump` at the midpoint (so its max gap to the linear path is `bump`). */
function curve(bump: number): InterpolationCurve {
  const lambdas = [0, 0.5, 1];
  const loss = [0.1, 0.1 + bump, 0.1];
  const acc = [0.9, 0.9 - bump / 10, 0.9];
  const c = { lambdas, trainLoss: loss, testLoss: loss, trainAcc: acc, testAcc: acc };
  return { ...c, barrier: curveBarriers(c) };
}

function fakePair(i: number, wmBarrier: number): PairResult {
  const r = (x: number) => ({ cross: [x, x + 0.1], diagonal: [x / 2, x / 2 + 0.05] });
  return {
    endpoints: { testAcc: [0.9, 0.91], testLoss: [0.3, 0.31] },
    curves: { naive: curve(1 + 0.1 * i), wm: curve(wmBarrier + 0.01 * i), am: curve(0.2), ste: curve(0.15 + 0.01 * i) },
    l2Ratio: { wm: 0.8 + 0.01 * i, am: 0.85, ste: 0.8, random: 1 },
    l2Before: 10,
    svMaxAbsDiff: 1e-12,
    R: { naive: r(0.01 * i), wm: r(0.3 + 0.01 * i), am: r(0.2), ste: r(0.05) },
    RWmSearches: [
      [0.3, 0.4],
      [0.31, 0.41],
    ],
    RPerLayer: { naive: { w: [0.01, 0.02] }, wm: { w: [0.3, 0.4] } },
    RCounts: { w: [4, 2] },
    wmObjective: [1, 2],
    agreement: { amWm: 0.2, steWm: 0.5 },
    ste: { steps: 2, seconds: 1, meanLoss: [0.5, 0.45], permChangeRate: [0.5, 0.1 * i], agreementWithWm: [0.4, 0.5], finalAgreementWithWm: 0.5 },
    threeModel: { naive: curve(1), wm: curve(0.1 + 0.01 * i), ste: curve(0.4 - 0.02 * i) },
    singularValues: { a: { w: [2, 1] }, b: { w: [2, 1] } },
  };
}

const isStat = (s: unknown, n: number) => {
  const x = s as { mean?: unknown; std?: unknown; values?: unknown } | null;
  return typeof x === 'object' && x !== null && typeof x.mean === 'number' && typeof x.std === 'number' && Array.isArray(x.values) && x.values.length === n;
};

test('every seed-dependent MLP scalar is { mean, std, values } with one value per pair', () => {
  const pairs = [0, 1, 2, 3, 4].map((i) => fakePair(i, 0.05));
  const s = summarise(pairs, [], []);
  for (const m of ['naive', 'wm', 'am', 'ste'] as const) {
    assert.ok(isStat(s.barrier[m].lossMaxGap, 5));
    for (const v of ['cross', 'diagonal']) for (const g of GAMMAS) assert.ok(isStat(s.R[m]![v]![String(g)], 5), `R ${m} ${v} ${g}`);
  }
  for (const k of ['wm', 'am', 'ste', 'random']) assert.ok(isStat(s.l2Ratio[k], 5));
  assert.ok(isStat(s.threeModel.wm.lossMaxGap, 5));
  assert.ok(isStat(s.ste.meanLossPerEpoch[1], 5));
  assert.equal(s.verdicts.length, 8);
});

test('verdicts follow the paired intervals: LMC after WM held, three-model WM < STE held', () => {
  const s = summarise([0, 1, 2, 3, 4].map((i) => fakePair(i, 0.05)), [], []);
  const v = Object.fromEntries(s.verdicts.map((x) => [x.claim.slice(0, 12), x]));
  assert.is(v['LMC after WM']!.held, true);
  assert.is(s.verdicts[7]!.held, true);
  // R(0.3) > R(0) by exactly 0.1 per pair: the interval is degenerate and above 0
  assert.is(s.verdicts[3]!.held, true);
});

test('a WM barrier above 0.1 nats makes the LMC verdict only partly held', () => {
  const s = summarise([0, 1, 2, 3].map((i) => fakePair(i, 0.5)), [], []);
  assert.is(s.verdicts[0]!.held, 'partly');
});

test('property: agreement is 1 with itself, symmetric, and within [0, 1]', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 8 }), fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 8 }), (x, y) => {
      const n = Math.min(x.length, y.length);
      const p = { P: Int32Array.from(x.slice(0, n)) };
      const q = { P: Int32Array.from(y.slice(0, n)) };
      assert.is(agreement(p, p), 1);
      assert.is(agreement(p, q), agreement(q, p));
      assert.ok(agreement(p, q) >= 0 && agreement(p, q) <= 1);
    }),
  );
});

test('GPT parameters are sorted into attention, MLP and embedding', () => {
  assert.is(layerType('blocks.0.attn.q_proj.weight'), 'attention');
  assert.is(layerType('blocks.1.mlp.fc2.weight'), 'mlp');
  assert.is(layerType('tok_emb.weight'), 'embedding');
  assert.is(layerType('lm_head.weight'), 'embedding');
});

test('presets share one shape; standard has >= 5 pairs, 5 searches, STE-MM settings, >= 3 GPT and CNN pairs, the official split', () => {
  const keys = (o: object) => Object.keys(o).sort().join(',');
  assert.is(keys(PRESETS.quick), keys(PRESETS.standard));
  assert.is(keys(PRESETS.full), keys(PRESETS.standard));
  const s = PRESETS.standard;
  assert.ok(s.pairs >= 5 && s.searches >= 5 && s.gpt.pairs >= 3 && s.cnn.pairs >= 3);
  assert.equal(s.cnn.archs, ['vgg11', 'resnet20']);
  assert.is(s.data, 'official');
  assert.is(PRESETS.full.data, 'official');
  // STE-MM's optimizer and batch everywhere, and its 10 epochs over the training split in
  // standard and full (quick runs 2, enough for the trace to show a last-epoch change)
  for (const p of Object.values(PRESETS)) assert.equal({ batchSize: p.ste.batchSize, lr: p.ste.lr }, { batchSize: 256, lr: 1e-3 });
  assert.is(PRESETS.full.ste.epochs, 10);
  assert.is(s.ste.epochs, 10);
  assert.ok(PRESETS.quick.ste.epochs >= 2, 'quick needs two epochs or more to judge STE convergence');
  // MergeMany draws its models from the 3 * pairs trained ones
  for (const p of Object.values(PRESETS)) for (const k of p.mergeMany) assert.ok(k <= 3 * p.pairs, `MergeMany of ${k} needs ${k} models`);
});

test('STE verdict: R_STE near R_none holds the alignment half; R_STE near R_WM does not', () => {
  const withSte = (steR: (i: number) => number) =>
    [0, 1, 2, 3, 4].map((i) => {
      const p = fakePair(i, 0.05);
      const x = steR(i);
      return { ...p, R: { ...p.R, ste: { cross: [x, x + 0.1], diagonal: [x / 2, x / 2] } } };
    });
  const find = (pairs: PairResult[]) => summarise(pairs, [], []).verdicts.find((v) => v.claim.startsWith('STE reaches LMC'))!;
  // fakePair: R_none(0.3) = 0.01 i + 0.1, R_WM(0.3) = 0.4 + 0.01 i, STE's barrier below naive
  assert.is(find(withSte((i) => 0.01 * i + 0.001 * i)).held, true);
  assert.is(find(withSte((i) => 0.29 + 0.01 * i + 0.002 * i)).held, 'partly');
});

test('CNN summary: every seed-dependent scalar is a Stat over pairs, and two verdicts per architecture follow the intervals', () => {
  const cnnPair = (i: number) => ({
    endpoints: { testAcc: [0.98, 0.97], testLoss: [0.05, 0.06] },
    curves: { naive: curve(1 + 0.1 * i), wm: curve(0.05 + 0.01 * i) },
    wmNoReset: curve(2),
    l2Ratio: 0.9 + 0.01 * i,
    R: { naive: [0.01 * i, 0.02 * i], wm: [0.1 + 0.01 * i, 0.2 + 0.01 * i] },
    RPerLayer: { naive: { 'features.0.weight': [0, 0] }, wm: { 'features.0.weight': [0.1, 0.2] } },
    wmSweeps: 3,
    invarianceMaxAbsDiff: 1e-7,
  });
  const training = [0, 1, 2, 3, 4, 5].map((seed) => ({ seed, seconds: 10, finalLoss: 0.1 }));
  const c = summariseCnn({ vgg11: { training, pairs: [0, 1, 2].map(cnnPair) } }, PRESETS.quick.cnn, 2000);
  const a = c.archs.vgg11!;
  assert.ok(isStat(a.barrier.wm.lossMaxGap, 3) && isStat(a.l2Ratio, 3) && isStat(a.R.wm!['0.3'], 3) && isStat(a.RPerLayer.wm!['features.0.weight']!['0'], 3));
  assert.is(c.verdicts.length, 2);
  assert.is(c.verdicts[0]!.held, true);
  assert.is(c.verdicts[1]!.held, true);
  // a flat spectrum: R(0.3) = R(0) in every pair makes the R claim not applicable, not 'did not hold'
  const flat = [0, 1, 2].map((i) => ({ ...cnnPair(i), R: { naive: [0.01 * i, 0.01 * i], wm: [0.1 + 0.01 * i, 0.1 + 0.01 * i] } }));
  assert.is(summariseCnn({ vgg11: { training, pairs: flat } }, PRESETS.quick.cnn, 2000).verdicts[1]!.held, null);
});

test('property: a conv kernel read as [out, in kh kw] keeps R = 1 between a network and its permuted copy', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1000 }), fc.constantFrom(...CNN_ARCHS), (seed, arch) => {
      const net = cnnModel(arch, 0.25, seed);
      const spec = cnnSpec(arch, net);
      const a = net.stateDict({ clone: true });
      const pi = randomPermutation(spec, a, seed + 1);
      const b = applyPermutation(spec, pi, a);
      const fa = matricize(spec, a);
      const fb = matricize(spec, b);
      const r = alignmentR(fa.spec, layerSVDs(fa.sd, fa.keys), layerSVDs(fb.sd, fb.keys), invertPermutation(pi), [0]);
      const none = alignmentR(fa.spec, layerSVDs(fa.sd, fa.keys), layerSVDs(fb.sd, fb.keys), null, [0]);
      return Math.abs(r.overall[0]! - 1) < 1e-6 && none.overall[0]! < 0.9;
    }),
    { numRuns: 4 },
  );
});

test.run();
