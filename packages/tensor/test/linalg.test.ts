import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { NDArray } from '../src/ndarray.ts';
import { Rng } from '../src/random.ts';
import { eigh, matmulF64, qr, svd, svdLowRank, transposeF64 } from '../src/linalg/index.ts';

// ------------------------------------------------------------------ helpers

/** Dense row-major float64 copy plus its size. */
function dense(x: NDArray): { d: Float64Array; m: number; n: number } {
  return { d: x.toFloat64Array(), m: x.shape[0]!, n: x.shape[1]! };
}

function maxAbs(a: Float64Array): number {
  let s = 0;
  for (const v of a) s = Math.max(s, Math.abs(v));
  return s;
}

function maxDiff(a: Float64Array, b: Float64Array): number {
  assert.is(a.length, b.length, 'lengths differ');
  let s = 0;
  for (let i = 0; i < a.length; i++) s = Math.max(s, Math.abs(a[i]! - b[i]!));
  return s;
}

/** Fails unless |a - b|_max <= tol * max(1, |ref|_max). */
function assertClose(a: Float64Array, b: Float64Array, tol: number, what: string, ref: Float64Array = b): void {
  const err = maxDiff(a, b);
  const bound = tol * Math.max(1, maxAbs(ref));
  assert.ok(err <= bound, `${what}: error ${err} > ${bound}`);
}

/** Fails unless the columns of the m x k matrix q are orthonormal. */
function assertOrthonormalColumns(q: NDArray, what: string, tol = 1e-10): void {
  const { d, m, n } = dense(q);
  const gram = matmulF64(transposeF64(d, m, n), n, m, d, n);
  const eye = new Float64Array(n * n);
  for (let i = 0; i < n; i++) eye[i * n + i] = 1;
  assertClose(gram, eye, tol, `${what}: Q^T Q = I`);
}

/** Fails unless the rows of x are orthonormal. */
function assertOrthonormalRows(x: NDArray, what: string, tol = 1e-10): void {
  assertOrthonormalColumns(x.transpose(0, 1), what, tol);
}

/** U diag(S) W for U m x k, S length k, W k x n (all dense). */
function usw(u: Float64Array, s: Float64Array, w: Float64Array, m: number, k: number, n: number): Float64Array {
  const us = u.slice();
  for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) us[i * k + j]! *= s[j]!;
  return matmulF64(us, m, k, w, n);
}

function gaussian(rng: Rng, m: number, n: number): Float64Array {
  return Float64Array.from({ length: m * n }, () => rng.normal());
}

/** An exactly rank-r m x n matrix as a product of thin Gaussian factors (rank r w.p. 1). */
function lowRank(rng: Rng, m: number, n: number, r: number): Float64Array {
  return matmulF64(gaussian(rng, m, r), m, r, gaussian(rng, r, n), n);
}

/** Wraps m x n values, optionally as a transposed (non-contiguous) view or as float32. */
function wrap(d: Float64Array, m: number, n: number, layout: 'plain' | 'transposed' | 'float32'): NDArray {
  if (layout === 'float32') return NDArray.fromTyped(Float32Array.from(d), [m, n]);
  if (layout === 'plain') return NDArray.fromTyped(d, [m, n]);
  return NDArray.fromTyped(transposeF64(d, m, n), [n, m]).transpose(0, 1);
}

/** Shapes up to 12 x 12, with 1 x N and N x 1 drawn often. */
const shapeArb = fc.oneof(
  fc.tuple(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 })),
  fc.tuple(fc.constant(1), fc.integer({ min: 1, max: 12 })),
  fc.tuple(fc.integer({ min: 1, max: 12 }), fc.constant(1)),
);

const layoutArb = fc.constantFrom<'plain' | 'transposed' | 'float32'>('plain', 'transposed', 'float32');

/**
 * Matrices of three kinds: Gaussian from a drawn seed, exactly rank-deficient
 * products of thin factors (rank 0 .. min(m, n)), and raw fast-check doubles.
 */
const matrixArb: fc.Arbitrary<{ a: NDArray; kind: string; rank: number }> = fc
  .tuple(shapeArb, layoutArb)
  .chain(([[m, n], layout]) =>
    fc.oneof(
      fc.integer().map((seed) => ({ a: wrap(gaussian(new Rng(seed), m, n), m, n, layout), kind: 'gauss', rank: -1 })),
      fc
        .tuple(fc.integer(), fc.integer({ min: 0, max: Math.min(m, n) }))
        .map(([seed, r]) => ({ a: wrap(lowRank(new Rng(seed), m, n, r), m, n, layout), kind: 'lowrank', rank: r })),
      fc
        .array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { minLength: m * n, maxLength: m * n })
        .map((v) => ({ a: wrap(Float64Array.from(v), m, n, layout), kind: 'values', rank: -1 })),
    ),
  );

