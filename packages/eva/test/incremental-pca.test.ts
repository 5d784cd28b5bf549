import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { NDArray, Rng, svd } from '@tsgrad/tensor';
import { IncrementalPCA } from '../src/incremental-pca.ts';
import { lowRankRows } from './helpers.ts';

/** n x d rows: mean + Z W + noise * E, with Z ~ N(0, 1) of width `rank`, W with decaying scales 3 / (i + 1). */
function lowRankData(rng: Rng, n: number, d: number, rank: number, noise = 0): Float64Array {
  return lowRankRows(rng, new Float64Array(n * d), d, rank, { noise, scale: (i) => 3 / (i + 1), meanScale: 2 });
}

/** Exact PCA of all rows: centred SVD; returns V^T rows, S and ratios. */
function exactPca(x: Float64Array, n: number, d: number): { vt: Float64Array; s: Float64Array; ratio: Float64Array } {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += x[i * d + j]! / n;
  const c = new Float64Array(n * d);
  let total = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const v = x[i * d + j]! - mean[j]!;
      c[i * d + j] = v;
      total += v * v;
    }
  }
  const r = svd(NDArray.fromTyped(c, [n, d]));
  const s = r.S.toFloat64Array();
  return { vt: r.Vt.toFloat64Array(), s, ratio: s.map((v) => (v * v) / total) };
}

function splitSizes(rng: Rng, n: number, minSize: number): number[] {
  const sizes: number[] = [];
  let left = n;
  while (left > 0) {
    let s = left < 2 * minSize ? left : minSize + rng.int(0, Math.max(1, left - 2 * minSize + 1));
    s = Math.min(s, left);
    sizes.push(s);
    left -= s;
  }
  return sizes;
}

function fitInBatches(ipca: IncrementalPCA, x: Float64Array, d: number, sizes: number[]): void {
  let start = 0;
  for (const s of sizes) {
    ipca.partialFit(NDArray.fromTyped(x.slice(start * d, (start + s) * d), [s, d]));
    start += s;
  }
}

function checkSignConvention(comps: Float64Array, k: number, d: number): void {
  for (let i = 0; i < k; i++) {
    let best = 0;
    for (let j = 1; j < d; j++) if (Math.abs(comps[i * d + j]!) > Math.abs(comps[i * d + best]!)) best = j;
    assert.ok(comps[i * d + best]! > 0, `component ${i}: largest |entry| is not positive`);
  }
}

for (const mode of ['exact', 'lowrank'] as const) {
  test(`IncrementalPCA (${mode}) over random batches equals exact PCA of all rows when k covers the rank`, () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 3, max: 9 }), fc.integer({ min: 1, max: 4 }), (seed, d, rankRaw) => {
        const rng = new Rng(seed);
        const rank = Math.min(rankRaw, d - 1);
        const k = Math.min(d, rank + rng.int(0, 3));
        const n = 40 + rng.int(0, 40);
        const x = lowRankData(rng, n, d, rank);
        const ipca = new IncrementalPCA({ nComponents: k, svd: mode });
        fitInBatches(ipca, x, d, splitSizes(rng, n, k));
        const ref = exactPca(x, n, d);
        const comps = ipca.componentsData;
        const ratio = ipca.explainedVarianceRatio.toFloat64Array();
        const sv = ipca.singularValues.toFloat64Array();
        // Ratios and singular values agree for all k (those past the rank are ~0).
        for (let i = 0; i < k; i++) {
          assert.ok(Math.abs(ratio[i]! - ref.ratio[i]!) < 1e-8, `ratio ${i}: ${ratio[i]} vs ${ref.ratio[i]}`);
          assert.ok(Math.abs(sv[i]! - ref.s[i]!) < 1e-7 * Math.max(1, ref.s[0]!), `S ${i}: ${sv[i]} vs ${ref.s[i]}`);
        }
        let sum = 0;
        for (let i = 0; i < k; i++) sum += ratio[i]!;
        assert.ok(Math.abs(sum - 1) < 1e-8, `ratios sum to ${sum}, not 1`);
        // The meaningful components agree up to sign (the exact SVD uses the same convention).
        for (let i = 0; i < rank; i++) {
          let dot = 0;
          for (let j = 0; j < d; j++) dot += comps[i * d + j]! * ref.vt[i * d + j]!;
          assert.ok(Math.abs(Math.abs(dot) - 1) < 1e-6, `component ${i}: |cos| = ${Math.abs(dot)}`);
        }
        checkSignConvention(comps, k, d);
      }),
      { numRuns: 25 },
    );
  });
}

test('IncrementalPCA with k = d on full-rank data recovers every component and sums ratios to 1', () => {
  const rng = new Rng(7);
  const d = 6;
  const n = 90;
  const x = lowRankData(rng, n, d, d, 0.1);
  const ipca = new IncrementalPCA({ nComponents: d });
  fitInBatches(ipca, x, d, [20, 30, 15, 25]);
  const ref = exactPca(x, n, d);
  const comps = ipca.componentsData;
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      assert.ok(Math.abs(comps[i * d + j]! - ref.vt[i * d + j]!) < 1e-8, `component ${i} entry ${j}`);
    }
  }
  const mean = ipca.mean.toFloat64Array();
  for (let j = 0; j < d; j++) {
    let m = 0;
    for (let i = 0; i < n; i++) m += x[i * d + j]! / n;
    assert.ok(Math.abs(mean[j]! - m) < 1e-10);
  }
  assert.is(ipca.nSamplesSeen, n);
  assert.is(ipca.nFits, 4);
});

