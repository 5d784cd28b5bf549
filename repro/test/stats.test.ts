import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { direction, formatStat, pairedDiff, stat, tQuantile975 } from '../lib/stats.ts';

test('stat: mean and sample std', () => {
  const s = stat([1, 2, 3, 4]);
  assert.is(s.mean, 2.5);
  assert.ok(Math.abs(s.std - Math.sqrt(5 / 3)) < 1e-12);
  assert.equal(s.values, [1, 2, 3, 4]);
  assert.is(formatStat(stat([0.5]), 2), '0.50 (n = 1)');
});

test('tQuantile975: table values and a smooth continuation past 30', () => {
  assert.is(tQuantile975(1), 12.706);
  assert.is(tQuantile975(4), 2.776);
  assert.ok(Math.abs(tQuantile975(40) - 2.021) < 2e-3);
  assert.ok(Math.abs(tQuantile975(120) - 1.98) < 2e-3);
  assert.ok(tQuantile975(31) < tQuantile975(30) && tQuantile975(31) > tQuantile975(1000));
  assert.throws(() => tQuantile975(0), /positive integer/);
});

test('pairedDiff: the interval matches the hand-computed t interval', () => {
  const c = pairedDiff([1.0, 1.2, 0.9], [1.3, 1.4, 1.2]);
  // differences -0.3, -0.2, -0.3: mean -0.2667, std 0.0577, t(2) = 4.303
  const half = (4.303 * Math.sqrt(1 / 300)) / Math.sqrt(3);
  assert.ok(Math.abs(c.diff.mean + 0.8 / 3) < 1e-12);
  assert.ok(Math.abs(c.ci95[1] - (-0.8 / 3 + half)) < 1e-9);
  assert.is(direction(c), 'lower');
  assert.throws(() => pairedDiff([1], [1, 2]), /one value per seed/);
});

test('pairedDiff: property: shifting b by a constant shifts the interval by minus it, and a symmetric swap mirrors it', () => {
  fc.assert(
    fc.property(fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: 2, maxLength: 8 }), fc.double({ min: -5, max: 5, noNaN: true }), (a, shift) => {
      const b = a.map((x, i) => x * 0.5 + i * 0.01);
      const c1 = pairedDiff(a, b);
      const c2 = pairedDiff(a, b.map((x) => x + shift));
      const c3 = pairedDiff(b, a);
      const close = (x: number, y: number) => Math.abs(x - y) <= 1e-9 * (1 + Math.abs(x));
      return close(c2.ci95[0], c1.ci95[0] - shift) && close(c2.ci95[1], c1.ci95[1] - shift) && close(c3.ci95[0], -c1.ci95[1]) && c1.ci95[0] <= c1.diff.mean && c1.diff.mean <= c1.ci95[1];
    }),
    { numRuns: 200 },
  );
});

test.run();
