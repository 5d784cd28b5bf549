/**
 * Convolutional layers: PyTorch names, shapes and default inits; gradient checks through the
 * modules (float64, inputs and parameters together); BatchNorm's running statistics (EMA and
 * cumulative) and modes; LayerNorm2d against its definition and its channel-permutation
 * symmetry; a state dict with int buffers through safetensors.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { avgPool2d, conv2d, maxPool2d, noGrad, Tensor } from '@tsgrad/autograd';
import * as nd from '@tsgrad/tensor';
import {
  AdaptiveAvgPool2d,
  AvgPool2d,
  BatchNorm1d,
  BatchNorm2d,
  Conv2d,
  Flatten,
  LayerNorm2d,
  MaxPool2d,
  parseSafetensors,
  serializeSafetensors,
  Sequential,
} from '../src/index.ts';
import { checkModule, maxAbsDiff, randn64, values } from './nn-helpers.ts';

test('Conv2d: PyTorch layout, init U(-1/sqrt(fanIn), 1/sqrt(fanIn)) with fanIn = in/groups*kh*kw, spread over it (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 5 }), fc.integer(), (g, ci, co, k, seed) => {
      const conv = new Conv2d(ci * g, co * g, [k, k + 1], { groups: g, seed });
      assert.equal(conv.weight.shape, [co * g, ci, k, k + 1]);
      assert.equal(conv.bias!.shape, [co * g]);
      assert.equal(Object.keys(conv.stateDict()), ['weight', 'bias']);
      const bound = 1 / Math.sqrt(ci * k * (k + 1));
      const w = values(conv.weight);
      for (const v of [...w, ...values(conv.bias!)]) assert.ok(Math.abs(v) <= bound);
      if (w.length >= 40) assert.ok(Math.max(...w.map(Math.abs)) > 0.7 * bound, 'weights fill the interval');
    }),
    { numRuns: 40 },
  );
  assert.is(new Conv2d(2, 3, 3, { bias: false }).bias, null);
  assert.equal(Object.keys(new Conv2d(2, 3, 3, { bias: false }).stateDict()), ['weight']);
  // same seed, same weights; the weight is drawn before the bias from one stream
  assert.equal(values(new Conv2d(2, 3, 3, { seed: 5 }).weight), values(new Conv2d(2, 3, 3, { seed: 5, bias: false }).weight));
});

test('Conv2d: forward is conv2d with its options; bad input names the layer and shapes', () => {
  const conv = new Conv2d(4, 6, [3, 2], { stride: [2, 1], padding: [1, 0], dilation: [1, 2], groups: 2, seed: 1 });
  const x = new Tensor(nd.randn([2, 4, 7, 6], { seed: 2 }));
  const y = conv.call(x);
  assert.equal(y.shape, [2, 6, 4, 4]);
  const ref = conv2d(x, conv.weight, conv.bias, { stride: [2, 1], padding: [1, 0], dilation: [1, 2], groups: 2 });
  assert.equal(values(y), values(ref));
  assert.equal(new Conv2d(1, 2, 3, { padding: 'same' }).call(new Tensor(nd.randn([1, 1, 5, 5], { seed: 0 }))).shape, [1, 2, 5, 5]);
  assert.throws(() => conv.call(new Tensor(nd.randn([2, 3, 7, 6], { seed: 2 }))), /Conv2d: expected input \[N, 4, H, W\].*got \[2, 3, 7, 6\]/);
  assert.throws(() => new Conv2d(3, 4, 3, { groups: 2 }), /divisible by groups/);
});

test('Conv2d, pools, Flatten, BatchNorm2d (train), LayerNorm2d: float64 gradients through the modules (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 0, max: 1000 }), (n, c, s, seed) => {
      const conv = new Conv2d(c, 2, 2, { stride: s, padding: 1, seed, dtype: 'float64' });
      checkModule(conv, [randn64([n, c, 4, 3], seed)]);
      checkModule(new BatchNorm2d(c, { dtype: 'float64' }), [randn64([n + 1, c, 2, 3], seed)]);
      checkModule(new LayerNorm2d(c, { dtype: 'float64' }), [randn64([n, c, 2, 3], seed)]);
      return checkModule(
        new Sequential(new Conv2d(c, 2, 3, { padding: 1, seed, dtype: 'float64' }), new AvgPool2d(2), new Flatten(), new BatchNorm1d(2 * 2 * 2, { dtype: 'float64' })),
        [randn64([n + 1, c, 4, 5], seed + 1)],
      );
    }),
    { numRuns: 8 },
  );
});

test('pool layers and Flatten: shapes, values as the functional ops, Flatten order', () => {
  const x = new Tensor(nd.randn([2, 3, 7, 7], { seed: 3 }));
  assert.equal(values(new MaxPool2d(2).call(x)), values(maxPool2d(x, { kernelSize: 2 })));
  assert.equal(new MaxPool2d(3, { stride: 2, padding: 1 }).call(x).shape, [2, 3, 4, 4]);
  assert.equal(values(new AvgPool2d(3, { stride: 2, padding: 1 }).call(x)), values(avgPool2d(x, { kernelSize: 3, stride: 2, padding: 1 })));
  const g = new AdaptiveAvgPool2d(1).call(x);
  assert.equal(g.shape, [2, 3, 1, 1]);
  assert.ok(Math.abs(values(g)[4]! - values(x).slice(4 * 49, 5 * 49).reduce((a, b) => a + b) / 49) < 1e-6);
  const f = new Flatten().call(x);
  assert.equal(f.shape, [2, 147]);
  assert.equal(values(f), values(x));
  assert.equal(new Flatten(1, 2).call(x).shape, [2, 21, 7]);
  assert.throws(() => new Flatten(2, 1).call(x), /Flatten: startDim 2 and endDim 1/);
});

test('BatchNorm2d: PyTorch state-dict names and inits; training normalises per channel and moves the running statistics by momentum', () => {
  const bn = new BatchNorm2d(3);
  assert.equal(Object.keys(bn.stateDict()), ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
  assert.equal([...bn.parameters()].length, 2);
  assert.equal(values(bn.weight!), [1, 1, 1]);
  assert.equal(values(bn.bias!), [0, 0, 0]);
  assert.equal(values(bn.running_var!), [1, 1, 1]);
  assert.equal(bn.num_batches_tracked!.shape, []);
  assert.is(bn.num_batches_tracked!.dtype, 'int32');

  const x = nd.add(nd.mul(nd.randn([4, 3, 5, 5], { seed: 1, dtype: 'float64' }), 2), 3);
  const y = bn.call(new Tensor(x));
  const per = (a: nd.NDArray, ch: number) => {
    const v: number[] = [];
    for (let n = 0; n < 4; n++) for (let i = 0; i < 25; i++) v.push(a.data[(n * 3 + ch) * 25 + i]!);
    return v;
  };
  for (let ch = 0; ch < 3; ch++) {
    const out = per(y.data, ch);
    const m = out.reduce((a, b) => a + b) / 100;
    const v = out.reduce((a, b) => a + (b - m) ** 2, 0) / 100;
    assert.ok(Math.abs(m) < 1e-5 && Math.abs(v - 1) < 1e-3, `channel ${ch}: mean ${m}, var ${v}`);
    const inp = per(x, ch);
    const mi = inp.reduce((a, b) => a + b) / 100;
    const unbiased = inp.reduce((a, b) => a + (b - mi) ** 2, 0) / 99;
    assert.ok(Math.abs(bn.running_mean!.data.data[ch]! - 0.1 * mi) < 1e-5);
    assert.ok(Math.abs(bn.running_var!.data.data[ch]! - (0.9 + 0.1 * unbiased)) < 1e-4);
  }
  assert.is(bn.num_batches_tracked!.data.data[0], 1);

  // eval: the affine map with the running statistics, and no update
  bn.eval();
  bn.weight!.data.data.set([2, -1, 0.5]);
  bn.bias!.data.data.set([0.1, 0.2, 0.3]);
  const before = values(bn.running_mean!);
  const z = bn.call(new Tensor(x));
  const rm = values(bn.running_mean!);
  const rv = values(bn.running_var!);
  const expected = Array.from(x.data, (v, i) => {
    const ch = Math.floor(i / 25) % 3;
    return ((v - rm[ch]!) / Math.sqrt(rv[ch]! + 1e-5)) * [2, -1, 0.5][ch]! + [0.1, 0.2, 0.3][ch]!;
  });
  assert.ok(maxAbsDiff(values(z), expected) < 1e-5);
  assert.equal(values(bn.running_mean!), before);
  assert.is(bn.num_batches_tracked!.data.data[0], 1);
});

test('BatchNorm momentum null: the running statistics are the plain average over batches since reset (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 1000 }), (batches, seed) => {
      const bn = new BatchNorm1d(2, { momentum: null, dtype: 'float64' });
      bn.running_mean!.data.data.set([5, 5]); // stale statistics, forgotten by the reset
      bn.resetRunningStats();
      const means = [0, 0];
      const vars = [0, 0];
      for (let b = 0; b < batches; b++) {
        const x = nd.add(nd.randn([6, 2], { seed: seed + b, dtype: 'float64' }), b);
        bn.call(new Tensor(x));
        for (let ch = 0; ch < 2; ch++) {
          const col = [0, 1, 2, 3, 4, 5].map((r) => x.data[r * 2 + ch]!);
          const m = col.reduce((a, c) => a + c) / 6;
          means[ch]! += m / batches;
          vars[ch]! += col.reduce((a, c) => a + (c - m) ** 2, 0) / 5 / batches;
        }
      }
      assert.is(bn.num_batches_tracked!.data.data[0], batches);
      assert.ok(maxAbsDiff(values(bn.running_mean!), means) < 1e-12);
      assert.ok(maxAbsDiff(values(bn.running_var!), vars) < 1e-12);
    }),
    { numRuns: 20 },
  );
});

test('BatchNorm: shape errors name the layer and leave the statistics alone; no tracking uses batch statistics in eval', () => {
  const bn = new BatchNorm2d(3);
  const sd = bn.stateDict({ clone: true });
  assert.throws(() => bn.call(new Tensor(nd.randn([2, 4, 3, 3], { seed: 0 }))), /BatchNorm2d: expected input \[N, 3, _, _\], got \[2, 4, 3, 3\]/);
  assert.throws(() => bn.call(new Tensor(nd.randn([1, 3, 1, 1], { seed: 0 }))), /more than 1 value per channel/);
  for (const [k, v] of Object.entries(bn.stateDict())) assert.equal(values(v), values(sd[k]!), k);
  assert.throws(() => new BatchNorm1d(2).call(new Tensor(nd.randn([2, 2, 2, 2], { seed: 0 }))), /BatchNorm1d: expected input \[N, 2\] or \[N, 2, _\]/);
  assert.throws(() => new BatchNorm2d(2, { momentum: 1.5 }), /BatchNorm2d: eps \(0.00001\) must be >= 0 and momentum \(1.5\) in \[0, 1\] or null/);
  const free = new BatchNorm1d(2, { trackRunningStats: false, affine: false }).eval();
  assert.equal(Object.keys(free.stateDict()), []);
  const out = values(free.call(new Tensor(nd.NDArray.fromTyped(Float32Array.from([1, 10, 3, 30]), [2, 2]))));
  assert.ok(maxAbsDiff(out, [-1, -1, 1, 1]) < 1e-4);
});

test('LayerNorm2d: normalises the channels of each position; commutes with a channel permutation (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 5 }), fc.integer({ min: 0, max: 1000 }), (c, seed) => {
      const ln = new LayerNorm2d(c, { dtype: 'float64' });
      const rng = new nd.Rng(seed);
      ln.weight!.data = nd.randn([c], { seed, dtype: 'float64' });
      ln.bias!.data = nd.randn([c], { seed: seed + 1, dtype: 'float64' });
      const x = nd.randn([2, c, 3, 2], { seed: seed + 2, dtype: 'float64' });
      const y = noGrad(() => ln.call(new Tensor(x))).data.contiguous(); // the output is an NCHW view of NHWC storage
      // definition, position by position
      const w = values(ln.weight!);
      const b = values(ln.bias!);
      for (let n = 0; n < 2; n++)
        for (let p = 0; p < 6; p++) {
          const col = Array.from({ length: c }, (_, ch) => x.data[(n * c + ch) * 6 + p]!);
          const m = col.reduce((s, v) => s + v) / c;
          const v = col.reduce((s, u) => s + (u - m) ** 2, 0) / c;
          col.forEach((u, ch) => {
            const want = ((u - m) / Math.sqrt(v + 1e-5)) * w[ch]! + b[ch]!;
            assert.ok(Math.abs(y.data[(n * c + ch) * 6 + p]! - want) < 1e-10);
          });
        }
      // permuting input channels, weight and bias permutes the output channels
      const perm = rng.permutation(c);
      const take = (a: nd.NDArray, axis: number) => nd.indexSelect(a, axis, nd.NDArray.fromTyped(perm, [c]));
      const ln2 = new LayerNorm2d(c, { dtype: 'float64' });
      ln2.weight!.data = take(ln.weight!.data, 0);
      ln2.bias!.data = take(ln.bias!.data, 0);
      const y2 = noGrad(() => ln2.call(new Tensor(take(x, 1)))).data;
      return maxAbsDiff(y2.toFloat64Array(), take(y, 1).toFloat64Array()) < 1e-12;
    }),
    { numRuns: 20 },
  );
});

test('a conv + batch-norm state dict, int32 num_batches_tracked included, survives safetensors', () => {
  const net = new Sequential(new Conv2d(1, 4, 3, { seed: 0 }), new BatchNorm2d(4), new MaxPool2d(2), new Flatten());
  net.call(new Tensor(nd.randn([2, 1, 6, 6], { seed: 1 })));
  const sd = net.stateDict();
  assert.equal(Object.keys(sd), ['0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked']);
  const back = parseSafetensors(serializeSafetensors(sd)).tensors;
  const fresh = new Sequential(new Conv2d(1, 4, 3, { seed: 9 }), new BatchNorm2d(4), new MaxPool2d(2), new Flatten());
  fresh.loadStateDict(back);
  for (const [k, v] of Object.entries(fresh.stateDict())) assert.equal(values(v), values(sd[k]!), k);
  assert.is(fresh.stateDict()['1.num_batches_tracked']!.data[0], 1);
});

test.run();
