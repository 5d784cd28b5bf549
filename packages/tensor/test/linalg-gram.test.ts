import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { NDArray } from '../src/ndarray.ts';
import { Rng } from '../src/random.ts';
import { qr, svd, svdLowRankGram } from '../src/linalg/index.ts';

/**
 * A = U diag(sigma) V^T with random orthonormal U (m x r), V (n x r) and the given
 * singular values, rounded to float32 (the input precision of the float32 path).
 */
function withSpectrum(seed: number, m: number, n: number, sigma: number[]): NDArray {
  const rng = new Rng(seed);
  const r = sigma.length;
  const orth = (rows: number) => qr(NDArray.fromTyped(Float64Array.from({ length: rows * r }, () => rng.normal()), [rows, r])).Q.toFloat64Array();
  const u = orth(m);
  const v = orth(n);
  const a = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let t = 0; t < r; t++) acc += u[i * r + t]! * sigma[t]! * v[j * r + t]!;
      a[i * n + j] = acc;
    }
  }
  return NDArray.fromTyped(a, [m, n]);
}

/** Rows of `vt` (count x n) against rows of a float64 reference: |cos| of each pair. */
function rowCosines(vt: Float64Array, ref: Float64Array, count: number, n: number): number[] {
  return Array.from({ length: count }, (_, i) => {
    let dot = 0;
    for (let j = 0; j < n; j++) dot += vt[i * n + j]! * ref[i * n + j]!;
    return Math.abs(dot);
  });
}

const caseArb = fc.record({
  seed: fc.integer({ min: 0, max: 1e6 }),
  m: fc.integer({ min: 4, max: 60 }),
  n: fc.integer({ min: 4, max: 60 }),
  rank: fc.integer({ min: 2, max: 12 }),
  decay: fc.double({ min: 0.3, max: 0.8, noNaN: true }),
});

// The float32 Gram matrix carries an absolute error of about eps32 sqrt(n) sigma_1^2, so
// sigma_i is within about that / sigma_i, and v_i within about that / (sigma_i gap_i).
test('svdLowRankGram agrees with the float64 exact SVD: |dS_i| <= 1e-5 (S_0 + S_0^2 / S_i), vectors up to sign (|cos| >= 1 - 1e-5) where gaps allow', () => {
  fc.assert(
    fc.property(caseArb, ({ seed, m, n, rank, decay }) => {
      const r = Math.min(rank, m, n);
      // sigma_i = 10 decay^i: consecutive values differ by the factor 1 / decay
      const sigma = Array.from({ length: r }, (_, i) => 10 * Math.pow(decay, i));
      const a = withSpectrum(seed, m, n, sigma);
      const exact = svd(a);
      const s64 = exact.S.toFloat64Array();
      const vt64 = exact.Vt.toFloat64Array();
      const q = Math.min(r + 4, m, n);
      const res = svdLowRankGram(a, { q, niter: 3, seed });
      const s32 = res.S.toFloat64Array();
      const vt32 = res.Vt.toFloat64Array();
      assert.equal([...res.Vt.shape], [q, n]);
      for (let i = 0; i < res.resolved; i++) {
        assert.ok(Math.abs(s32[i]! - s64[i]!) <= 1e-5 * (s64[0]! + (s64[0]! * s64[0]!) / s64[i]!), `S[${i}] ${s32[i]} vs ${s64[i]}`);
      }
      // v_i has error ~ 6e-8 sigma_1^2 / (sigma_i (sigma_i - sigma_{i+1})): check those whose bound is small.
      const reliable = Array.from({ length: Math.min(res.resolved, r) }, (_, i) => i).filter((i) => {
        const gap = Math.min(i > 0 ? s64[i - 1]! - s64[i]! : Infinity, i + 1 < s64.length ? s64[i]! - s64[i + 1]! : s64[i]!);
        return (6e-8 * s64[0]! * s64[0]!) / (s64[i]! * gap) < 1e-4;
      });
      const cos = rowCosines(vt32, vt64, Math.max(0, ...reliable.map((i) => i + 1)), n);
      for (const i of reliable) assert.ok(cos[i]! >= 1 - 1e-5, `v_${i} |cos| ${cos[i]} (m ${m}, n ${n}, rank ${r})`);
      // resolved rows are orthonormal to float64 rounding; unresolved rows are zero
      for (let i = 0; i < q; i++) {
        for (let j = 0; j < q; j++) {
          let dot = 0;
          for (let t = 0; t < n; t++) dot += vt32[i * n + t]! * vt32[j * n + t]!;
          const want = i === j && i < res.resolved ? 1 : 0;
          assert.ok(Math.abs(dot - want) < 1e-9, `Vt Vt^T [${i}, ${j}] = ${dot}`);
        }
      }
    }),
    { numRuns: 40 },
  );
});

