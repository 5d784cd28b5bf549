import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { munkres } from 'munkres';
import { linearSumAssignment, type LinearSumAssignmentResult } from '../src/index.ts';

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** Small seeded generator (mulberry32) for the larger matrices; fast-check supplies the seeds. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomMatrix(m: number, n: number, seed: number, scale = 1): number[][] {
  const rnd = seeded(seed);
  return Array.from({ length: m }, () => Array.from({ length: n }, () => scale * rnd()));
}

/** Optimal total by enumerating every injective map from the short side to the long side. */
function bruteForce(cost: number[][], maximize = false): number {
  const m = cost.length;
  const n = m === 0 ? 0 : cost[0]!.length;
  const k = Math.min(m, n);
  const at = (a: number, b: number) => (m <= n ? cost[a]![b]! : cost[b]![a]!);
  const long = Math.max(m, n);
  const used = new Array<boolean>(long).fill(false);
  let best = maximize ? -Infinity : Infinity;
  const go = (a: number, acc: number) => {
    if (a === k) {
      if (maximize ? acc > best : acc < best) best = acc;
      return;
    }
    for (let b = 0; b < long; b++) {
      if (used[b]) continue;
      used[b] = true;
      go(a + 1, acc + at(a, b));
      used[b] = false;
    }
  };
  go(0, 0);
  return best;
}

/** rowInd ascending, distinct columns, min(m, n) pairs, total equal to the matched entries. */
function assertValid(cost: number[][], r: LinearSumAssignmentResult): void {
  const m = cost.length;
  const n = m === 0 ? 0 : cost[0]!.length;
  const k = Math.min(m, n);
  assert.is(r.rowInd.length, k);
  assert.is(r.colInd.length, k);
  const seen = new Set<number>();
  let sum = 0;
  for (let t = 0; t < k; t++) {
    const i = r.rowInd[t]!;
    const j = r.colInd[t]!;
    if (t > 0) assert.ok(i > r.rowInd[t - 1]!, 'rowInd strictly increasing');
    assert.ok(i >= 0 && i < m && j >= 0 && j < n, `pair (${i}, ${j}) in range`);
    assert.ok(!seen.has(j), `column ${j} used twice`);
    seen.add(j);
    sum += cost[i]![j]!;
  }
  assert.ok(close(sum, r.total), `total ${r.total} vs sum of matched entries ${sum}`);
}

/** The returned duals certify optimality: u_i + v_j <= c_ij everywhere, equality when matched. */
function assertDualCertificate(cost: number[][], r: LinearSumAssignmentResult, maximize = false): void {
  const s = maximize ? -1 : 1;
  const { u, v } = r.duals;
  const m = cost.length;
  const n = m === 0 ? 0 : cost[0]!.length;
  const scale = 1 + Math.max(0, ...cost.flat().filter(Number.isFinite).map(Math.abs));
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const c = s * cost[i]![j]!;
      assert.ok(u[i]! + v[j]! <= c + 1e-9 * scale, `dual feasibility at (${i}, ${j})`);
    }
  }
  for (let t = 0; t < r.rowInd.length; t++) {
    const i = r.rowInd[t]!;
    const j = r.colInd[t]!;
    assert.ok(close(u[i]! + v[j]!, s * cost[i]![j]!, 1e-9 * scale), `slackness at (${i}, ${j})`);
  }
}

function close(a: number, b: number, tol = 1e-9): boolean {
  return a === b || Math.abs(a - b) <= tol * (1 + Math.abs(a) + Math.abs(b));
}

const shapeArb = fc.record({ m: fc.integer({ min: 1, max: 7 }), n: fc.integer({ min: 1, max: 7 }) });
const realMatrixArb = shapeArb.chain(({ m, n }) =>
  fc.array(fc.array(fc.double({ min: -100, max: 100, noNaN: true }), { minLength: n, maxLength: n }), {
    minLength: m,
    maxLength: m,
  }),
);
// Tiny integer range: lots of ties, lots of co-optimal assignments.
const tieMatrixArb = shapeArb.chain(({ m, n }) =>
  fc.array(fc.array(fc.integer({ min: -2, max: 2 }), { minLength: n, maxLength: n }), {
    minLength: m,
    maxLength: m,
  }),
);
// Small integers with some forbidden (+Infinity) cells, sometimes leaving no finite assignment.
const forbiddenMatrixArb = shapeArb.chain(({ m, n }) =>
  fc.array(
    fc.array(fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constant(Infinity)), { minLength: n, maxLength: n }),
    { minLength: m, maxLength: m },
  ),
);

