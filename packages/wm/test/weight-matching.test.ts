import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  applyPermutation,
  identityPermutation,
  innerProduct,
  invertPermutation,
  l2Distance,
  mlpPermutationSpec,
  permutationSpec,
  randomPermutation,
  weightMatching,
  type StateDict,
} from '../src/index.ts';
import { addNoise, randomMlp } from './helpers.ts';

test('WM recovers a planted permutation: B = pi(A) + small noise', () => {
  const a = randomMlp([20, 32, 32, 32, 5], 1);
  const spec = mlpPermutationSpec(a);
  const planted = randomPermutation(spec, a, 2);
  const b = addNoise(applyPermutation(spec, planted, a), 0.01, 3);
  const res = weightMatching(spec, a, b, { seed: 4 });
  const want = invertPermutation(planted);
  for (const id of Object.keys(want)) assert.equal(Array.from(res.perm[id]!), Array.from(want[id]!), id);
  assert.ok(res.converged);
  assert.ok(l2Distance(a, applyPermutation(spec, res.perm, b)) < 0.2 * l2Distance(a, b));
});

test('WM from a noiseless planted permutation aligns exactly (distance 0)', () => {
  const a = randomMlp([8, 16, 12, 3], 5, 'float64');
  const spec = mlpPermutationSpec(a);
  const b = applyPermutation(spec, randomPermutation(spec, a, 6), a);
  const res = weightMatching(spec, a, b, { seed: 0 });
  assert.is(l2Distance(a, applyPermutation(spec, res.perm, b)), 0);
});

test('property: the WM objective never decreases over sweeps and equals <A, pi(B)>', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 2, max: 10 }), { minLength: 3, maxLength: 5 }),
      fc.integer(),
      (widths, seed) => {
        const a = randomMlp(widths, seed);
        const b = randomMlp(widths, seed + 1);
        const spec = mlpPermutationSpec(a);
        const res = weightMatching(spec, a, b, { seed });
        for (let s = 1; s < res.objective.length; s++) {
          if (res.objective[s]! < res.objective[s - 1]!) return false;
        }
        const final = innerProduct(a, applyPermutation(spec, res.perm, b));
        return Math.abs(final - res.objective[res.objective.length - 1]!) < 1e-9 * Math.max(1, Math.abs(final));
      },
    ),
    { numRuns: 40 },
  );
});

test('property: a converged WM is optimal in every permutation alone (a fresh sweep from its result finds no gain)', () => {
  // WM skips a permutation whose cost matrix cannot have changed since its last LAP; a wrong
  // dependency there would stop it early, which a fresh call (no skipping) would then improve
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 2, max: 8 }), { minLength: 4, maxLength: 6 }), fc.integer(), (widths, seed) => {
      const a = randomMlp(widths, seed, 'float64');
      const b = randomMlp(widths, seed + 1, 'float64');
      const spec = mlpPermutationSpec(a);
      const res = weightMatching(spec, a, b, { seed });
      if (!res.converged) return true;
      const again = weightMatching(spec, a, b, { seed: seed + 7, initPerm: res.perm, maxIter: 1 });
      return again.objective.length === 2 && again.objective[1] === again.objective[0] && again.converged;
    }),
    { numRuns: 60 },
  );
});

test('float32 cost matrices recover a planted permutation under small noise, as float64 does', () => {
  const a = randomMlp([20, 32, 32, 32, 5], 1);
  const spec = mlpPermutationSpec(a);
  const planted = randomPermutation(spec, a, 2);
  const b = addNoise(applyPermutation(spec, planted, a), 0.01, 3);
  const res = weightMatching(spec, a, b, { seed: 4, costDtype: 'float32' });
  const want = invertPermutation(planted);
  for (const id of Object.keys(want)) assert.equal(Array.from(res.perm[id]!), Array.from(want[id]!), id);
  assert.ok(res.converged);
});

test('property: float32 cost matrices find the same permutations as float64, the objective rising up to float32 rounding', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 2, max: 12 }), { minLength: 3, maxLength: 5 }), fc.integer(), fc.boolean(), (widths, seed, planted) => {
      const a = randomMlp(widths, seed);
      const spec = mlpPermutationSpec(a);
      const b = planted ? applyPermutation(spec, randomPermutation(spec, a, seed + 1), a) : randomMlp(widths, seed + 2);
      const r64 = weightMatching(spec, a, b, { seed });
      const r32 = weightMatching(spec, a, b, { seed, costDtype: 'float32' });
      for (const id of Object.keys(r64.perm)) if (Array.from(r64.perm[id]!).join() !== Array.from(r32.perm[id]!).join()) return false;
      const o = r32.objective;
      for (let s = 1; s < o.length; s++) if (o[s]! < o[s - 1]! - 1e-4 * Math.max(1, Math.abs(o[s - 1]!))) return false;
      return true;
    }),
    { numRuns: 60 },
  );
});

