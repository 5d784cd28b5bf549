/**
 * What wm refuses instead of returning a wrong answer (issue 10): LAP cells that are not
 * numbers, warm duals so large that rounding would pick the assignment, non-permutations
 * given to invert/compose, NaN or fractional counts in weight matching and STE, and NaN
 * weights or activations (named by parameter or module).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { MLP } from '@tsgrad/nn';
import { NDArray, Rng } from '@tsgrad/tensor';
import {
  activationMatching,
  composePermutations,
  invertPermutation,
  linearSumAssignment,
  mergeMany,
  mlpFeatureSources,
  mlpPermutationSpec,
  steMatching,
  toBatches,
  weightMatching,
  type StateDict,
} from '../src/index.ts';
import { randomInput } from './helpers.ts';

function throwsMatching(fn: () => unknown, re: RegExp): void {
  try {
    fn();
  } catch (e) {
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`expected an error matching ${re}`);
}

/** The optimum by trying every permutation (n <= 6). */
function bruteForce(cost: number[][]): number {
  const n = cost.length;
  let best = Infinity;
  const used = new Array<boolean>(n).fill(false);
  const walk = (i: number, acc: number): void => {
    if (i === n) {
      best = Math.min(best, acc);
      return;
    }
    for (let j = 0; j < n; j++) {
      if (used[j]) continue;
      used[j] = true;
      walk(i + 1, acc + cost[i]![j]!);
      used[j] = false;
    }
  };
  walk(0, 0);
  return best;
}

// ------------------------------------------------------------ LAP

test('LAP refuses null, string, undefined and NaN cells, naming the position', () => {
  throwsMatching(() => linearSumAssignment([[1, 2], [null as unknown as number, 4]]), /cost matrix \[2, 2\] has null at \[1, 0\], not a number/);
  throwsMatching(() => linearSumAssignment([[1, '2' as unknown as number], [3, 4]]), /has the string "2" at \[0, 1\], not a number/);
  throwsMatching(() => linearSumAssignment([[1, 2], [3, undefined as unknown as number]]), /has a undefined at \[1, 1\]/);
  throwsMatching(() => linearSumAssignment([[1, 2], [3, NaN]]), /invalid numeric entries \(NaN at \[1, 1\]\)/);
  throwsMatching(() => linearSumAssignment({ rows: 1, cols: 2, data: [1, null as unknown as number] }), /has null at \[0, 1\]/);
  throwsMatching(() => linearSumAssignment([[1, , 3] as number[], [1, 2, 3]]), /has a undefined at \[0, 1\]/);
});

test('LAP: any non-number cell is refused with its position (property)', () => {
  const junk = fc.constantFrom<unknown>(null, undefined, '1', '', true, {}, [1]);
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.nat(), junk, (m, n, at, bad) => {
      const cost: unknown[][] = Array.from({ length: m }, (_, i) => Array.from({ length: n }, (_, j) => i + 2 * j));
      const k = at % (m * n);
      cost[Math.floor(k / n)]![k % n] = bad;
      throwsMatching(() => linearSumAssignment(cost as number[][]), new RegExp(`at \\[${Math.floor(k / n)}, ${k % n}\\], not a number`));
    }),
    { numRuns: 100, seed: 3 },
  );
});

