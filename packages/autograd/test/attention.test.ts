/**
 * The scaledDotProductAttention node: gradcheck (first order through
 * `nd.attentionBackward`, the fast backend's fused kernel by default) and gradgradcheck
 * (the recorded tensor-op rule) on strided q, k, v of drawn shapes, causal and not;
 * its forward and gradients against attention composed from elementary ops; and the
 * errors on shapes that do not fit.
 */
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as nd from '@tsgrad/tensor';
import { gradcheck, gradgradcheck, gradients, scaledDotProductAttention, Tensor } from '../src/index.ts';
import { maxAbsDiff, params, shapeArb, viewedArb, type Viewed } from './arbitraries.ts';

interface Case {
  q: Viewed;
  k: Viewed;
  v: Viewed;
  causal: boolean;
  scale: number | undefined;
}

/** Leading axes (0-2), T, S, D, Dv in 1..4 (T != S included, also with the causal mask), optional scale. */
const caseArb = (maxSide = 4): fc.Arbitrary<Case> =>
  fc
    .tuple(shapeArb({ minDims: 0, maxDims: 2, maxSide: 2 }), shapeArb({ minDims: 4, maxDims: 4, maxSide }), fc.boolean(), fc.option(fc.constantFrom(0.3, 1.7), { nil: undefined }))
    .chain(([lead, [t, s, d, dv], causal, scale]) =>
      fc.record({
        q: viewedArb([...lead, t!, d!]),
        k: viewedArb([...lead, s!, d!]),
        v: viewedArb([...lead, s!, dv!]),
        causal: fc.constant(causal),
        scale: fc.constant(scale),
      }),
    );

/** Attention written out in elementary ops, as nn's MultiHeadAttention composed it before the fused op. */
function composed(q: Tensor, k: Tensor, v: Tensor, causal: boolean, scale?: number): Tensor {
  let s = q.matmul(k.mT).mul(scale ?? 1 / Math.sqrt(q.shape[q.ndim - 1]!));
  if (causal) {
    const [t, n] = [q.shape[q.ndim - 2]!, k.shape[k.ndim - 2]!];
    const mask = nd.zeros([t, n], 'bool');
    for (let i = 0; i < t; i++) for (let j = i + 1; j < n; j++) mask.data[i * n + j] = 1;
    s = s.maskedFill(mask, -Infinity);
  }
  return s.softmax(-1).matmul(v);
}

test('gradcheck: scaledDotProductAttention on strided q, k, v, causal and not (fused first-order backward)', () => {
  fc.assert(
    fc.property(caseArb(), ({ q, k, v, causal, scale }) =>
      gradcheck((a, b, c) => scaledDotProductAttention(q.view(a!), k.view(b!), v.view(c!), { causal, scale }), [q.leaf, k.leaf, v.leaf], { atol: 1e-5, rtol: 1e-3 }),
    ),
    params(40),
  );
});

test('gradgradcheck: scaledDotProductAttention second derivatives through the composed rule (createGraph)', () => {
  fc.assert(
    fc.property(caseArb(3), ({ q, k, v, causal, scale }) =>
      gradgradcheck((a, b, c) => scaledDotProductAttention(q.view(a!), k.view(b!), v.view(c!), { causal, scale }), [q.leaf, k.leaf, v.leaf], { atol: 1e-4, rtol: 1e-3 }),
    ),
    params(15),
  );
});

test('scaledDotProductAttention: forward and gradients equal the composed ops, on the fast and the reference backend', () => {
  fc.assert(
    fc.property(caseArb(), fc.constantFrom('fast', 'reference'), ({ q, k, v, causal, scale }, backend) =>
      nd.withBackend(backend, () => {
        const run = (f: typeof composed) => {
          const xs = [q, k, v].map((x) => new Tensor(nd.copy(x.leaf.data), true));
          const y = f(q.view(xs[0]!), k.view(xs[1]!), v.view(xs[2]!), causal, scale);
          return [y, ...gradients(y.mul(y).sum(), xs)];
        };
        const got = run((a, b, c, cz, sc) => scaledDotProductAttention(a, b, c, { causal: cz, scale: sc }));
        const want = run(composed);
        got.forEach((g, i) => assert.ok(maxAbsDiff(g.data.toFloat64Array(), want[i]!.data.toFloat64Array()) < 1e-12, `output ${i} differs by ${maxAbsDiff(g.data.toFloat64Array(), want[i]!.data.toFloat64Array())}`));
      }),
    ),
    params(40),
  );
});

test('scaledDotProductAttention: shapes that do not fit throw, naming the op and all three shapes', () => {
  const t = (shape: number[]) => new Tensor(nd.zeros(shape, 'float64'), true);
  const cases: [number[], number[], number[], RegExp][] = [
    [[2, 4, 3], [2, 4, 5], [2, 4, 3], /feature size/],
    [[2, 4, 3], [2, 5, 3], [2, 4, 3], /as many rows/],
    [[2, 4, 3], [3, 4, 3], [3, 4, 3], /leading/],
    [[4, 3], [1, 4, 3], [1, 4, 3], /same rank/],
    [[3], [3], [3], /same rank/],
  ];
  for (const [qs, ks, vs, why] of cases) {
    assert.throws(
      () => scaledDotProductAttention(t(qs), t(ks), t(vs), { causal: true }),
      (e: Error) => why.test(e.message) && e.message.startsWith('scaledDotProductAttention:') && e.message.includes(`q [${qs.join(', ')}], k [${ks.join(', ')}], v [${vs.join(', ')}]`),
      `q ${qs} k ${ks} v ${vs}`,
    );
  }
});

test('scaledDotProductAttention: no keys (S = 0) gives zeros, and empty batches give empty outputs', () => {
  const t = (shape: number[]) => new Tensor(nd.ones(shape, 'float64'), true);
  const y = scaledDotProductAttention(t([2, 3, 2]), t([2, 0, 2]), t([2, 0, 4]));
  assert.equal(y.shape, [2, 3, 4]);
  assert.ok(Array.from(y.data.toFloat64Array()).every((x) => x === 0));
  assert.equal(scaledDotProductAttention(t([0, 3, 2]), t([0, 3, 2]), t([0, 3, 4]), { causal: true }).shape, [0, 3, 4]);
});

test.run();
