/**
 * TensorFlow.js's side of each benchmark, on the `cpu` (plain JS) or `wasm` (XNNPACK)
 * backend. The union package `@tensorflow/tfjs` is used because it registers the
 * gradient kernels in Node; `@tensorflow/tfjs-backend-wasm` adds the wasm backend to
 * the same engine. Every step runs inside `tf.tidy` and reads its result back
 * (`dataSync`), so it is timed to completion and leaks nothing. A tidy must not return
 * the read-back typed array: tidy walks whatever it returns looking for tensors, which
 * for a 512 x 512 result costs more than the matmul itself.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { CONV, GPT, type GptBatch, type MlpInputs } from './inputs.ts';

export type TfBackend = 'cpu' | 'wasm';

/** Switches TF.js to `backend` (waits for the wasm module to load). */
export async function useBackend(backend: TfBackend): Promise<void> {
  if (!(await tf.setBackend(backend))) throw new Error(`TF.js backend ${backend} failed to initialise`);
  await tf.ready();
}

export function matmulCase(n: number, a: Float32Array, b: Float32Array): () => unknown {
  const x = tf.tensor2d(a, [n, n]);
  const y = tf.tensor2d(b, [n, n]);
  return () => tf.tidy(() => {
    tf.matMul(x, y).dataSync();
  });
}

export function softmaxCase(rows: number, cols: number, data: Float32Array): () => unknown {
  const x = tf.tensor2d(data, [rows, cols]);
  return () => tf.tidy(() => {
    tf.softmax(x, -1).dataSync();
  });
}

/** LayerNorm forward + backward (gradient of the sum of outputs w.r.t. x, weight and bias). */
export function layerNormCase(rows: number, cols: number, data: Float32Array): () => unknown {
  const x = tf.tensor2d(data, [rows, cols]);
  const g = tf.ones([cols]);
  const b = tf.zeros([cols]);
  const f = tf.grads((xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor) => layerNorm(xi, gi, bi).sum());
  return () => tf.tidy(() => {
    for (const t of f([x, g, b])) t.dataSync();
  });
}

function layerNorm(x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, eps = 1e-5): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return x.sub(mean).div(variance.add(eps).sqrt()).mul(g).add(b);
}

/**
 * conv2d forward + backward (gradients of the output's sum w.r.t. x, filter and bias). TF.js
 * convolves NHWC with [kh, kw, in, out] filters, so the same numbers are transposed once into
 * its layout here, outside the timed function. `forwardOnly` times the forward alone (TF.js wasm
 * 4.22 has no Conv2DBackpropFilter kernel, so that is all it can run).
 */
