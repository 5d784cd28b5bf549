import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { NDArray } from '@tsgrad/tensor';
import {
  applyPermutation,
  composePermutations,
  invertPermutation,
  maxAbsSpectrumDiff,
  mlpPermutationSpec,
  permSizes,
  permutationSpec,
  randomPermutation,
  singularValues,
  weightMatrixKeys,
} from '../src/index.ts';
import { maxAbsDiff, mlpForward, randomInput, randomMlp } from './helpers.ts';

const widthsArb = fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 3, maxLength: 5 });

test('mlpPermutationSpec: one permutation per hidden layer, (out, in) layout', () => {
  const sd = randomMlp([6, 5, 4, 3], 0);
  const spec = mlpPermutationSpec(sd);
  assert.equal(spec.axesToPerm['fc0.weight'], ['P_fc0', null]);
  assert.equal(spec.axesToPerm['fc1.weight'], ['P_fc1', 'P_fc0']);
  assert.equal(spec.axesToPerm['fc2.weight'], [null, 'P_fc1']);
  assert.equal(spec.axesToPerm['fc2.bias'], [null]);
  assert.equal(permSizes(spec, sd), { P_fc0: 5, P_fc1: 4 });
  assert.equal(
    spec.permToAxes.P_fc0!.map((a) => `${a.key}:${a.axis}`),
    ['fc0.weight:0', 'fc0.bias:0', 'fc1.weight:1'],
  );
});

test('permutationSpec rejects a permutation on two axes of one parameter, and size clashes', () => {
  assert.throws(() => permutationSpec({ w: ['P', 'P'] }), /appears on two axes of 'w'/);
  const spec = permutationSpec({ a: ['P', null], b: [null, 'P'] });
  const sd = { a: NDArray.zeros([3, 2]), b: NDArray.zeros([2, 4]) };
  assert.throws(() => permSizes(spec, sd), /size 3 on 'a' axis 0 \[3, 2\] but 4 on 'b' axis 1/);
  assert.throws(() => permSizes(spec, { a: NDArray.zeros([3, 2]) }), /'b' of the spec is missing/);
});

test('property: a random permutation of a random MLP leaves its outputs unchanged', () => {
  fc.assert(
    fc.property(widthsArb, fc.integer(), (widths, seed) => {
      const sd = randomMlp(widths, seed);
      const spec = mlpPermutationSpec(sd);
      const perm = randomPermutation(spec, sd, seed + 1);
      const x = randomInput(7, widths[0]!, seed + 2);
      const diff = maxAbsDiff(mlpForward(sd, x), mlpForward(applyPermutation(spec, perm, sd), x));
      return diff < 1e-5;
    }),
    { numRuns: 60 },
  );
});

test('the invariance check can fail: a spec that forgets the next layer changes outputs', () => {
  const sd = randomMlp([5, 8, 3], 3);
  const broken = permutationSpec({ 'fc0.weight': ['P', null], 'fc0.bias': ['P'] });
  const perm = randomPermutation(broken, sd, 4);
  const x = randomInput(4, 5, 5);
  assert.ok(maxAbsDiff(mlpForward(sd, x), mlpForward(applyPermutation(broken, perm, sd), x)) > 1e-3);
});

test('property: the inverse permutation restores every weight exactly', () => {
  fc.assert(
    fc.property(widthsArb, fc.integer(), (widths, seed) => {
      const sd = randomMlp(widths, seed);
      const spec = mlpPermutationSpec(sd);
      const perm = randomPermutation(spec, sd, seed ^ 77);
      const back = applyPermutation(spec, invertPermutation(perm), applyPermutation(spec, perm, sd));
      return Object.keys(sd).every((k) => {
        const a = sd[k]!.toTyped();
        const b = back[k]!.toTyped();
        return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
      });
    }),
    { numRuns: 60 },
  );
});

test('property: singular values of every permuted weight are unchanged', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 2, max: 9 }), { minLength: 3, maxLength: 4 }), fc.integer(), (widths, seed) => {
      const sd = randomMlp(widths, seed, 'float64');
      const spec = mlpPermutationSpec(sd);
      const keys = weightMatrixKeys(spec, sd);
      const permuted = applyPermutation(spec, randomPermutation(spec, sd, seed + 9), sd);
      return maxAbsSpectrumDiff(singularValues(sd, keys), singularValues(permuted, keys)) < 1e-12;
    }),
    { numRuns: 30 },
  );
});

test('composePermutations: applying the composite equals applying both in turn', () => {
  const sd = randomMlp([4, 6, 5, 2], 11);
  const spec = mlpPermutationSpec(sd);
  const p1 = randomPermutation(spec, sd, 1);
  const p2 = randomPermutation(spec, sd, 2);
  const twice = applyPermutation(spec, p2, applyPermutation(spec, p1, sd));
  const once = applyPermutation(spec, composePermutations(p1, p2), sd);
  for (const k of Object.keys(sd)) assert.equal(Array.from(once[k]!.toTyped()), Array.from(twice[k]!.toTyped()), k);
});

test('grouped axes move whole blocks (attention heads)', () => {
  // a [4 heads * 2 dims, 3] weight: head h's rows are 2h, 2h + 1.
  const w = NDArray.fromTyped(Float32Array.from({ length: 24 }, (_, i) => i), [8, 3]);
  const spec = permutationSpec({ w: [{ id: 'H', group: 2 }, null] });
  assert.equal(permSizes(spec, { w }), { H: 4 });
  const out = applyPermutation(spec, { H: Int32Array.from([2, 0, 3, 1]) }, { w }).w!;
  const rows = (out.toArray() as number[][]).map((r) => r[0]! / 3);
  assert.equal(rows, [4, 5, 0, 1, 6, 7, 2, 3]);
});

test('applyPermutation rejects a non-permutation and a wrong size', () => {
  const sd = randomMlp([3, 4, 2], 0);
  const spec = mlpPermutationSpec(sd);
  assert.throws(() => applyPermutation(spec, { P_fc0: Int32Array.from([0, 0, 1, 2]) }, sd), /not a permutation/);
  assert.throws(() => applyPermutation(spec, { P_fc0: Int32Array.from([0, 1, 2]) }, sd), /length 3, expected 4/);
});

test.run();
