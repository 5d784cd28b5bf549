import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  alignmentR,
  applyPermutation,
  barriers,
  invertPermutation,
  layerSVDs,
  linspace01,
  mlpPermutationSpec,
  randomPermutation,
  weightMatrixKeys,
} from '../src/index.ts';
import { randomMlp } from './helpers.ts';

const GAMMAS = [0, 0.3, 0.5, 0.7];

test('R = 1 for every gamma when pi(B) equals A', () => {
  const a = randomMlp([12, 10, 8, 4], 1, 'float64');
  const spec = mlpPermutationSpec(a);
  const keys = weightMatrixKeys(spec, a);
  const planted = randomPermutation(spec, a, 2);
  const b = applyPermutation(spec, planted, a);
  const r = alignmentR(spec, layerSVDs(a, keys), layerSVDs(b, keys), invertPermutation(planted), GAMMAS);
  for (const v of r.overall) assert.ok(Math.abs(v - 1) < 1e-9, `R = ${v}`);
  for (const key of keys) for (const v of r.perLayer[key]!) assert.ok(Math.abs(v - 1) < 1e-9);
  // Without the permutation the hidden layers are scrambled, so R falls well below 1.
  const none = alignmentR(spec, layerSVDs(a, keys), layerSVDs(b, keys), null, GAMMAS);
  assert.ok(none.overall[0]! < 0.5, `R without permutation = ${none.overall[0]}`);
});

test('property: permuting the singular vectors equals the SVD of the permuted weights', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 2, max: 8 }), { minLength: 3, maxLength: 4 }), fc.integer(), (widths, seed) => {
      const a = randomMlp(widths, seed, 'float64');
      const b = randomMlp(widths, seed + 1, 'float64');
      const spec = mlpPermutationSpec(a);
      const keys = weightMatrixKeys(spec, a);
      const perm = randomPermutation(spec, a, seed + 2);
      const viaVectors = alignmentR(spec, layerSVDs(a, keys), layerSVDs(b, keys), perm, GAMMAS);
      const viaWeights = alignmentR(spec, layerSVDs(a, keys), layerSVDs(applyPermutation(spec, perm, b), keys), null, GAMMAS);
      return viaVectors.overall.every((v, i) => Math.abs(v - viaWeights.overall[i]!) < 1e-8);
    }),
    { numRuns: 25 },
  );
});

test('R counts only the large singular values at higher gamma', () => {
  const a = randomMlp([30, 20, 3], 4, 'float64');
  const b = randomMlp([30, 20, 3], 5, 'float64');
  const spec = mlpPermutationSpec(a);
  const keys = weightMatrixKeys(spec, a);
  const r = alignmentR(spec, layerSVDs(a, keys), layerSVDs(b, keys), null, GAMMAS);
  const c = r.counts['fc0.weight']!;
  assert.is(c[0], 20);
  assert.ok(c[1]! <= c[0]! && c[2]! <= c[1]! && c[3]! <= c[2]! && c[3]! >= 1);
  // Unrelated random matrices: near 0.
  assert.ok(Math.abs(r.overall[0]!) < 0.3, `R = ${r.overall[0]}`);
});

test('barriers: the three definitions on hand-made curves', () => {
  const lam = [0, 0.25, 0.5, 0.75, 1];
  // Convex path between unequal endpoints: only maxMinusMean sees a "barrier" (its floor).
  const convex = barriers(lam, [1, 0.8, 0.7, 0.8, 2]);
  assert.ok(Math.abs(convex.maxMinusMean - 0.5) < 1e-12);
  assert.ok(Math.abs(convex.maxGapToLinear - 0) < 1e-12);
  assert.ok(Math.abs(convex.midpoint - -0.8) < 1e-12);
  const bump = barriers(lam, [0.1, 0.3, 0.5, 0.3, 0.1]);
  assert.ok(Math.abs(bump.maxMinusMean - 0.4) < 1e-12);
  assert.ok(Math.abs(bump.maxGapToLinear - 0.4) < 1e-12);
  assert.ok(Math.abs(bump.midpoint - 0.4) < 1e-12);
  const acc = barriers([0, 0.5, 1], [0.98, 0.9, 0.96], { higherIsBetter: true });
  assert.ok(Math.abs(acc.maxMinusMean - 0.07) < 1e-12);
  assert.ok(Math.abs(acc.midpoint - 0.07) < 1e-12);
  // 1/2 off the grid: linear interpolation between its neighbours.
  assert.ok(Math.abs(barriers([0, 0.4, 0.6, 1], [0, 1, 3, 0]).midpoint - 2) < 1e-12);
  assert.throws(() => barriers([0.1, 1], [1, 2]), /from 0 to 1/);
  assert.equal(linspace01(3), [0, 0.5, 1]);
  assert.is(linspace01(25)[12], 0.5);
});

test.run();