export function convCase(inp: { x: Float32Array; w: Float32Array; b: Float32Array }, forwardOnly = false): () => unknown {
  const { batch, cin, size, cout, kernel } = CONV;
  const x = tf.tidy(() => tf.tensor4d(inp.x, [batch, cin, size, size]).transpose([0, 2, 3, 1]));
  const w = tf.tidy(() => tf.tensor4d(inp.w, [cout, cin, kernel, kernel]).transpose([2, 3, 1, 0]));
  const b = tf.tensor1d(inp.b);
  const f = tf.grads((xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) => tf.conv2d(xi as tf.Tensor4D, wi as tf.Tensor4D, 1, 'same').add(bi).sum());
  if (forwardOnly) return () => tf.tidy(() => void tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same').add(b).dataSync());
  return () => tf.tidy(() => {
    for (const t of f([x, w, b])) t.dataSync();
  });
}

/** One MLP training step with tf.train.adam (minimize = forward + backward + update). */
export function mlpStep(inp: MlpInputs): () => number {
  const params = inp.weights.map(({ w, b }, l) => ({
    w: tf.variable(tf.tensor2d(w, [inp.sizes[l]!, inp.sizes[l + 1]!])),
    b: tf.variable(tf.tensor1d(b)),
  }));
  const x = tf.tensor2d(inp.x, [inp.batch, inp.sizes[0]!]);
  const y = tf.oneHot(tf.tensor1d(inp.y, 'int32'), inp.sizes[inp.sizes.length - 1]!);
  const opt = tf.train.adam(1e-3);
  const loss = () =>
    tf.tidy(() => {
      let h: tf.Tensor = x;
      params.forEach(({ w, b }, l) => {
        h = tf.matMul(h as tf.Tensor2D, w).add(b);
        if (l < params.length - 1) h = tf.relu(h);
      });
      return tf.losses.softmaxCrossEntropy(y, h) as tf.Scalar;
    });
  return () => {
    const cost = opt.minimize(loss, true)!;
    const v = cost.dataSync()[0]!;
    cost.dispose();
    return v;
  };
}

/**
 * The same GPT as tsgrad's nn.GPT (pre-norm blocks, causal attention, tanh GELU,
 * learned positions, untied head), written with TF.js ops and started from the same
 * weights (`init` maps tsgrad's parameter names to values; Linear weights are [out, in]).
 */
export function gptStep(init: Map<string, { shape: readonly number[]; data: Float32Array }>, batch: GptBatch): () => number {
  const { vocab: V, context: T, dModel: C, heads: H, layers: L, batch: B } = GPT;
  const D = C / H;
  const v = (name: string, transpose = false) => {
    const p = init.get(name);
    if (!p) throw new Error(`TF.js GPT: no initial value for ${name}`);
    const t = tf.tensor(p.data, [...p.shape]);
    // unnamed: TF.js variable names are global to the engine, across backends
    return tf.variable(transpose ? t.transpose() : t, true);
  };
  const linear = (prefix: string, bias = true) => ({ w: v(`${prefix}.weight`, true), b: bias ? v(`${prefix}.bias`) : null });
  const norm = (prefix: string) => ({ g: v(`${prefix}.weight`), b: v(`${prefix}.bias`) });
  const tok = v('tok_emb.weight');
  const pos = v('pos_emb.weight');
  const blocks = Array.from({ length: L }, (_, i) => ({
    ln1: norm(`blocks.${i}.ln1`),
    q: linear(`blocks.${i}.attn.q_proj`),
    k: linear(`blocks.${i}.attn.k_proj`),
    v: linear(`blocks.${i}.attn.v_proj`),
    o: linear(`blocks.${i}.attn.out_proj`),
    ln2: norm(`blocks.${i}.ln2`),
    fc1: linear(`blocks.${i}.mlp.fc1`),
    fc2: linear(`blocks.${i}.mlp.fc2`),
  }));
  const lnf = norm('ln_f');
  const head = linear('lm_head', false);
  const ids = tf.tensor2d(batch.ids, [B, T], 'int32');
  const targets = tf.oneHot(tf.tensor1d(batch.targets, 'int32'), V);
  // additive causal mask: -1e9 above the diagonal
  const mask = tf.linalg.bandPart(tf.ones([T, T]), -1, 0).sub(1).mul(1e9);
  const dense = (x: tf.Tensor, p: { w: tf.Variable; b: tf.Variable | null }) => {
    const y = tf.matMul(x.reshape([-1, x.shape[x.shape.length - 1]!]) as tf.Tensor2D, p.w);
    return p.b ? y.add(p.b) : y;
  };
  const ln = (x: tf.Tensor, p: { g: tf.Variable; b: tf.Variable }) => layerNorm(x, p.g, p.b);
  const gelu = (x: tf.Tensor) => x.mul(0.5).mul(tf.tanh(x.add(x.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI))).add(1));
  const heads = (x: tf.Tensor) => x.reshape([B, T, H, D]).transpose([0, 2, 1, 3]);
  // The wasm backend has no gradient kernel for gather (UnsortedSegmentSum), so there
  // the embedding lookup is the equivalent one-hot matmul (17 MFLOP more per step).
  const onWasm = tf.getBackend() === 'wasm';
  const idsOneHot = tf.oneHot(tf.tensor1d(batch.ids, 'int32'), V);
  const embed = () => (onWasm ? tf.matMul(idsOneHot, tok).reshape([B, T, C]) : tf.gather(tok, ids));
  const opt = tf.train.adam(3e-4);
  const loss = () =>
    tf.tidy(() => {
      let x: tf.Tensor = embed().add(pos); // [B, T, C]
      for (const blk of blocks) {
        const h = ln(x, blk.ln1).reshape([B * T, C]);
        const q = heads(dense(h, blk.q));
        const k = heads(dense(h, blk.k));
        const vv = heads(dense(h, blk.v));
        const att = tf.softmax(tf.matMul(q, k, false, true).mul(1 / Math.sqrt(D)).add(mask), -1);
        const y = tf.matMul(att, vv).transpose([0, 2, 1, 3]).reshape([B * T, C]);
        x = x.add(dense(y, blk.o).reshape([B, T, C]));
        const h2 = ln(x, blk.ln2);
        x = x.add(dense(gelu(dense(h2, blk.fc1)), blk.fc2).reshape([B, T, C]));
      }
      const logits = dense(ln(x, lnf), head); // [B*T, V]
      return tf.losses.softmaxCrossEntropy(targets, logits) as tf.Scalar;
    });
  return () => {
    const cost = opt.minimize(loss, true)!;
    const val = cost.dataSync()[0]!;
    cost.dispose();
    return val;
  };
}

/** Tensors alive in TF.js's engine (a leak check for the steps above). */
export function liveTensors(): number {
  return tf.memory().numTensors;
}