// ---------------------------------------------------------------------- svd

test('svd (thin): U diag(S) Vt = A, orthonormal factors, S descending and non-negative', () => {
  fc.assert(
    fc.property(matrixArb, ({ a }) => {
      const [m, n] = a.shape as [number, number];
      const k = Math.min(m, n);
      const { U, S, Vt } = svd(a);
      assert.equal(U.shape, [m, k]);
      assert.equal(S.shape, [k]);
      assert.equal(Vt.shape, [k, n]);
      assert.is(U.dtype, 'float64');
      const s = S.toFloat64Array();
      for (let i = 0; i < k; i++) {
        assert.ok(s[i]! >= 0, `S[${i}] = ${s[i]} is negative`);
        if (i > 0) assert.ok(s[i]! <= s[i - 1]!, `S not descending at ${i}: ${s[i - 1]} then ${s[i]}`);
      }
      const ref = a.toFloat64Array();
      assertClose(usw(U.toFloat64Array(), s, Vt.toFloat64Array(), m, k, n), ref, 1e-9, 'reconstruction');
      assertOrthonormalColumns(U, 'U');
      assertOrthonormalRows(Vt, 'Vt');
    }),
    { numRuns: 100 },
  );
});

test('svd (full): square orthogonal U and Vt that still reconstruct A', () => {
  fc.assert(
    fc.property(matrixArb, ({ a }) => {
      const [m, n] = a.shape as [number, number];
      const k = Math.min(m, n);
      const { U, S, Vt } = svd(a, { full: true });
      assert.equal(U.shape, [m, m]);
      assert.equal(Vt.shape, [n, n]);
      assertOrthonormalColumns(U, 'U');
      assertOrthonormalRows(U, 'U rows');
      assertOrthonormalRows(Vt, 'Vt');
      assertOrthonormalColumns(Vt, 'Vt columns');
      const u = U.slice(1, 0, k).toFloat64Array();
      const vt = Vt.slice(0, 0, k).toFloat64Array();
      assertClose(usw(u, S.toFloat64Array(), vt, m, k, n), a.toFloat64Array(), 1e-9, 'reconstruction');
      // The thin factors are the leading part of the full ones.
      const thin = svd(a);
      assert.equal(Array.from(thin.S.toFloat64Array()), Array.from(S.toFloat64Array()));
    }),
    { numRuns: 60 },
  );
});

test('svd: an exactly rank-r matrix has r non-zero singular values', () => {
  fc.assert(
    fc.property(shapeArb, fc.integer(), fc.nat(), ([m, n], seed, rPick) => {
      const k = Math.min(m, n);
      const r = rPick % (k + 1);
      const { S } = svd(NDArray.fromTyped(lowRank(new Rng(seed), m, n, r), [m, n]));
      const s = S.toFloat64Array();
      const top = Math.max(s[0] ?? 0, 1);
      for (let i = r; i < k; i++) assert.ok(s[i]! <= 1e-12 * top, `S[${i}] = ${s[i]} should be ~0 (rank ${r})`);
      if (r > 0) assert.ok(s[r - 1]! > 1e-8 * top, `S[${r - 1}] = ${s[r - 1]} should be non-zero`);
    }),
    { numRuns: 60 },
  );
});

test('svd: sign convention (largest |entry| of each Vt row positive) and determinism', () => {
  fc.assert(
    fc.property(matrixArb, fc.boolean(), ({ a }, full) => {
      const first = svd(a, { full });
      const again = svd(a, { full });
      assert.equal(Array.from(first.U.toFloat64Array()), Array.from(again.U.toFloat64Array()));
      assert.equal(Array.from(first.Vt.toFloat64Array()), Array.from(again.Vt.toFloat64Array()));
      const { d, m, n } = dense(first.Vt);
      for (let i = 0; i < m; i++) {
        let best = 0;
        for (let j = 1; j < n; j++) if (Math.abs(d[i * n + j]!) > Math.abs(d[i * n + best]!)) best = j;
        assert.ok(d[i * n + best]! > 0, `Vt row ${i} has its largest entry ${d[i * n + best]} negative`);
      }
    }),
    { numRuns: 50 },
  );
});

