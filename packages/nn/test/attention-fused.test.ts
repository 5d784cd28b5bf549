/**
 * MultiHeadAttention's fused path (autograd's scaledDotProductAttention) against the
 * composed path it replaced (matmul, maskedFill, softmax, matmul): a small GPT gives the
 * same logits, loss and parameter gradients either way, in float32 and float64, causal
 * and not; attention dropout in training still runs (and reproduces) the composed path.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gradients } from '@tsgrad/autograd';
import { crossEntropy, GPT, MultiHeadAttention } from '../src/index.ts';
import { ids, maxAbsDiff, randn64, values } from './nn-helpers.ts';

/** Sets `fused` on every attention layer of `model`. */
function setFused(model: GPT | MultiHeadAttention, on: boolean): void {
  for (const m of model.modules()) if (m instanceof MultiHeadAttention) m.fused = on;
}

/** Logits, loss and every parameter's gradient of one forward and backward pass. */
function step(model: GPT, fused: boolean, x: ReturnType<typeof ids>, y: ReturnType<typeof ids>) {
  setFused(model, fused);
  const logits = model.call(x);
  const loss = crossEntropy(logits, y);
  const params = [...model.namedParameters()];
  const grads = gradients(loss, params.map(([, p]) => p));
  return { logits: values(logits), loss: values(loss), grads: new Map(params.map(([n], i) => [n, values(grads[i]!)])) };
}

for (const dtype of ['float32', 'float64'] as const) {
  test(`small GPT (${dtype}): the fused and the composed attention give the same logits, loss and gradients`, () => {
    const model = new GPT({ vocabSize: 11, contextLength: 8, dModel: 16, nHeads: 4, nLayers: 2, seed: 3, dtype });
    const x = ids([1, 4, 0, 9, 2, 2, 7, 3, 10, 5, 5, 1, 0, 8, 6, 3], [2, 8]);
    const y = ids([4, 0, 9, 2, 2, 7, 3, 10, 5, 5, 1, 0, 8, 6, 3, 1], [2, 8]);
    const fused = step(model, true, x, y);
    const composed = step(model, false, x, y);
    const tol = dtype === 'float32' ? 2e-5 : 1e-12;
    assert.ok(maxAbsDiff(fused.logits, composed.logits) < tol, `logits differ by ${maxAbsDiff(fused.logits, composed.logits)}`);
    assert.ok(Math.abs(fused.loss[0]! - composed.loss[0]!) < tol, 'loss');
    for (const [name, g] of composed.grads) {
      const scale = Math.max(1, ...g.map(Math.abs));
      assert.ok(maxAbsDiff(fused.grads.get(name)!, g) < tol * scale, `${name}: gradients differ by ${maxAbsDiff(fused.grads.get(name)!, g)}`);
    }
  });
}

test('MultiHeadAttention without the causal mask: fused and composed agree (float64)', () => {
  const attn = new MultiHeadAttention(12, 3, { causal: false, seed: 5, dtype: 'float64' });
  const x = randn64([2, 5, 12], 7);
  const run = (on: boolean) => {
    setFused(attn, on);
    const out = attn.call(x);
    return [values(out), ...gradients(out.mul(out).sum(), [x, attn.q_proj.weight, attn.v_proj.weight]).map(values)];
  };
  const [a, b] = [run(true), run(false)];
  a.forEach((v, i) => assert.ok(maxAbsDiff(v, b[i]!) < 1e-12, `output ${i}`));
});

test('attention dropout: in training the layer takes the composed path (same numbers as fused = false, same seed); in eval the fused one', () => {
  const make = () => new MultiHeadAttention(8, 2, { dropout: 0.5, seed: 9, dtype: 'float64' });
  const x = randn64([1, 6, 8], 2, false);
  const [on, off] = [make(), make()];
  setFused(off, false);
  assert.equal(values(on.call(x)), values(off.call(x))); // both composed: the same dropout masks
  on.eval();
  off.eval();
  assert.ok(maxAbsDiff(values(on.call(x)), values(off.call(x))) < 1e-12);
});

test.run();
