import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { GPT } from '@tsgrad/nn';
import { NDArray, Rng } from '@tsgrad/tensor';
import { applyWithinHeads, checkInvariance, l2Distance, matchWithinHeads, type WithinHeadPerms } from '../src/index.ts';

const cfg = { vocabSize: 11, contextLength: 8, dModel: 12, nHeads: 3, nLayers: 2 };

function tokens(seed: number): NDArray {
  const rng = new Rng(seed);
  return NDArray.fromTyped(Int32Array.from({ length: 16 }, () => rng.int(0, cfg.vocabSize)), [2, 8], 'int32');
}

/** A random permutation inside each head of each block. */
function randomWithin(seed: number): WithinHeadPerms {
  const rng = new Rng(seed);
  const hd = cfg.dModel / cfg.nHeads;
  const one = () => {
    const idx = new Int32Array(cfg.dModel);
    for (let h = 0; h < cfg.nHeads; h++) {
      const p = rng.permutation(hd);
      for (let i = 0; i < hd; i++) idx[h * hd + i] = h * hd + p[i]!;
    }
    return idx;
  };
  return Object.fromEntries(Array.from({ length: cfg.nLayers }, (_, b) => [`blocks.${b}`, { qk: one(), vo: one() }]));
}

test('property: a within-head permutation keeps the GPT function', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1000 }), (seed) => {
      const net = new GPT({ ...cfg, seed });
      const sd = net.stateDict({ clone: true });
      assert.ok(checkInvariance(net, applyWithinHeads(sd, randomWithin(seed + 1)), tokens(seed)).ok);
    }),
    { numRuns: 5 },
  );
});

test('a planted within-head permutation is undone exactly; the objective never decreases', () => {
  const sdA = new GPT({ ...cfg, seed: 3 }).stateDict({ clone: true });
  const sdB = applyWithinHeads(sdA, randomWithin(9));
  assert.ok(l2Distance(sdA, sdB) > 0.1);
  const res = matchWithinHeads(sdA, sdB, cfg.nHeads);
  assert.ok(l2Distance(sdA, res.params) < 1e-6, `distance ${l2Distance(sdA, res.params)}`);
  assert.ok(res.after >= res.before);
  const other = new GPT({ ...cfg, seed: 4 });
  const m = matchWithinHeads(sdA, other.stateDict({ clone: true }), cfg.nHeads);
  assert.ok(m.after >= m.before - 1e-9);
  assert.ok(checkInvariance(other, m.params, tokens(1)).ok);
});

test('matchWithinHeads names a bad head count', () => {
  const sd = new GPT({ ...cfg, seed: 1 }).stateDict();
  assert.throws(() => matchWithinHeads(sd, sd, 5), /nHeads must divide 12, got 5/);
});

test.run();