test('svd: known values (diagonal, rank one, zero, 1 x N, N x 1)', () => {
  const d = svd(NDArray.fromTyped(new Float64Array([3, 0, 0, 0, -4, 0]), [2, 3]));
  assertClose(d.S.toFloat64Array(), new Float64Array([4, 3]), 1e-15, 'S of diag');
  assertClose(d.Vt.toFloat64Array(), new Float64Array([0, 1, 0, 1, 0, 0]), 1e-15, 'Vt of diag');
  assertClose(d.U.toFloat64Array(), new Float64Array([0, 1, -1, 0]), 1e-15, 'U of diag');

  const r1 = svd(NDArray.fromTyped(new Float64Array([1, 2, 2, 4, 3, 6]), [3, 2]));
  assertClose(r1.S.toFloat64Array(), new Float64Array([Math.sqrt(70), 0]), 1e-14, 'S of rank one');
  assertOrthonormalColumns(r1.U, 'U of rank one');

  const z = svd(NDArray.zeros([3, 2], 'float64'), { full: true });
  assert.equal(Array.from(z.S.toFloat64Array()), [0, 0]);
  assertOrthonormalColumns(z.U, 'U of zeros');
  assertOrthonormalRows(z.Vt, 'Vt of zeros');

  const row = svd(NDArray.fromTyped(new Float64Array([0, -3, 4]), [1, 3]));
  assertClose(row.S.toFloat64Array(), new Float64Array([5]), 1e-15, 'S of a row');
  assertClose(row.Vt.toFloat64Array(), new Float64Array([0, -0.6, 0.8]), 1e-15, 'Vt of a row');
  assertClose(row.U.toFloat64Array(), new Float64Array([1]), 1e-15, 'U of a row');

  const col = svd(NDArray.fromTyped(new Float64Array([0, -3, 4]), [3, 1]), { full: true });
  assert.equal(col.U.shape, [3, 3]);
  assertClose(col.S.toFloat64Array(), new Float64Array([5]), 1e-15, 'S of a column');
  assert.equal(Array.from(col.Vt.toFloat64Array()), [1]);
  assertOrthonormalColumns(col.U, 'U of a column');
});

test('svd: huge and tiny magnitudes do not overflow or underflow', () => {
  for (const scale of [1e-300, 1e300]) {
    const base = new Float64Array([1, 2, 3, 4, 5, 6]);
    const a = base.map((v) => v * scale);
    const { S } = svd(NDArray.fromTyped(a, [3, 2]));
    const ref = svd(NDArray.fromTyped(base, [3, 2])).S.toFloat64Array();
    const s = S.toFloat64Array();
    for (let i = 0; i < 2; i++) assert.ok(Math.abs(s[i]! / scale - ref[i]!) <= 1e-12 * ref[0]!, `scale ${scale}: ${s[i]}`);
  }
});

test('svd: empty inputs give empty factors (identities in full mode)', () => {
  const a = svd(NDArray.zeros([0, 3], 'float64'));
  assert.equal([a.U.shape, a.S.shape, a.Vt.shape], [[0, 0], [0], [0, 3]]);
  const b = svd(NDArray.zeros([4, 0], 'float32'), { full: true });
  assert.equal([b.U.shape, b.S.shape, b.Vt.shape], [[4, 4], [0], [0, 0]]);
  assertOrthonormalColumns(b.U, 'U of 4 x 0');
  const c = svd(NDArray.zeros([0, 3], 'float64'), { full: true });
  assert.equal(Array.from(c.Vt.toFloat64Array()), [1, 0, 0, 0, 1, 0, 0, 0, 1]);
});

// ----------------------------------------------------------------------- qr

for (const mode of ['reduced', 'complete'] as const) {
  test(`qr (${mode}): Q^T Q = I, R upper triangular, Q R = A`, () => {
    fc.assert(
      fc.property(matrixArb, ({ a }) => {
        const [m, n] = a.shape as [number, number];
        const k = Math.min(m, n);
        const { Q, R } = qr(a, { mode });
        const qc = mode === 'complete' ? m : k;
        assert.equal(Q.shape, [m, qc]);
        assert.equal(R.shape, [qc, n]);
        assertOrthonormalColumns(Q, 'Q');
        if (mode === 'complete') assertOrthonormalRows(Q, 'Q rows');
        const r = R.toFloat64Array();
        for (let i = 0; i < qc; i++) {
          for (let j = 0; j < Math.min(i, n); j++) assert.is(r[i * n + j], 0, `R[${i}, ${j}] is below the diagonal`);
        }
        assertClose(matmulF64(Q.toFloat64Array(), m, qc, r, n), a.toFloat64Array(), 1e-12, 'Q R');
      }),
      { numRuns: 80 },
    );
  });
}

