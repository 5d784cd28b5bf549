import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { curveBarriers, type InterpolationCurve } from '@tsgrad/wm';
import { layerType } from '../wm/gpt.ts';
import { agreement, GAMMAS, type PairResult } from '../wm/mlp.ts';
import { PRESETS } from '../wm/presets.ts';
import { summarise } from '../wm/summary.ts';

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

test('presets share one shape; standard has >= 5 pairs, 5 searches, STE-MM settings, >= 3 GPT pairs', () => {
  const keys = (o: object) => Object.keys(o).sort().join(',');
  assert.is(keys(PRESETS.quick), keys(PRESETS.standard));
  assert.is(keys(PRESETS.full), keys(PRESETS.standard));
  const s = PRESETS.standard;
  assert.ok(s.pairs >= 5 && s.searches >= 5 && s.gpt.pairs >= 3);
  assert.equal(s.ste, { epochs: 10, batchSize: 256, lr: 1e-3 });
  for (const p of Object.values(PRESETS)) for (const k of p.mergeMany) assert.ok(k <= 2 * p.pairs, `MergeMany of ${k} needs ${k} models`);
});

test.run();