// ---------------------------------------------------------------------------------------------
// Fixed examples
// ---------------------------------------------------------------------------------------------

test('SciPy documentation example', () => {
  const cost = [
    [4, 1, 3],
    [2, 0, 5],
    [3, 2, 2],
  ];
  const r = linearSumAssignment(cost);
  assert.equal([...r.rowInd], [0, 1, 2]);
  assert.equal([...r.colInd], [1, 0, 2]);
  assert.is(r.total, 5);
  assert.is(r.warmStarted, false);
  assertDualCertificate(cost, r);
});

test('rectangular both ways: rows sorted, min(m, n) pairs', () => {
  const wide = [
    [5, 1, 9, 9],
    [1, 5, 9, 0],
  ];
  const rw = linearSumAssignment(wide);
  assert.equal([...rw.rowInd], [0, 1]);
  assert.equal([...rw.colInd], [1, 3]);
  assert.is(rw.total, 1);
  const tall = wide[0]!.map((_, j) => wide.map((row) => row[j]!)); // transpose, 4 x 2
  const rt = linearSumAssignment(tall);
  assert.equal([...rt.rowInd], [1, 3]);
  assert.equal([...rt.colInd], [0, 1]);
  assert.is(rt.total, 1);
  assert.is(rt.duals.u.length, 4);
  assert.is(rt.duals.v.length, 2);
  assertDualCertificate(tall, rt);
});

test('accepts nested arrays, dense row-major blocks and NDArray-like 2-D inputs alike', () => {
  const nested = randomMatrix(6, 9, 7);
  const data = Float64Array.from(nested.flat());
  const a = linearSumAssignment(nested);
  const b = linearSumAssignment({ rows: 6, cols: 9, data });
  const c = linearSumAssignment({ shape: [6, 9], toFloat64Array: () => data.slice() });
  for (const r of [b, c]) {
    assert.equal([...r.rowInd], [...a.rowInd]);
    assert.equal([...r.colInd], [...a.colInd]);
    assert.is(r.total, a.total);
  }
});

test('empty matrices give empty arrays and total 0 (as SciPy)', () => {
  for (const cost of [[], [[], [], []]] as number[][][]) {
    const r = linearSumAssignment(cost);
    assert.is(r.rowInd.length, 0);
    assert.is(r.colInd.length, 0);
    assert.is(r.total, 0);
  }
  const r = linearSumAssignment({ rows: 0, cols: 4, data: new Float64Array(0) });
  assert.is(r.rowInd.length, 0);
  assert.is(r.duals.v.length, 4);
});

test('invalid entries and shapes throw clear errors', () => {
  assert.throws(() => linearSumAssignment([[1, NaN], [0, 1]]), /invalid numeric entries.*NaN at \[0, 1\]/);
  assert.throws(() => linearSumAssignment([[1, 2], [-Infinity, 1]]), /\[2, 2\] contains invalid numeric entries/);
  // With maximize the roles of +Infinity and -Infinity swap.
  assert.throws(() => linearSumAssignment([[1, Infinity]], { maximize: true }), /invalid numeric entries/);
  const m = linearSumAssignment([[1, -Infinity], [-Infinity, 2]], { maximize: true });
  assert.is(m.total, 3);
  assert.throws(() => linearSumAssignment([[Infinity, Infinity], [1, 2]]), /cost matrix is infeasible/);
  assert.throws(() => linearSumAssignment([[1, Infinity], [1, Infinity]]), /cost matrix is infeasible/);
  assert.throws(() => linearSumAssignment([[1, 2], [3]]), /ragged.*row 1 has 1/);
  assert.throws(() => linearSumAssignment({ rows: 2, cols: 3, data: new Float64Array(5) }), /\[2, 3\] needs 6 values, got 5/);
  assert.throws(
    () => linearSumAssignment({ shape: [2, 2, 2], toFloat64Array: () => new Float64Array(8) }),
    /must be 2-D, got shape \[2, 2, 2\]/,
  );
  assert.throws(() => linearSumAssignment([[1, 2]], { initDuals: { v: [0] } }), /initDuals\.v has length 1, expected 2/);
  assert.throws(() => linearSumAssignment([[1], [2]], { initDuals: { v: [0] } }), /initDuals\.u is required/);
  assert.throws(() => linearSumAssignment([[1, 2]], { initDuals: { v: [0, NaN] } }), /initDuals\.v\[1\] = NaN/);
});