test('qr: default mode is reduced; empty inputs', () => {
  const a = NDArray.fromTyped(new Float64Array([1, 2, 3, 4, 5, 6]), [3, 2]);
  assert.equal(qr(a).Q.shape, [3, 2]);
  assertClose(qr(a).R.toFloat64Array(), qr(a, { mode: 'reduced' }).R.toFloat64Array(), 0, 'same R');
  const e = qr(NDArray.zeros([3, 0], 'float64'), { mode: 'complete' });
  assert.equal([e.Q.shape, e.R.shape], [[3, 3], [3, 0]]);
  assert.equal(Array.from(e.Q.toFloat64Array()), [1, 0, 0, 0, 1, 0, 0, 0, 1]);
  const w = qr(NDArray.zeros([0, 2], 'float64'));
  assert.equal([w.Q.shape, w.R.shape], [[0, 0], [0, 2]]);
});

// --------------------------------------------------------------------- eigh

/** Symmetric test matrices: (B + B^T) / 2 of a Gaussian B, or a rank-deficient X^T X. */
const symmetricArb = fc
  .tuple(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }), fc.integer(), fc.boolean())
  .map(([n, rows, seed, gram]) => {
    const rng = new Rng(seed);
    if (gram) {
      const x = gaussian(rng, rows, n);
      return NDArray.fromTyped(matmulF64(transposeF64(x, rows, n), n, rows, x, n), [n, n]);
    }
    const b = gaussian(rng, n, n);
    const bt = transposeF64(b, n, n);
    return NDArray.fromTyped(b.map((v, i) => 0.5 * (v + bt[i]!)), [n, n]);
  });

test('eigh: A V = V diag(w), V orthonormal, order honoured', () => {
  fc.assert(
    fc.property(symmetricArb, fc.constantFrom<'ascending' | 'descending'>('ascending', 'descending'), (a, order) => {
      const n = a.shape[0]!;
      const { values, vectors } = eigh(a, { order });
      assert.equal(values.shape, [n]);
      assert.equal(vectors.shape, [n, n]);
      assertOrthonormalColumns(vectors, 'V');
      const w = values.toFloat64Array();
      for (let i = 1; i < n; i++) {
        const ok = order === 'ascending' ? w[i - 1]! <= w[i]! : w[i - 1]! >= w[i]!;
        assert.ok(ok, `${order} order broken at ${i}: ${w[i - 1]}, ${w[i]}`);
      }
      const v = vectors.toFloat64Array();
      const av = matmulF64(a.toFloat64Array(), n, n, v, n);
      const vw = v.map((x, idx) => x * w[idx % n]!);
      assertClose(av, vw, 1e-10, 'A V = V diag(w)', a.toFloat64Array());
      // Sign convention: the largest-magnitude entry of each eigenvector is positive.
      for (let j = 0; j < n; j++) {
        let best = 0;
        for (let i = 1; i < n; i++) if (Math.abs(v[i * n + j]!) > Math.abs(v[best * n + j]!)) best = i;
        assert.ok(v[best * n + j]! > 0, `eigenvector ${j} has a negative largest entry`);
      }
    }),
    { numRuns: 100 },
  );
});

test('eigh of X^T X gives the squared singular values of X', () => {
  fc.assert(
    fc.property(matrixArb, ({ a }) => {
      const { d, m, n } = dense(a);
      const xtx = matmulF64(transposeF64(d, m, n), n, m, d, n);
      const w = eigh(NDArray.fromTyped(xtx, [n, n]), { order: 'descending' }).values.toFloat64Array();
      const s = svd(a).S.toFloat64Array();
      const expected = new Float64Array(n); // n - min(m, n) trailing zeros for wide X
      s.forEach((v, i) => (expected[i] = v * v));
      assertClose(w, expected, 1e-10, 'eigenvalues vs S^2', xtx);
    }),
    { numRuns: 60 },
  );
});