test('WM reduces the distance and the objective increases overall on unrelated models', () => {
  const a = randomMlp([10, 24, 24, 4], 7);
  const b = randomMlp([10, 24, 24, 4], 8);
  const spec = mlpPermutationSpec(a);
  const res = weightMatching(spec, a, b, { seed: 1 });
  assert.ok(res.objective.at(-1)! > res.objective[0]!);
  assert.ok(l2Distance(a, applyPermutation(spec, res.perm, b)) < l2Distance(a, b));
  assert.is(res.objective.length, res.sweeps + 1);
});

/** Every permutation of 0..n-1. */
function allPerms(n: number): Int32Array[] {
  if (n === 0) return [new Int32Array(0)];
  const out: Int32Array[] = [];
  for (const p of allPerms(n - 1)) {
    for (let pos = 0; pos <= p.length; pos++) {
      const q = Array.from(p);
      q.splice(pos, 0, n - 1);
      out.push(Int32Array.from(q));
    }
  }
  return out;
}

test('property: with one hidden layer WM is exact (matches brute force over all permutations)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 6 }), fc.integer(), (n, seed) => {
      const a = randomMlp([3, n, 2], seed);
      const b = randomMlp([3, n, 2], seed + 100);
      const spec = mlpPermutationSpec(a);
      let best = -Infinity;
      for (const p of allPerms(n)) best = Math.max(best, innerProduct(a, applyPermutation(spec, { P_fc0: p }, b)));
      const res = weightMatching(spec, a, b);
      return Math.abs(res.objective.at(-1)! - best) < 1e-9 && res.sweeps <= 2;
    }),
    { numRuns: 40 },
  );
});

test('initPerm is the starting point and maxIter bounds the sweeps', () => {
  const a = randomMlp([6, 9, 9, 9, 3], 21);
  const b = randomMlp([6, 9, 9, 9, 3], 22);
  const spec = mlpPermutationSpec(a);
  const init = randomPermutation(spec, a, 5);
  const res = weightMatching(spec, a, b, { initPerm: init, maxIter: 1 });
  assert.is(res.sweeps, 1);
  assert.ok(Math.abs(res.objective[0]! - innerProduct(a, applyPermutation(spec, init, b))) < 1e-9);
  // A converged result is a fixed point: starting from it, one sweep changes nothing.
  const full = weightMatching(spec, a, b, { seed: 3 });
  const again = weightMatching(spec, a, b, { initPerm: full.perm, initDuals: full.duals, seed: 9 });
  assert.is(again.sweeps, 1);
  for (const id of Object.keys(full.perm)) assert.equal(Array.from(again.perm[id]!), Array.from(full.perm[id]!));
});

test('WM handles grouped (head) permutations: recovers a planted head permutation', () => {
  // A toy "attention" layer pair: q (H*d, in), o (out, H*d), heads permuted as blocks.
  const h = 5;
  const d = 3;
  const base = randomMlp([7, h * d, 4], 31);
  const spec = permutationSpec({
    'fc0.weight': [{ id: 'H', group: d }, null],
    'fc0.bias': [{ id: 'H', group: d }],
    'fc1.weight': [null, { id: 'H', group: d }],
  });
  const planted = { H: Int32Array.from([3, 0, 4, 1, 2]) };
  const b: StateDict = applyPermutation(spec, planted, base);
  const res = weightMatching(spec, base, b);
  assert.equal(Array.from(res.perm.H!), Array.from(invertPermutation(planted).H!));
});

test('weightMatching names shapes in its errors', () => {
  const a = randomMlp([3, 4, 2], 0);
  const b = randomMlp([3, 5, 2], 0);
  assert.throws(() => weightMatching(mlpPermutationSpec(a), a, b), /'P_fc0' has size 4 in A but 5 in B/);
  const spec = mlpPermutationSpec(a);
  assert.throws(() => weightMatching(spec, a, a, { initPerm: {} }), /initPerm lacks permutation 'P_fc0'/);
  assert.ok(identityPermutation(spec, a).P_fc0!.length === 4);
});

test.run();