test('+Infinity cells are avoided when a finite assignment exists', () => {
  const cost = [
    [Infinity, 1, Infinity],
    [2, Infinity, Infinity],
    [0, 0, 7],
  ];
  const r = linearSumAssignment(cost);
  assert.equal([...r.colInd], [1, 0, 2]);
  assert.is(r.total, 10);
});

// ---------------------------------------------------------------------------------------------
// Brute force on every small shape
// ---------------------------------------------------------------------------------------------

test('matches brute force on real matrices up to 7 x 7, rectangular both ways', () => {
  fc.assert(
    fc.property(realMatrixArb, (cost) => {
      const r = linearSumAssignment(cost);
      assertValid(cost, r);
      assertDualCertificate(cost, r);
      return close(r.total, bruteForce(cost));
    }),
    { numRuns: 800 },
  );
});

test('matches brute force on small-integer matrices with many ties', () => {
  fc.assert(
    fc.property(tieMatrixArb, fc.boolean(), (cost, maximize) => {
      const r = linearSumAssignment(cost, { maximize });
      assertValid(cost, r);
      assertDualCertificate(cost, r, maximize);
      return r.total === bruteForce(cost, maximize); // integers: exact
    }),
    { numRuns: 1000 },
  );
});

test('with forbidden (+Infinity) cells: brute force optimum or "infeasible" exactly when it is infinite', () => {
  fc.assert(
    fc.property(forbiddenMatrixArb, (cost) => {
      const best = bruteForce(cost);
      if (best === Infinity) {
        assert.throws(() => linearSumAssignment(cost), /infeasible/);
        return true;
      }
      const r = linearSumAssignment(cost);
      assertValid(cost, r);
      return r.total === best;
    }),
    { numRuns: 800 },
  );
});

test('every assignment of a constant matrix is optimal; every pair is still distinct', () => {
  for (const [m, n] of [[1, 1], [3, 3], [2, 5], [5, 2]] as const) {
    const cost = Array.from({ length: m }, () => new Array<number>(n).fill(3));
    const r = linearSumAssignment(cost);
    assertValid(cost, r);
    assert.is(r.total, 3 * Math.min(m, n));
  }
});

test('maximize equals minimize of the negated matrix', () => {
  fc.assert(
    fc.property(fc.oneof(realMatrixArb, tieMatrixArb), (cost) => {
      const max = linearSumAssignment(cost, { maximize: true });
      const negMin = linearSumAssignment(cost.map((row) => row.map((x) => -x)));
      assertValid(cost, max);
      return close(max.total, -negMin.total) && close(max.total, bruteForce(cost, true));
    }),
    { numRuns: 200 },
  );
});

// ---------------------------------------------------------------------------------------------
// Cross-check against an independent implementation (npm `munkres`, Munkres' algorithm)
// ---------------------------------------------------------------------------------------------

function munkresTotal(cost: number[][]): number {
  let s = 0;
  for (const [i, j] of munkres(cost)) s += cost[i]![j]!;
  return s;
}

test('agrees with npm munkres on random 50 x 50, 40 x 60 and 60 x 40 matrices', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      fc.constantFrom([50, 50], [40, 60], [60, 40]),
      fc.boolean(),
      (seed, [m, n], integer) => {
        // Integer costs in [0, 10) produce heavy degeneracy; reals produce a unique optimum.
        const cost = randomMatrix(m!, n!, seed, integer ? 10 : 1000).map((row) =>
          integer ? row.map(Math.floor) : row,
        );
        const r = linearSumAssignment(cost);
        assertValid(cost, r);
        const ref = munkresTotal(cost);
        return integer ? r.total === ref : close(r.total, ref);
      },
    ),
    { numRuns: 40 },
  );
});

