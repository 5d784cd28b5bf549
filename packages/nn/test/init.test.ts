/**
 * Initialisers: fans, gains, bounds and spreads of the seeded fills.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Tensor } from '@tsgrad/autograd';
import * as nd from '@tsgrad/tensor';
import {
  calculateGain,
  constant,
  fans,
  kaimingNormal,
  kaimingUniform,
  lecunNormal,
  normal,
  truncNormal,
  uniform,
  xavierNormal,
  xavierUniform,
} from '../src/index.ts';
import { values } from './nn-helpers.ts';

const std = (xs: number[]) => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length);
};

test('fans and gains follow torch.nn.init', () => {
  assert.equal(fans([512, 784]), { fanIn: 784, fanOut: 512 });
  assert.equal(fans([8, 3, 5, 5]), { fanIn: 75, fanOut: 200 });
  assert.throws(() => fans([3]), /at least 2 dimensions/);
  assert.is(calculateGain('relu'), Math.SQRT2);
  assert.is(calculateGain('tanh'), 5 / 3);
  assert.is(calculateGain('leaky_relu', Math.sqrt(5)), Math.sqrt(2 / 6));
  assert.is(calculateGain('linear'), 1);
});

test('uniform inits stay within their bounds and fill them (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 20, max: 60 }), fc.integer({ min: 20, max: 60 }), fc.integer(), (out, inn, seed) => {
      const cases: [(t: Tensor) => Tensor, number][] = [
        [(t) => kaimingUniform(t, { seed }), Math.sqrt(6 / inn)], // gain sqrt(2) (a = 0), bound gain * sqrt(3 / fanIn)
        [(t) => kaimingUniform(t, { a: Math.sqrt(5), seed }), 1 / Math.sqrt(inn)],
        [(t) => kaimingUniform(t, { mode: 'fanOut', nonlinearity: 'relu', seed }), Math.sqrt(6 / out)],
        [(t) => xavierUniform(t, { seed, gain: 2 }), 2 * Math.sqrt(6 / (inn + out))],
        [(t) => uniform(t, -0.3, 0.3, { seed }), 0.3],
      ];
      for (const [init, bound] of cases) {
        const v = values(init(new Tensor(nd.zeros([out, inn]))));
        const m = Math.max(...v.map(Math.abs));
        assert.ok(m <= bound * (1 + 1e-6) && m > 0.9 * bound, `max ${m}, bound ${bound}`);
        assert.ok(Math.abs(std(v) / (bound / Math.sqrt(3)) - 1) < 0.15);
      }
      return true;
    }),
    { numRuns: 10 },
  );
});

test('normal inits have the documented standard deviations', () => {
  const w = () => new Tensor(nd.zeros([200, 100], 'float64'));
  const cases: [Tensor, number][] = [
    [kaimingNormal(w(), { nonlinearity: 'relu', seed: 1 }), Math.sqrt(2 / 100)],
    [kaimingNormal(w(), { mode: 'fanOut', nonlinearity: 'relu', seed: 2 }), Math.sqrt(2 / 200)],
    [xavierNormal(w(), { seed: 3 }), Math.sqrt(2 / 300)],
    [lecunNormal(w(), { seed: 4 }), Math.sqrt(1 / 100)],
    [normal(w(), 0, 0.02, { seed: 5 }), 0.02],
  ];
  for (const [t, s] of cases) assert.ok(Math.abs(std(values(t)) / s - 1) < 0.03, `std ${std(values(t))} vs ${s}`);
});

test('truncNormal respects [a, b]; seeds reproduce; fills work on NDArrays too', () => {
  const v = values(truncNormal(new Tensor(nd.zeros([5000])), { std: 1, a: -0.5, b: 1, seed: 3 }));
  assert.ok(v.every((x) => x >= -0.5 && x <= 1));
  assert.ok(Math.min(...v) < -0.45 && Math.max(...v) > 0.95);
  assert.equal(values(truncNormal(new Tensor(nd.zeros([10])), { seed: 3 })), values(truncNormal(new Tensor(nd.zeros([10])), { seed: 3 })));
  assert.throws(() => truncNormal(nd.zeros([2]), { mean: 0, std: 1, a: 40, b: 41 }), /holds almost none of the mass/);
  const a = constant(nd.zeros([3], 'float64'), 2.5);
  assert.equal(values(a), [2.5, 2.5, 2.5]);
  assert.throws(() => constant(nd.zeros([2], 'int32'), 1), /can only fill float tensors/);
  const shared = new nd.Rng(7);
  const x = values(normal(nd.zeros([4]), 0, 1, { rng: shared }));
  const y = values(normal(nd.zeros([4]), 0, 1, { rng: shared }));
  assert.not.equal(x, y, 'a shared generator continues its stream');
});

test.run();