test('LAP warm start with huge duals (1e16 to 1e300) still returns an optimal assignment', () => {
  // the case that used to fail: prices of 1e16 swamp costs of order 1
  const cost = [[3, 1, 2], [2, 3, 1], [1, 2, 4]];
  const r = linearSumAssignment(cost, { initDuals: { v: [1e16, 0, -1e16] } });
  assert.is(r.total, bruteForce(cost));
  assert.is(r.warmStarted, false, 'prices this large are ignored');
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5 }).chain((n) =>
        fc.tuple(
          fc.array(fc.array(fc.integer({ min: -20, max: 20 }), { minLength: n, maxLength: n }), { minLength: n, maxLength: n }),
          fc.array(fc.tuple(fc.double({ min: 16, max: 300, noNaN: true }), fc.boolean()), { minLength: n, maxLength: n }),
        ),
      ),
      fc.boolean(),
      ([cost, exps], maximize) => {
        const v = exps.map(([e, neg]) => (neg ? -1 : 1) * 10 ** e);
        const warm = linearSumAssignment(cost, { maximize, initDuals: { v } });
        const want = maximize ? -bruteForce(cost.map((row) => row.map((x) => -x))) : bruteForce(cost);
        assert.is(warm.total, want);
      },
    ),
    { numRuns: 200, seed: 11 },
  );
});

test('LAP warm start with prices of a sensible scale is still used', () => {
  const cost = [[3, 1, 2], [2, 3, 1], [1, 2, 4]];
  const r = linearSumAssignment(cost, { initDuals: { v: [100, -50, 7] } });
  assert.is(r.warmStarted, true);
  assert.is(r.total, bruteForce(cost));
  // huge but equal prices are only a shift: still used, still optimal
  const s = linearSumAssignment(cost, { initDuals: { v: [1e300, 1e300, 1e300] } });
  assert.is(s.warmStarted, true);
  assert.is(s.total, bruteForce(cost));
});

// ------------------------------------------------------------ permutations

const permLike = fc.array(fc.integer({ min: -1, max: 5 }), { minLength: 0, maxLength: 5 });
const isPerm = (p: number[]) => [...p].sort((a, b) => a - b).every((v, i) => v === i);

test('invertPermutation and composePermutations refuse non-permutations, naming the id (property)', () => {
  fc.assert(
    fc.property(permLike, (p) => {
      const P = { P_x: Int32Array.from(p) };
      if (isPerm(p)) {
        const inv = invertPermutation(P).P_x!;
        assert.equal(Array.from(p, (_, i) => p[inv[i]!]), Array.from(p, (_, i) => i));
        assert.equal(Array.from(composePermutations(P, invertPermutation(P)).P_x!), p.map((_, i) => i).map((i) => p[inv[i]!]!));
      } else {
        throwsMatching(() => invertPermutation(P), /^invertPermutation: 'P_x': not a permutation of 0\.\./);
        const id = { P_x: Int32Array.from(p, (_, i) => i) };
        throwsMatching(() => composePermutations(P, id), /^composePermutations: first 'P_x': not a permutation/);
        throwsMatching(() => composePermutations(id, P), /^composePermutations: second 'P_x': not a permutation/);
      }
    }),
    { numRuns: 200, seed: 5 },
  );
  throwsMatching(() => invertPermutation({ P: [0, 0.5] as unknown as Int32Array }), /entry 1 is 0.5/);
  throwsMatching(() => invertPermutation({ P: Int32Array.from([1, 1]) }), /1 appears twice, again at entry 1/);
  throwsMatching(() => composePermutations({ P: Int32Array.from([0]), Q: Int32Array.from([0]) }, { P: Int32Array.from([0]) }), /'Q' is in first but not in second/);
});

// ------------------------------------------------------------ weight matching, STE, activation matching

function mlps(): { spec: ReturnType<typeof mlpPermutationSpec>; a: StateDict; b: StateDict; net: MLP } {
  const net = new MLP([4, 6, 3], { seed: 1 });
  return { spec: mlpPermutationSpec(net), a: net.stateDict({ clone: true }), b: new MLP([4, 6, 3], { seed: 2 }).stateDict(), net };
}

function batches(seed: number) {
  const rng = new Rng(seed);
  const y = NDArray.fromTyped(Int32Array.from({ length: 16 }, () => rng.int(0, 3)), [16], 'int32');
  return toBatches(randomInput(16, 4, seed), y, 8);
}

