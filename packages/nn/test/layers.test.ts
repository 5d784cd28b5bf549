/**
 * Layers: Linear's PyTorch init and layout, shapes, and float64 gradient checks
 * (inputs and parameters together) of every layer over small random shapes; the
 * causal attention mask as a property (future tokens never change earlier outputs).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Tensor, tensor } from '@tsgrad/autograd';
import * as nd from '@tsgrad/tensor';
import {
  Dropout,
  Embedding,
  FeedForward,
  GELU,
  LayerNorm,
  Linear,
  MLP,
  MultiHeadAttention,
  ReLU,
  RMSNorm,
  Sequential,
  SiLU,
  Tanh,
  TransformerBlock,
  causalMask,
} from '../src/index.ts';
import { checkModule, ids, maxAbsDiff, randn64, values } from './nn-helpers.ts';

const small = fc.integer({ min: 1, max: 4 });

test('Linear: weight (out, in), init within U(-1/sqrt(in), 1/sqrt(in)) and spread over it (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 40 }), fc.integer(), (inF, outF, seed) => {
      const lin = new Linear(inF, outF, { seed });
      assert.equal(lin.weight.shape, [outF, inF]);
      assert.equal(lin.bias!.shape, [outF]);
      const bound = 1 / Math.sqrt(inF);
      const w = values(lin.weight);
      const b = values(lin.bias!);
      assert.ok([...w, ...b].every((v) => Math.abs(v) <= bound * (1 + 1e-6)));
      if (w.length >= 200) {
        // a uniform on [-bound, bound] has std bound / sqrt(3)
        const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
        assert.ok(Math.abs(std / (bound / Math.sqrt(3)) - 1) < 0.2, `std ${std}`);
        assert.ok(Math.max(...w.map(Math.abs)) > 0.8 * bound);
      }
      return true;
    }),
    { numRuns: 40 },
  );
});

test('Linear: y = x W^T + b on any leading axes; same seed, same weights', () => {
  const lin = new Linear(3, 2, { seed: 7 });
  assert.equal(values(new Linear(3, 2, { seed: 7 }).weight), values(lin.weight));
  assert.not.equal(values(new Linear(3, 2, { seed: 8 }).weight), values(lin.weight));
  const x = nd.randn([2, 4, 3], { seed: 1 });
  const y = lin.call(new Tensor(x));
  assert.equal(y.shape, [2, 4, 2]);
  const w = lin.weight.data;
  const b = lin.bias!.data;
  for (let i = 0; i < 2; i++) {
    for (let t = 0; t < 4; t++) {
      for (let o = 0; o < 2; o++) {
        let s = b.get(o);
        for (let k = 0; k < 3; k++) s += x.get(i, t, k) * w.get(o, k);
        assert.ok(Math.abs(y.data.get(i, t, o) - s) < 1e-5);
      }
    }
  }
  assert.equal(new Linear(3, 2, { bias: false }).bias, null);
  assert.throws(() => lin.call(tensor([[1, 2]])), /Linear: input of shape \[1, 2\] does not end in inFeatures = 3/);
});

test('gradcheck: Linear (with and without bias), over small shapes', () => {
  fc.assert(
    fc.property(small, small, small, fc.boolean(), fc.integer(), (n, inF, outF, bias, seed) => {
      const lin = new Linear(inF, outF, { bias, seed, dtype: 'float64' });
      return checkModule(lin, [randn64([n, inF], seed)]);
    }),
    { numRuns: 15 },
  );
});

test('gradcheck: Embedding with repeated ids accumulates rows', () => {
  const emb = new Embedding(5, 3, { seed: 0, dtype: 'float64' });
  checkModule(emb, [ids([1, 4, 1, 0, 1, 3], [2, 3])]);
  emb.weight.grad = null;
  emb.call(ids([1, 1, 2], [3])).sum().backward();
  const g = emb.weight.grad!.data;
  assert.equal([g.get(1, 0), g.get(2, 0), g.get(0, 0)], [2, 1, 0]);
  assert.throws(() => emb.call(tensor([1.5])), /Embedding: ids must be int32/);
});

test('LayerNorm matches the formula with biased variance; gradcheck over small shapes', () => {
  const ln = new LayerNorm(4, { dtype: 'float64' });
  const x = randn64([2, 4], 3, false);
  const y = values(ln.call(x));
  const xv = values(x);
  for (let r = 0; r < 2; r++) {
    const row = xv.slice(4 * r, 4 * r + 4);
    const mu = row.reduce((a, b) => a + b) / 4;
    const v = row.reduce((a, b) => a + (b - mu) ** 2, 0) / 4;
    row.forEach((xi, j) => assert.ok(Math.abs(y[4 * r + j]! - (xi - mu) / Math.sqrt(v + 1e-5)) < 1e-12));
  }
  fc.assert(
    fc.property(small, fc.integer({ min: 2, max: 5 }), fc.integer(), (n, d, seed) => {
      const m = new LayerNorm(d, { dtype: 'float64' });
      // non-trivial affine parameters, so their gradients are checked at a generic point
      m.weight!.data = nd.randn([d], { seed: seed + 1, dtype: 'float64' });
      m.bias!.data = nd.randn([d], { seed: seed + 2, dtype: 'float64' });
      return checkModule(m, [randn64([n, 2, d], seed)]);
    }),
    { numRuns: 12 },
  );
});

test('RMSNorm matches the formula; gradcheck over small shapes', () => {
  const rms = new RMSNorm(3, { dtype: 'float64', eps: 1e-6 });
  const x = randn64([1, 3], 5, false);
  const xv = values(x);
  const r = Math.sqrt(xv.reduce((a, b) => a + b * b, 0) / 3 + 1e-6);
  assert.ok(maxAbsDiff(values(rms.call(x)), xv.map((v) => v / r)) < 1e-12);
  fc.assert(
    fc.property(small, fc.integer({ min: 1, max: 5 }), fc.integer(), (n, d, seed) => {
      const m = new RMSNorm(d, { dtype: 'float64' });
      m.weight!.data = nd.randn([d], { seed: seed + 1, dtype: 'float64' });
      return checkModule(m, [randn64([n, d], seed)]);
    }),
    { numRuns: 12 },
  );
});

test('gradcheck: activations', () => {
  for (const m of [new ReLU(), new GELU(), new GELU('tanh'), new SiLU(), new Tanh()]) {
    // values away from ReLU's kink
    const x = new Tensor(nd.add(nd.randn([2, 3], { seed: 4, dtype: 'float64' }), 0.05), true);
    checkModule(m, [x]);
  }
});

test('Dropout: seeded masks, zeros with probability p, survivors scaled by 1/(1-p), identity in eval', () => {
  const x = new Tensor(nd.ones([20000]));
  const d1 = new Dropout(0.25, { seed: 3 });
  const y = values(d1.call(x));
  assert.equal(y, values(new Dropout(0.25, { seed: 3 }).call(x)));
  const zerosFrac = y.filter((v) => v === 0).length / y.length;
  assert.ok(Math.abs(zerosFrac - 0.25) < 0.02, `fraction zeroed ${zerosFrac}`);
  assert.ok(y.every((v) => v === 0 || Math.abs(v - 4 / 3) < 1e-6));
  assert.not.equal(values(d1.call(x)).slice(0, 50), y.slice(0, 50), 'a fresh mask per call');
  d1.eval();
  assert.is(d1.call(x), x);
  assert.equal(values(new Dropout(1, { seed: 0 }).call(x)).slice(0, 3), [0, 0, 0]);
  assert.throws(() => new Dropout(1.5), /probability must be in \[0, 1\]/);
  // the mask is a constant: the gradient is the mask itself
  const d2 = new Dropout(0.5, { seed: 9 });
  const xg = new Tensor(nd.ones([10]), true);
  const out = d2.call(xg);
  out.sum().backward();
  assert.equal(values(xg.grad!), values(out));
});

test('gradcheck: Sequential and MLP', () => {
  checkModule(new Sequential(new Linear(3, 4, { seed: 0, dtype: 'float64' }), new Tanh(), new Linear(4, 2, { seed: 1, dtype: 'float64' })), [randn64([2, 3], 1)]);
  checkModule(new MLP([3, 5, 4, 2], { activation: 'gelu', seed: 0, dtype: 'float64' }), [randn64([2, 3], 2)]);
});

test('causalMask is true strictly above the diagonal', () => {
  assert.equal(causalMask(3).toArray(), [
    [false, true, true],
    [false, false, true],
    [false, false, false],
  ]);
});

test('attention: the first position attends only to itself', () => {
  const attn = new MultiHeadAttention(4, 2, { seed: 0, dtype: 'float64' });
  const x = randn64([1, 3, 4], 1, false);
  const y = attn.call(x);
  // at t = 0 the softmax has one entry, so the output is out_proj(v_proj(x_0))
  const x0 = x.slice(1, 0, 1);
  const expected = attn.out_proj.call(attn.v_proj.call(x0));
  assert.ok(maxAbsDiff(values(y.slice(1, 0, 1)), values(expected)) < 1e-12);
});

test('gradcheck: causal MultiHeadAttention over small shapes (inputs and all four projections)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 4 }), fc.constantFrom([2, 1], [4, 2], [6, 3], [4, 1]), fc.integer(), (b, t, [d, h], seed) => {
      const attn = new MultiHeadAttention(d!, h!, { seed, dtype: 'float64' });
      return checkModule(attn, [randn64([b, t, d!], seed)]);
    }),
    { numRuns: 10 },
  );
  checkModule(new MultiHeadAttention(4, 2, { seed: 1, causal: false, dtype: 'float64' }), [randn64([1, 3, 4], 2)]);
});

test('property: changing future tokens does not change earlier outputs (attention, block)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 6 }), fc.integer({ min: 0, max: 5 }), fc.integer(), (t, cutRaw, seed) => {
      const cut = cutRaw % t; // positions >= cut are changed
      const modules = [new MultiHeadAttention(8, 2, { seed }), new TransformerBlock(8, 2, { seed })];
      const x = nd.randn([2, t, 8], { seed });
      const x2 = nd.copy(x);
      const noise = nd.randn([2, t - cut, 8], { seed: seed + 1 });
      nd.getBackend().assign(x2.slice(1, cut), noise);
      for (const m of modules) {
        const y1 = m.call(new Tensor(x)).data;
        const y2 = m.call(new Tensor(x2)).data;
        if (cut > 0) assert.ok(maxAbsDiff(values(y1.slice(1, 0, cut)), values(y2.slice(1, 0, cut))) < 1e-6);
        // and the changed positions do change
        assert.ok(maxAbsDiff(values(y1.slice(1, cut)), values(y2.slice(1, cut))) > 1e-4);
      }
      return true;
    }),
    { numRuns: 15 },
  );
});

test('gradcheck: FeedForward and pre-norm TransformerBlock', () => {
  checkModule(new FeedForward(4, 6, { seed: 0, dtype: 'float64' }), [randn64([1, 2, 4], 3)]);
  const block = new TransformerBlock(4, 2, { seed: 0, dtype: 'float64', dHidden: 6 });
  checkModule(block, [randn64([1, 3, 4], 4)]);
  assert.equal([...block.namedChildren()].map(([n]) => n), ['ln1', 'attn', 'ln2', 'mlp']);
});

test.run();