test('IncrementalPCA: truncated k on noisy data approximates exact PCA and keeps orthonormal, sign-fixed rows', () => {
  const rng = new Rng(3);
  const d = 12;
  const n = 400;
  const k = 3;
  const x = lowRankData(rng, n, d, 3, 0.01);
  for (const mode of ['exact', 'lowrank'] as const) {
    const ipca = new IncrementalPCA({ nComponents: k, svd: mode });
    fitInBatches(ipca, x, d, Array(8).fill(50));
    const ref = exactPca(x, n, d);
    const c = ipca.componentsData;
    for (let i = 0; i < k; i++) {
      let dot = 0;
      for (let j = 0; j < d; j++) dot += c[i * d + j]! * ref.vt[i * d + j]!;
      assert.ok(Math.abs(dot) > 0.999, `${mode} component ${i}: |cos| ${Math.abs(dot)}`);
      for (let i2 = 0; i2 < k; i2++) {
        let g = 0;
        for (let j = 0; j < d; j++) g += c[i * d + j]! * c[i2 * d + j]!;
        assert.ok(Math.abs(g - (i === i2 ? 1 : 0)) < 1e-10, `${mode}: rows ${i}, ${i2} not orthonormal`);
      }
    }
    checkSignConvention(c, k, d);
    const r = ipca.explainedVarianceRatio.toFloat64Array();
    for (let i = 1; i < k; i++) assert.ok(r[i - 1]! >= r[i]!, 'ratios not descending');
  }
});

test('IncrementalPCA: lowrank mode is deterministic (fixed seed) and float32 input works', () => {
  const rng = new Rng(11);
  const x = lowRankData(rng, 60, 8, 8, 0.5);
  const run = () => {
    const p = new IncrementalPCA({ nComponents: 2, svd: 'lowrank' });
    p.partialFit(NDArray.fromTyped(Float32Array.from(x.slice(0, 30 * 8)), [30, 8]));
    p.partialFit(NDArray.fromTyped(Float32Array.from(x.slice(30 * 8)), [30, 8]));
    return p.componentsData;
  };
  assert.equal(Array.from(run()), Array.from(run()));
});

test('IncrementalPCA: errors name the shapes', () => {
  const p = new IncrementalPCA({ nComponents: 4 });
  assert.throws(() => p.partialFit(NDArray.zeros([3, 8], 'float64')), /nComponents=4 exceeds the 3 rows of the batch of shape \[3, 8\]/);
  assert.throws(() => p.partialFit(NDArray.zeros([10, 3], 'float64')), /exceeds the 3 features/);
  p.partialFit(NDArray.fromTyped(lowRankData(new Rng(1), 10, 5, 5), [10, 5]));
  assert.throws(() => p.partialFit(NDArray.zeros([10, 6], 'float64')), /6 features, earlier batches had 5/);
  assert.throws(() => new IncrementalPCA({ nComponents: 0 }), /positive integer/);
  assert.throws(() => new IncrementalPCA({ nComponents: 3, svd: 'lowrank', lowrankQ: 2 }), /lowrankQ/);
  assert.throws(() => new IncrementalPCA({ nComponents: 2 }).components, /not fitted/);
});

test('IncrementalPCA.transform projects centred rows onto the components', () => {
  const rng = new Rng(5);
  const x = lowRankData(rng, 40, 4, 4, 0.2);
  const p = new IncrementalPCA({ nComponents: 4 }).partialFit(NDArray.fromTyped(x, [40, 4]));
  const z = p.transform(NDArray.fromTyped(x, [40, 4])).toFloat64Array();
  // Sum of squares of the projections equals the total centred sum of squares when k = d.
  let ss = 0;
  for (const v of z) ss += v * v;
  const sv = p.singularValues.toFloat64Array();
  let s2 = 0;
  for (const v of sv) s2 += v * v;
  assert.ok(Math.abs(ss - s2) < 1e-8 * s2);
});

test('IncrementalPCA.partialFit: NaN or Infinity anywhere (either dtype) is refused and leaves the fit as it was', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 1e6 }),
      fc.constantFrom<'float32' | 'float64'>('float32', 'float64'),
      fc.constantFrom(NaN, Infinity, -Infinity),
      fc.nat(),
      (seed, dtype, bad, where) => {
        const d = 7;
        const rng = new Rng(seed);
        const good = () => NDArray.fromTyped(Float32Array.from({ length: 10 * d }, () => rng.normal()), [10, d]);
        const p = new IncrementalPCA({ nComponents: 2, svd: 'lowrank', dtype }).partialFit(good());
        const before = [Array.from(p.componentsData), Array.from(p.mean.toFloat64Array()), p.nSamplesSeen];
        const x = good().astype(dtype);
        (x.data as Float32Array | Float64Array)[where % x.size] = bad;
        assert.throws(() => p.partialFit(x), /partialFit: the batch of shape \[10, 7\] contains NaN or Infinity/);
        assert.equal([Array.from(p.componentsData), Array.from(p.mean.toFloat64Array()), p.nSamplesSeen], before);
      },
    ),
    { numRuns: 40 },
  );
});

test.run();
