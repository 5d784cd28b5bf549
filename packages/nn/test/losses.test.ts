/**
 * Losses against formulas written out on plain JS arrays (PyTorch semantics for
 * ignoreIndex and label smoothing), gradient checks, and accuracy.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { gradcheck, Tensor, tensor } from '@tsgrad/autograd';
import * as nd from '@tsgrad/tensor';
import { accuracy, crossEntropy, mseLoss, nllLoss } from '../src/index.ts';
import { f64, ids, values } from './nn-helpers.ts';

/** PyTorch's cross_entropy, written out: per-row losses and the reduced value. */
function referenceCE(logits: number[][], target: number[], ignore: number, eps: number, reduction: string): number | number[] {
  const c = logits[0]!.length;
  const rows = logits.map((row, i) => {
    if (target[i] === ignore) return 0;
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    const logp = row.map((v) => v - lse);
    const nll = -logp[target[i]!]!;
    const smooth = -logp.reduce((s, v) => s + v, 0) / c;
    return (1 - eps) * nll + eps * smooth;
  });
  if (reduction === 'none') return rows;
  const sum = rows.reduce((a, b) => a + b, 0);
  if (reduction === 'sum') return sum;
  return sum / target.filter((t) => t !== ignore).length;
}

const caseArb = fc
  .record({ n: fc.integer({ min: 1, max: 5 }), c: fc.integer({ min: 2, max: 5 }), seed: fc.integer() })
  .chain(({ n, c, seed }) =>
    fc.record({
      n: fc.constant(n),
      c: fc.constant(c),
      seed: fc.constant(seed),
      target: fc.array(fc.oneof(fc.integer({ min: 0, max: c - 1 }), fc.constant(-100)), { minLength: n, maxLength: n }),
      eps: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 0.5, noNaN: true })),
      reduction: fc.constantFrom('mean', 'sum', 'none'),
    }),
  );

test('crossEntropy matches the written-out formula (ignoreIndex, label smoothing, reductions)', () => {
  fc.assert(
    fc.property(caseArb, ({ n, c, seed, target, eps, reduction }) => {
      if (reduction === 'mean' && target.every((t) => t === -100)) return true;
      const logits = nd.randn([n, c], { seed, dtype: 'float64', std: 3 });
      const got = crossEntropy(new Tensor(logits), ids(target, [n]), { labelSmoothing: eps, reduction: reduction as 'mean' });
      const want = referenceCE(logits.toArray() as number[][], target, -100, eps, reduction);
      const g = values(got);
      const w = typeof want === 'number' ? [want] : want;
      assert.equal(g.length, w.length);
      g.forEach((v, i) => assert.ok(Math.abs(v - w[i]!) < 1e-10, `${v} vs ${w[i]}`));
      return true;
    }),
    { numRuns: 100 },
  );
});

test('gradcheck: crossEntropy with ignoreIndex and label smoothing', () => {
  fc.assert(
    fc.property(caseArb, ({ n, c, seed, target, eps, reduction }) => {
      if (target.every((t) => t === -100)) return true;
      const x = f64(nd.randn([n, c], { seed, dtype: 'float64' }).toFloat64Array(), [n, c]);
      return gradcheck((l) => crossEntropy(l, ids(target, [n]), { labelSmoothing: eps, reduction: reduction as 'mean' }), [x]);
    }),
    { numRuns: 25 },
  );
});

test('crossEntropy on [B, T, C] logits equals the flattened [N, C] call; custom ignoreIndex', () => {
  const logits = new Tensor(nd.randn([2, 3, 4], { seed: 1, dtype: 'float64' }));
  const t = [0, 3, 1, 2, 2, 0];
  const a = crossEntropy(logits, ids(t, [2, 3])).item();
  const b = crossEntropy(logits.reshape([6, 4]), ids(t, [6])).item();
  assert.ok(Math.abs(a - b) < 1e-12);
  const none = crossEntropy(logits, ids(t, [2, 3]), { reduction: 'none' });
  assert.equal(none.shape, [2, 3]);
  const ig = crossEntropy(logits, ids([0, 3, 1, 2, 2, 0], [2, 3]), { ignoreIndex: 2 }).item();
  const ref = referenceCE(logits.reshape([6, 4]).toArray() as number[][], t, 2, 0, 'mean') as number;
  assert.ok(Math.abs(ig - ref) < 1e-12);
});

test('crossEntropy: all targets ignored gives NaN for mean and 0 for sum; bad targets are errors', () => {
  const logits = new Tensor(nd.randn([2, 3], { seed: 0 }));
  assert.ok(Number.isNaN(crossEntropy(logits, ids([-100, -100], [2])).item()));
  assert.is(crossEntropy(logits, ids([-100, -100], [2]), { reduction: 'sum' }).item(), 0);
  assert.throws(() => crossEntropy(logits, ids([0, 3], [2])), /target 3 at position 1 is out of range for 3 classes/);
  assert.throws(() => crossEntropy(logits, tensor([0, 1])), /target must be int32/);
  assert.throws(() => crossEntropy(logits, ids([0, 1, 2], [3])), /scores of shape \[2, 3\] need targets of shape \[2\], got \[3\]/);
});

test('nllLoss of logSoftmax equals crossEntropy; gradcheck', () => {
  const x = f64(nd.randn([4, 3], { seed: 2, dtype: 'float64' }).toFloat64Array(), [4, 3]);
  const y = ids([0, -100, 2, 1], [4]);
  assert.ok(Math.abs(nllLoss(x.logSoftmax(-1), y).item() - crossEntropy(x, y).item()) < 1e-12);
  gradcheck((l) => nllLoss(l, y, { reduction: 'sum' }), [x]);
});

test('mseLoss reductions and gradcheck', () => {
  const a = f64([1, 2, 3], [3]);
  const b = f64([1, 0, 0], [3]);
  assert.is(mseLoss(a, b).item(), (0 + 4 + 9) / 3);
  assert.is(mseLoss(a, b, { reduction: 'sum' }).item(), 13);
  assert.equal(values(mseLoss(a, b, { reduction: 'none' })), [0, 4, 9]);
  gradcheck((x, y) => mseLoss(x, y), [a, b]);
});

test('accuracy counts arg-max hits and skips ignored targets', () => {
  const logits = tensor([
    [0.1, 0.9],
    [0.8, 0.2],
    [0.3, 0.7],
  ]);
  assert.is(accuracy(logits, ids([1, 1, 1], [3])), 2 / 3);
  assert.is(accuracy(logits, ids([1, -100, 1], [3])), 1);
});

test.run();