test('eigh uses only the symmetric part; known values', () => {
  const rng = new Rng(7);
  const b = gaussian(rng, 5, 5);
  const bt = transposeF64(b, 5, 5);
  const sym = b.map((v, i) => 0.5 * v + 0.5 * bt[i]!);
  const r1 = eigh(NDArray.fromTyped(b, [5, 5]));
  const r2 = eigh(NDArray.fromTyped(sym, [5, 5]));
  assert.equal(Array.from(r1.values.toFloat64Array()), Array.from(r2.values.toFloat64Array()));
  assert.equal(Array.from(r1.vectors.toFloat64Array()), Array.from(r2.vectors.toFloat64Array()));

  const k = eigh(NDArray.fromTyped(new Float32Array([2, 1, 1, 2]), [2, 2]));
  assertClose(k.values.toFloat64Array(), new Float64Array([1, 3]), 1e-15, 'eigenvalues of [[2,1],[1,2]]');
  const h = Math.SQRT1_2;
  assertClose(k.vectors.toFloat64Array(), new Float64Array([h, h, -h, h]), 1e-15, 'eigenvectors');
  assert.equal(Array.from(eigh(NDArray.zeros([0, 0], 'float64')).values.toFloat64Array()), []);
  // A repeated eigenvalue: the identity stays the identity.
  const eye = eigh(NDArray.fromTyped(new Float64Array([1, 0, 0, 0, 1, 0, 0, 0, 1]), [3, 3]));
  assert.equal(Array.from(eye.vectors.toFloat64Array()), [1, 0, 0, 0, 1, 0, 0, 0, 1]);
});

// -------------------------------------------------------------- svdLowRank

test('svdLowRank recovers an exactly rank-r matrix (r <= q)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 30 }),
      fc.integer({ min: 1, max: 30 }),
      fc.integer({ min: 1, max: 10 }),
      fc.nat(),
      fc.integer(),
      fc.integer({ min: 0, max: 3 }),
      (m, n, q, rPick, seed, niter) => {
        const r = rPick % (Math.min(q, m, n) + 1);
        const a = NDArray.fromTyped(lowRank(new Rng(seed), m, n, r), [m, n]);
        const { U, S, V } = svdLowRank(a, { q, niter, seed: seed ^ 0x5a5a });
        const k = Math.min(q, m, n);
        assert.equal([U.shape, S.shape, V.shape], [[m, k], [k], [n, k]]);
        assertOrthonormalColumns(U, 'U');
        assertOrthonormalColumns(V, 'V');
        const vt = transposeF64(V.toFloat64Array(), n, k);
        assertClose(usw(U.toFloat64Array(), S.toFloat64Array(), vt, m, k, n), a.toFloat64Array(), 1e-8, 'U S V^T');
        const exact = svd(a).S.toFloat64Array().subarray(0, k);
        assertClose(S.toFloat64Array(), exact, 1e-8, 'singular values', a.toFloat64Array());
      },
    ),
    { numRuns: 80 },
  );
});

/** A 40 x 30 matrix with singular values 0.6^i and random singular vectors. */
function decayingSpectrum(seed: number): { a: NDArray; sigma: Float64Array } {
  const rng = new Rng(seed);
  const m = 40;
  const n = 30;
  const u = qr(NDArray.fromTyped(gaussian(rng, m, n), [m, n])).Q.toFloat64Array();
  const v = qr(NDArray.fromTyped(gaussian(rng, n, n), [n, n])).Q.toFloat64Array();
  const sigma = Float64Array.from({ length: n }, (_, i) => 0.6 ** i);
  return { a: NDArray.fromTyped(usw(u, sigma, transposeF64(v, n, n), m, n, n), [m, n]), sigma };
}

test('svdLowRank approximates the top singular values; power iterations help', () => {
  for (const seed of [1, 2, 3]) {
    const { a, sigma } = decayingSpectrum(seed);
    const err = (niter: number): number => {
      const s = svdLowRank(a, { q: 10, niter, seed }).S.toFloat64Array();
      let worst = 0;
      for (let i = 0; i < 5; i++) worst = Math.max(worst, Math.abs(s[i]! - sigma[i]!) / sigma[i]!);
      return worst;
    };
    const e0 = err(0);
    const e2 = err(2);
    assert.ok(e2 < 1e-6, `seed ${seed}: top-5 relative error with niter=2 is ${e2}`);
    assert.ok(e2 < e0, `seed ${seed}: niter=2 (${e2}) should beat niter=0 (${e0})`);
  }
});

