import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { alignmentR, applyPermutation, invertPermutation, layerSVDs, mlpPermutationSpec, randomPermutation, weightMatrixKeys } from '../src/index.ts';
import { randomMlp } from './helpers.ts';

const GAMMAS = [0, 0.3];
const VARIANTS = ['cross', 'diagonal'] as const;
const widthsArb = fc.array(fc.integer({ min: 2, max: 7 }), { minLength: 3, maxLength: 4 });

test('property: R of a model with itself is 1 for both variants and every gamma', () => {
  fc.assert(
    fc.property(widthsArb, fc.integer(), (widths, seed) => {
      const a = randomMlp(widths, seed, 'float64');
      const spec = mlpPermutationSpec(a);
      const svd = layerSVDs(a, weightMatrixKeys(spec, a));
      for (const variant of VARIANTS) {
        const r = alignmentR(spec, svd, svd, null, GAMMAS, { variant });
        for (const v of r.overall) assert.ok(Math.abs(v - 1) < 1e-9, `${variant}: R(A, A) = ${v}`);
      }
    }),
    { numRuns: 25 },
  );
});

test('property: R is unchanged when A and B are permuted jointly (and the matching permutation conjugated)', () => {
  fc.assert(
    fc.property(widthsArb, fc.integer(), (widths, seed) => {
      const a = randomMlp(widths, seed, 'float64');
      const b = randomMlp(widths, seed + 1, 'float64');
      const spec = mlpPermutationSpec(a);
      const keys = weightMatrixKeys(spec, a);
      const q = randomPermutation(spec, a, seed + 2);
      const pa = applyPermutation(spec, q, a);
      const pb = applyPermutation(spec, q, b);
      for (const variant of VARIANTS) {
        const r0 = alignmentR(spec, layerSVDs(a, keys), layerSVDs(b, keys), null, GAMMAS, { variant });
        const r1 = alignmentR(spec, layerSVDs(pa, keys), layerSVDs(pb, keys), null, GAMMAS, { variant });
        r0.overall.forEach((v, i) => assert.ok(Math.abs(v - r1.overall[i]!) < 1e-9, `${variant}: ${v} vs ${r1.overall[i]}`));
      }
    }),
    { numRuns: 25 },
  );
});

test('property: R lies in [-1, 1] per layer and overall (Cauchy-Schwarz on orthogonal blocks)', () => {
  fc.assert(
    fc.property(widthsArb, fc.integer(), fc.constantFrom(0, 0.3, 0.6), (widths, seed, gamma) => {
      const a = randomMlp(widths, seed, 'float64');
      const b = randomMlp(widths, seed + 7, 'float64');
      const spec = mlpPermutationSpec(a);
      const keys = weightMatrixKeys(spec, a);
      const perm = randomPermutation(spec, a, seed + 3);
      for (const variant of VARIANTS) {
        const r = alignmentR(spec, layerSVDs(a, keys), layerSVDs(b, keys), perm, [gamma], { variant });
        assert.ok(Math.abs(r.overall[0]!) <= 1 + 1e-9, `${variant} overall ${r.overall[0]}`);
        for (const k of keys) assert.ok(Math.abs(r.perLayer[k]![0]!) <= 1 + 1e-9, `${variant} ${k} ${r.perLayer[k]![0]}`);
      }
    }),
    { numRuns: 25 },
  );
});

test('the diagonal variant never exceeds 1 and differs from the cross variant on unrelated models', () => {
  const a = randomMlp([10, 9, 8, 3], 4, 'float64');
  const b = randomMlp([10, 9, 8, 3], 5, 'float64');
  const spec = mlpPermutationSpec(a);
  const keys = weightMatrixKeys(spec, a);
  const cross = alignmentR(spec, layerSVDs(a, keys), layerSVDs(b, keys), null, [0]);
  const diag = alignmentR(spec, layerSVDs(a, keys), layerSVDs(b, keys), null, [0], { variant: 'diagonal' });
  assert.ok(Math.abs(cross.overall[0]! - diag.overall[0]!) > 1e-6);
  // the denominator counts the kept singular values only: gamma 0 keeps all of them
  assert.equal(cross.counts[keys[0]!]![0], Math.min(9, 10));
});

test('a planted permutation recovers R = 1 with the diagonal variant too', () => {
  const a = randomMlp([12, 10, 8, 4], 1, 'float64');
  const spec = mlpPermutationSpec(a);
  const keys = weightMatrixKeys(spec, a);
  const planted = randomPermutation(spec, a, 2);
  const b = applyPermutation(spec, planted, a);
  const r = alignmentR(spec, layerSVDs(a, keys), layerSVDs(b, keys), invertPermutation(planted), GAMMAS, { variant: 'diagonal' });
  for (const v of r.overall) assert.ok(Math.abs(v - 1) < 1e-9, `R = ${v}`);
});

test('alignmentR names a bad variant', () => {
  const a = randomMlp([4, 3, 2], 1, 'float64');
  const spec = mlpPermutationSpec(a);
  const svd = layerSVDs(a, weightMatrixKeys(spec, a));
  assert.throws(() => alignmentR(spec, svd, svd, null, [0], { variant: 'both' as never }), /variant must be 'cross' or 'diagonal', got 'both'/);
});

test.run();