test('svdLowRankGram: directions at or below rtol * S[0] are reported unresolved', () => {
  // rank 3 in a 20 x 30 matrix: with q = 6 the last three singular values are (near) zero
  const a = withSpectrum(3, 20, 30, [5, 2, 1]);
  const res = svdLowRankGram(a, { q: 6, niter: 2, seed: 1 });
  assert.is(res.resolved, 3);
  const zero = NDArray.fromTyped(new Float32Array(12), [3, 4]);
  const z = svdLowRankGram(zero, { q: 2 });
  assert.is(z.resolved, 0);
  assert.equal(Array.from(z.S.toFloat64Array()), [0, 0]);
  assert.equal(Array.from(z.Vt.toFloat64Array()), new Array(8).fill(0));
  // a strict rtol resolves fewer
  const b = withSpectrum(4, 30, 20, [1, 1e-2, 1e-4]);
  assert.is(svdLowRankGram(b, { q: 3, rtol: 1e-3 }).resolved, 2);
});

test('svdLowRankGram: the same seed gives the same bits, wide and tall; float64 input is rounded to float32 first', () => {
  for (const [m, n] of [
    [12, 40],
    [40, 12],
  ] as const) {
    const a = withSpectrum(7, m, n, [4, 3, 2, 1, 0.5]);
    const one = svdLowRankGram(a, { q: 4, niter: 2, seed: 9 });
    const two = svdLowRankGram(a, { q: 4, niter: 2, seed: 9 });
    assert.equal(Array.from(one.Vt.toFloat64Array()), Array.from(two.Vt.toFloat64Array()));
    assert.equal(Array.from(one.S.toFloat64Array()), Array.from(two.S.toFloat64Array()));
    const wide = svdLowRankGram(a.astype('float64'), { q: 4, niter: 2, seed: 9 });
    assert.equal(Array.from(wide.S.toFloat64Array()), Array.from(one.S.toFloat64Array()));
  }
});

test('svdLowRankGram: errors name the argument and the shape', () => {
  const a = NDArray.fromTyped(new Float32Array(6), [2, 3]);
  assert.throws(() => svdLowRankGram(NDArray.fromTyped(new Float32Array(6), [6])), /svdLowRankGram: expected a 2-D matrix, got shape \[6\]/);
  assert.throws(() => svdLowRankGram(NDArray.fromTyped(new Int32Array(6), [2, 3])), /float32 or float64 matrix, got int32 of shape \[2, 3\]/);
  assert.throws(() => svdLowRankGram(a, { q: 2, vectors: 3 }), /vectors must be an integer in \[0, 2\] for shape \[2, 3\] and q=2, got 3/);
  assert.throws(() => svdLowRankGram(a, { q: -1 }), /q must be a non-negative integer, got -1/);
  assert.throws(() => svdLowRankGram(a, { rtol: 1 }), /rtol must be in \[0, 1\), got 1/);
  assert.throws(() => svdLowRankGram(NDArray.fromTyped(new Float32Array([1, NaN, 0, 0, 0, 0]), [2, 3])), /contains NaN or Infinity/);
});

test.run();