test('agrees with npm munkres on one 256 x 256 matrix, maximize included', () => {
  const cost = randomMatrix(256, 256, 2025);
  const r = linearSumAssignment(cost);
  assert.ok(close(r.total, munkresTotal(cost)));
  const rm = linearSumAssignment(cost, { maximize: true });
  assert.ok(close(rm.total, -munkresTotal(cost.map((row) => row.map((x) => -x)))));
});

// ---------------------------------------------------------------------------------------------
// Warm starts
// ---------------------------------------------------------------------------------------------

test('warm start from the duals of a perturbed matrix gives the cold total', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 40 }),
      fc.boolean(),
      (seed, m, n, maximize) => {
        const a = randomMatrix(m, n, seed);
        const rnd = seeded(seed ^ 0x5bd1e995);
        const b = a.map((row) => row.map((x) => x + 0.05 * (rnd() - 0.5)));
        const prev = linearSumAssignment(a, { maximize });
        const warm = linearSumAssignment(b, { maximize, initDuals: prev.duals });
        const cold = linearSumAssignment(b, { maximize });
        assertValid(b, warm);
        assertDualCertificate(b, warm, maximize);
        if (m === n) assert.ok(warm.warmStarted, 'square warm starts are always used');
        return close(warm.total, cold.total);
      },
    ),
    { numRuns: 150 },
  );
});

/** The documented scale rule: warm prices are used when their spread is at most 2^20 times the spread of the (finite) costs, or the costs are all equal. */
function warmPricesInScale(cost: number[][], v: number[]): boolean {
  const cs = cost.flat().filter((x) => x !== Infinity);
  const spreadC = Math.max(...cs) - Math.min(...cs);
  return !(spreadC > 0) || Math.max(...v) - Math.min(...v) <= 2 ** 20 * spreadC;
}

test('square: arbitrary (even infeasible) warm column potentials still give the optimum', () => {
  fc.assert(
    fc.property(realMatrixArb.filter((c) => c.length === c[0]!.length), fc.integer(), (cost, seed) => {
      const rnd = seeded(seed);
      const v = cost[0]!.map(() => 1000 * (rnd() - 0.5));
      const r = linearSumAssignment(cost, { initDuals: { v } });
      assert.is(r.warmStarted, warmPricesInScale(cost, v));
      assertValid(cost, r);
      assertDualCertificate(cost, r);
      return close(r.total, bruteForce(cost));
    }),
    { numRuns: 150 },
  );
});

test('rectangular: a bad warm start is detected and re-solved cold', () => {
  // Column 1 priced at 5 makes it look 4 cheaper than column 0, although it costs 1 more.
  const r = linearSumAssignment([[0, 1]], { initDuals: { v: [0, 5] } });
  assert.is(r.warmStarted, false);
  assert.equal([...r.colInd], [0]);
  assert.is(r.total, 0);
  // Tall: the long side is the rows, so its potentials come from initDuals.u.
  const t = linearSumAssignment([[0], [1]], { initDuals: { u: [0, 5] } });
  assert.is(t.warmStarted, false);
  assert.equal([...t.rowInd], [0]);
  assert.is(t.total, 0);
  // Random rectangular warm potentials: with or without fallback, the total is optimal.
  fc.assert(
    fc.property(realMatrixArb.filter((c) => c.length !== c[0]!.length), fc.integer(), (cost, seed) => {
      const rnd = seeded(seed);
      const u = cost.map(() => 100 * (rnd() - 0.5));
      const v = cost[0]!.map(() => 100 * (rnd() - 0.5));
      const r = linearSumAssignment(cost, { initDuals: { u, v } });
      assertValid(cost, r);
      return close(r.total, bruteForce(cost));
    }),
    { numRuns: 150 },
  );
});

test.run();
