import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { distributeRanks, maxComponents, pyRound, type RankLayer } from '../src/rank-distribution.ts';

/** Random layers: some share a hook (equal inputs), ratios descending in (0, 1). */
const scenario = fc
  .record({
    nLayers: fc.integer({ min: 1, max: 8 }),
    r: fc.integer({ min: 1, max: 6 }),
    rho: fc.constantFrom(1, 1.5, 2, 3),
    groupSeed: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 8, maxLength: 8 }),
    raw: fc.array(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 20, maxLength: 20 }), { minLength: 8, maxLength: 8 }),
    quantize: fc.boolean(),
  })
  .map(({ nLayers, r, rho, groupSeed, raw, quantize }) => {
    const cap = maxComponents(r, rho);
    const layers: RankLayer[] = [];
    for (let i = 0; i < nLayers; i++) {
      // layer i shares the hook of an earlier layer when groupSeed says so
      const g = groupSeed[i]!;
      const hook = g === 0 && i > 0 ? layers[i - 1]!.hook : `l${i}`;
      layers.push({ name: `l${i}`, hook, cap });
    }
    const ratios: Record<string, number[]> = {};
    for (let i = 0; i < nLayers; i++) {
      // quantized values create many exact ties
      const v = raw[i]!.map((x) => (quantize ? Math.round(x * 4) / 4 : x)).sort((a, b) => b - a);
      ratios[`l${i}`] = v;
    }
    return { layers, ratios, budget: r * nLayers, r, rho, cap };
  });

test('distributeRanks: ranks sum to the budget, none exceeds round(rho r), hook holds its group maximum', () => {
  fc.assert(
    fc.property(scenario, ({ layers, ratios, budget, cap }) => {
      const ranks = distributeRanks(layers, ratios, budget);
      let sum = 0;
      for (const l of layers) {
        const k = ranks.get(l.name)!;
        assert.ok(k >= 0 && k <= cap, `${l.name}: rank ${k} outside [0, ${cap}]`);
        sum += k;
        assert.ok(ranks.get(l.hook)! >= k, `hook ${l.hook} has fewer ranks than ${l.name}`);
      }
      assert.is(sum, budget);
    }),
    { numRuns: 300 },
  );
});

test('distributeRanks: rho = 1 gives uniform ranks', () => {
  fc.assert(
    fc.property(scenario, ({ layers, ratios, r }) => {
      const uniform = layers.map((l) => ({ ...l, cap: maxComponents(r, 1) }));
      const ranks = distributeRanks(uniform, ratios, r * layers.length);
      for (const l of layers) assert.is(ranks.get(l.name), r);
    }),
    { numRuns: 200 },
  );
});

test('distributeRanks: the kept ratios are the largest ones (threshold property)', () => {
  fc.assert(
    fc.property(scenario, ({ layers, ratios, budget }) => {
      // without equal-input groups no swap happens, so counts are exactly the top-budget split
      const solo = layers.map((l) => ({ ...l, hook: l.name }));
      const ranks = distributeRanks(solo, ratios, budget);
      let minKept = Infinity;
      let maxDropped = -Infinity;
      for (const l of solo) {
        const k = ranks.get(l.name)!;
        const v = ratios[l.name]!.slice(0, l.cap);
        if (k > 0) minKept = Math.min(minKept, v[k - 1]!);
        if (k < v.length) maxDropped = Math.max(maxDropped, v[k]!);
      }
      assert.ok(minKept >= maxDropped, `kept ${minKept} < dropped ${maxDropped}`);
    }),
    { numRuns: 200 },
  );
});

test('distributeRanks: ties are broken by layer order, deterministically', () => {
  const layers = ['a', 'b', 'c'].map((n) => ({ name: n, hook: n, cap: 4 }));
  const ratios = { a: [0.2, 0.1, 0.1, 0.1], b: [0.2, 0.1, 0.1, 0.1], c: [0.2, 0.1, 0.1, 0.1] };
  const ranks = distributeRanks(layers, ratios, 6);
  assert.equal([...ranks.entries()], [['a', 4], ['b', 1], ['c', 1]]);
  assert.equal([...distributeRanks(layers, ratios, 6).entries()], [...ranks.entries()]);
});

test('distributeRanks: zero ranks are allowed and equal-input groups swap so the hook has the most', () => {
  const layers = [
    { name: 'q', hook: 'q', cap: 4 },
    { name: 'k', hook: 'q', cap: 4 },
    { name: 'fc', hook: 'fc', cap: 4 },
  ];
  const ranks = distributeRanks(layers, { q: [0.5, 0.4, 0.01, 0.0], fc: [0.001, 0, 0, 0] }, 4);
  assert.equal([...ranks.entries()], [['q', 2], ['k', 2], ['fc', 0]]);
  // a hook that lost a tie to its group member gets the larger count back
  const r2 = distributeRanks(layers, { q: [0.5, 0.4, 0.3, 0.0], fc: [0.3, 0, 0, 0] }, 5);
  assert.ok(r2.get('q')! >= r2.get('k')!);
  assert.is([...r2.values()].reduce((a, b) => a + b, 0), 5);
});

test('pyRound rounds half to even like Python; maxComponents validates rho', () => {
  assert.equal([0.5, 1.5, 2.5, 7.5, 2.4, 2.6, 16].map(pyRound), [0, 2, 2, 8, 2, 3, 16]);
  assert.is(maxComponents(8, 2), 16);
  assert.is(maxComponents(5, 1.5), 8);
  assert.throws(() => maxComponents(8, 0.5), /rho must be >= 1/);
  assert.throws(() => distributeRanks([{ name: 'a', hook: 'x', cap: 1 }], {}, 1), /no ratios for hook layer 'x'/);
});

test.run();