test('svdLowRank: same seed same output, another seed another sketch; q is clipped', () => {
  const a = NDArray.fromTyped(gaussian(new Rng(11), 9, 7), [9, 7]);
  const x = svdLowRank(a, { q: 3, seed: 5 });
  const y = svdLowRank(a, { q: 3, seed: 5 });
  const z = svdLowRank(a, { q: 3, seed: 6 });
  assert.equal(Array.from(x.U.toFloat64Array()), Array.from(y.U.toFloat64Array()));
  assert.equal(Array.from(x.S.toFloat64Array()), Array.from(y.S.toFloat64Array()));
  assert.equal(Array.from(x.V.toFloat64Array()), Array.from(y.V.toFloat64Array()));
  assert.ok(maxDiff(x.S.toFloat64Array(), z.S.toFloat64Array()) > 0, 'a different seed should change the sketch');
  // Defaults (q = 6) on a 3 x 5 matrix: the rank is clipped to 3 and the result is exact.
  const w = NDArray.fromTyped(gaussian(new Rng(12), 3, 5), [3, 5]);
  const d = svdLowRank(w);
  assert.equal([d.U.shape, d.S.shape, d.V.shape], [[3, 3], [3], [5, 3]]);
  assertClose(d.S.toFloat64Array(), svd(w).S.toFloat64Array(), 1e-12, 'clipped S');
  const e = svdLowRank(NDArray.zeros([0, 4], 'float64'));
  assert.equal([e.U.shape, e.S.shape, e.V.shape], [[0, 0], [0], [4, 0]]);
});

test('svdLowRank center subtracts the column means first', () => {
  const rng = new Rng(3);
  const m = 8;
  const n = 5;
  const raw = gaussian(rng, m, n).map((v, i) => v + 10 * (i % n));
  const centered = raw.slice();
  for (let j = 0; j < n; j++) {
    let mean = 0;
    for (let i = 0; i < m; i++) mean += raw[i * n + j]!;
    for (let i = 0; i < m; i++) centered[i * n + j]! -= mean / m;
  }
  const c = svdLowRank(NDArray.fromTyped(raw, [m, n]), { q: 5, center: true, seed: 4 });
  const ref = svd(NDArray.fromTyped(centered, [m, n])).S.toFloat64Array();
  assertClose(c.S.toFloat64Array(), ref, 1e-10, 'centered S');
  const plain = svdLowRank(NDArray.fromTyped(raw, [m, n]), { q: 5, seed: 4 }).S.toFloat64Array();
  assert.ok(plain[0]! > 2 * ref[0]!, 'without centering the column offsets dominate');
});

// ------------------------------------------------------------------- errors

test('errors name the op and the shape', () => {
  const v = NDArray.zeros([3], 'float64');
  const t = NDArray.zeros([2, 2, 2], 'float64');
  const cases: [string, (x: NDArray) => unknown][] = [
    ['qr', (x) => qr(x)],
    ['svd', (x) => svd(x)],
    ['eigh', (x) => eigh(x)],
    ['svdLowRank', (x) => svdLowRank(x)],
  ];
  for (const [op, fn] of cases) {
    assert.throws(() => fn(v), new RegExp(`^${op}: expected a 2-D matrix, got shape \\[3\\]`));
    assert.throws(() => fn(t), new RegExp(`^${op}: expected a 2-D matrix, got shape \\[2, 2, 2\\]`));
    assert.throws(() => fn(NDArray.zeros([2, 2], 'int32')), new RegExp(`^${op}: .*int32`));
    assert.throws(() => fn(NDArray.fromTyped(new Float64Array([1, NaN, 0, 1]), [2, 2])), new RegExp(`^${op}: .*NaN`));
  }
  assert.throws(() => eigh(NDArray.zeros([2, 3], 'float64')), /^eigh: expected a square matrix, got shape \[2, 3\]/);
  assert.throws(() => svdLowRank(NDArray.zeros([2, 3], 'float64'), { q: -1 }), /^svdLowRank: q must be/);
  assert.throws(() => svdLowRank(NDArray.zeros([2, 3], 'float64'), { niter: 1.5 }), /^svdLowRank: niter must be/);
  assert.throws(() => qr(NDArray.zeros([2, 3], 'float64'), { mode: 'r' as 'reduced' }), /^qr: mode/);
  assert.throws(() => eigh(NDArray.zeros([2, 2], 'float64'), { order: 'up' as 'ascending' }), /^eigh: order/);
});

test('matmulF64 multiplies row-major matrices', () => {
  const c = matmulF64(new Float64Array([1, 2, 3, 4, 5, 6]), 2, 3, new Float64Array([1, 0, 0, 1, 1, 1]), 2);
  assert.equal(Array.from(c), [4, 5, 10, 11]);
});

test.run();
