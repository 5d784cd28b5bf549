/**
 * GPT: parameter names and init, the whole model under gradcheck, causal masking end
 * to end, and the sampler (seeded, greedy limits, top-k, context cropping).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Tensor } from '@tsgrad/autograd';
import * as nd from '@tsgrad/tensor';
import { crossEntropy, GPT } from '../src/index.ts';
import { checkModule, ids, maxAbsDiff, values } from './nn-helpers.ts';

const tiny = (extra: object = {}) => new GPT({ vocabSize: 5, contextLength: 4, dModel: 4, nHeads: 2, nLayers: 1, seed: 0, ...extra });

test('GPT init: embeddings and weights N(0, 0.02), residual projections scaled, biases 0, LayerNorms 1/0', () => {
  const g = new GPT({ vocabSize: 50, contextLength: 32, dModel: 64, nHeads: 4, nLayers: 2, seed: 1 });
  const sd = (n: string) => values(g.getParameter(n));
  const std = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length);
  assert.ok(Math.abs(std(sd('tok_emb.weight')) / 0.02 - 1) < 0.1);
  assert.ok(Math.abs(std(sd('blocks.0.mlp.fc1.weight')) / 0.02 - 1) < 0.1);
  assert.ok(Math.abs(std(sd('blocks.1.mlp.fc2.weight')) / (0.02 / 2) - 1) < 0.1);
  assert.ok(Math.abs(std(sd('blocks.1.attn.out_proj.weight')) / (0.02 / 2) - 1) < 0.1);
  assert.ok(sd('blocks.0.attn.q_proj.bias').every((v) => v === 0));
  assert.ok(sd('blocks.0.ln1.weight').every((v) => v === 1) && sd('ln_f.bias').every((v) => v === 0));
  assert.is(g.lm_head.bias, null);
  assert.equal(values(new GPT({ vocabSize: 50, contextLength: 32, dModel: 64, nHeads: 4, nLayers: 2, seed: 1 }).lm_head.weight), values(g.lm_head.weight));
});

test('gradcheck: a whole tiny GPT with cross-entropy (every parameter)', () => {
  const g = tiny({ dtype: 'float64' });
  const target = ids([1, 4, 0, 2, 3, 3], [2, 3]);
  checkModule(g, [ids([0, 1, 4, 2, 2, 3], [2, 3])], { post: (logits) => crossEntropy(logits, target, { labelSmoothing: 0.1 }) });
});

test('GPT logits at position t do not depend on tokens after t; errors name shapes', () => {
  const g = tiny();
  const a = g.call(ids([0, 1, 2, 3], [1, 4])).data;
  const b = g.call(ids([0, 1, 4, 4], [1, 4])).data;
  assert.ok(maxAbsDiff(values(a.slice(1, 0, 2)), values(b.slice(1, 0, 2))) < 1e-6);
  assert.ok(maxAbsDiff(values(a.slice(1, 2)), values(b.slice(1, 2))) > 1e-6);
  assert.throws(() => g.call(ids([0, 1, 2, 3, 4], [1, 5])), /sequence of length 5 exceeds contextLength 4/);
  assert.throws(() => g.call(new Tensor(nd.zeros([1, 2]))), /expected int32 token ids of shape \[batch, time\], got float32 \[1, 2\]/);
});

test('generate: seeded, greedy at temperature 0 and top-k 1, crops the context, restores the mode', () => {
  const g = tiny({ dropout: 0.1 });
  const start = ids([1, 2], [1, 2]);
  const a = g.generate(start, 10, { seed: 3 });
  assert.equal(a.shape, [1, 12]);
  assert.equal(values(a).slice(0, 2), [1, 2]);
  assert.equal(values(a), values(g.generate(start, 10, { seed: 3 })));
  assert.ok(values(a).every((v) => Number.isInteger(v) && v >= 0 && v < 5));
  assert.is(g.training, true);
  const greedy = g.generate(start, 6, { temperature: 0 });
  assert.equal(values(greedy), values(g.generate(start, 6, { topK: 1, seed: 9 })));
  // greedy step by step equals the arg-max of the model's own logits (context cropped to 4)
  g.eval();
  const seq = values(greedy);
  for (let t = 2; t < seq.length; t++) {
    const ctx = seq.slice(Math.max(0, t - 4), t);
    const logits = values(g.call(ids(ctx, [1, ctx.length])).data.slice(1, ctx.length - 1));
    assert.is(seq[t], logits.indexOf(Math.max(...logits)));
  }
  // two rows are sampled independently
  const two = g.generate(ids([1, 2, 3, 0], [2, 2]), 5, { seed: 4 });
  assert.equal(two.shape, [2, 7]);
});

test('tied weights share one tensor and train together', () => {
  const g = tiny({ tieWeights: true });
  assert.is(g.lm_head.weight, g.tok_emb.weight);
  crossEntropy(g.call(ids([0, 1, 2], [1, 3])), ids([1, 2, 3], [1, 3])).backward();
  assert.ok(g.tok_emb.weight.grad !== null);
  assert.is(g.parameters().filter((p) => p === g.tok_emb.weight).length, 1);
});

test.run();