test('weightMatching refuses NaN, fractional, zero and infinite maxIter and a fractional seed', () => {
  const { spec, a, b } = mlps();
  for (const bad of [NaN, 0, -1, 1.5, Infinity]) {
    throwsMatching(() => weightMatching(spec, a, b, { maxIter: bad }), new RegExp(`^weightMatching: maxIter must be an integer >= 1, got ${bad}`));
  }
  throwsMatching(() => weightMatching(spec, a, b, { seed: NaN }), /^weightMatching: seed must be an integer/);
  throwsMatching(() => weightMatching(spec, a, b, { costDtype: 'float16' as never }), /^weightMatching: costDtype must be 'float64' or 'float32', got float16/);
  assert.is(weightMatching(spec, a, b, { maxIter: 1 }).sweeps, 1);
});

test('mergeMany refuses a NaN or fractional maxIter', () => {
  const { spec, a, b } = mlps();
  const models = [a, b].map((sd) => ({ stateDict: () => sd }));
  throwsMatching(() => mergeMany(spec, models, { maxIter: NaN }), /^mergeMany: maxIter must be an integer >= 1, got NaN/);
  throwsMatching(() => mergeMany(spec, models, { maxIter: 2.5 }), /^mergeMany: maxIter must be an integer >= 1, got 2.5/);
});

test('weightMatching names the parameter and the model that holds a NaN', () => {
  const { spec, a, b } = mlps();
  const key = 'layers.1.weight';
  const bad = { ...b, [key]: b[key]!.contiguous().astype('float32') };
  bad[key]!.data[5] = NaN;
  throwsMatching(() => weightMatching(spec, a, bad), /^weightMatching: parameter 'layers\.1\.weight' of B holds NaN at flat index 5/);
  const inf = { ...a, 'layers.0.bias': NDArray.fromTyped(Float32Array.from({ length: 6 }, (_, i) => (i === 2 ? Infinity : 0)), [6]) };
  throwsMatching(() => weightMatching(spec, inf, b), /parameter 'layers\.0\.bias' of A holds Infinity at flat index 2/);
  const missing = { ...b };
  delete missing['layers.0.weight'];
  throwsMatching(() => weightMatching(spec, a, missing), /'layers\.0\.weight' is missing from B's state dict/);
});

test('steMatching refuses NaN and out-of-range numeric options, naming them', () => {
  const { spec, a, b, net } = mlps();
  const data = batches(3);
  throwsMatching(() => steMatching(spec, net, a, b, data, { maxIter: NaN }), /^steMatching: maxIter must be an integer >= 1, got NaN/);
  throwsMatching(() => steMatching(spec, net, a, b, data, { epochs: 0 }), /^steMatching: epochs must be an integer >= 1, got 0/);
  throwsMatching(() => steMatching(spec, net, a, b, data, { lr: NaN }), /^steMatching: lr must be a finite number in \[0, Infinity\], got NaN/);
  throwsMatching(() => steMatching(spec, net, a, b, data, { momentum: 1 }), /^steMatching: momentum must be a finite number in \[0, 1\), got 1/);
  throwsMatching(() => steMatching(spec, net, a, b, data, { optimizer: 'rmsprop' as 'sgd' }), /^steMatching: optimizer must be 'adam' or 'sgd'/);
});

test('activationMatching refuses no batches and names the module whose activations are not finite', () => {
  const { spec } = mlps();
  const a = new MLP([4, 6, 3], { seed: 1 });
  const b = new MLP([4, 6, 3], { seed: 2 });
  const features = mlpFeatureSources(spec);
  throwsMatching(() => activationMatching(spec, a, b, [], { features }), /^activationMatching: the data yielded no batches/);
  const sd = b.stateDict({ clone: true });
  sd['layers.0.bias']!.data[1] = NaN;
  b.loadStateDict(sd);
  throwsMatching(() => activationMatching(spec, a, b, batches(4), { features }), /^activationMatching: features of module 'layers\.0' \(permutation 'P_layers\.0'\) give a non-finite correlation NaN/);
});

test.run();
