/**
 * tsgrad's side of each benchmark, through its public packages only.
 */
import { conv2d, Tensor } from '@tsgrad/autograd';
import * as nn from '@tsgrad/nn';
import * as nd from '@tsgrad/tensor';
import { CONV, GPT, type GptBatch, type MlpInputs } from './inputs.ts';

/** `n x n` float32 product; returns a function that runs it once. */
export function matmulCase(n: number, a: Float32Array, b: Float32Array): () => unknown {
  const x = nd.NDArray.fromTyped(a, [n, n]);
  const y = nd.NDArray.fromTyped(b, [n, n]);
  return () => nd.matmul(x, y);
}

/** Softmax over the last axis of a [rows, cols] float32 array. */
export function softmaxCase(rows: number, cols: number, data: Float32Array): () => unknown {
  const x = nd.NDArray.fromTyped(data, [rows, cols]);
  return () => nd.softmax(x, 1);
}

/** LayerNorm (with weight and bias) over the last axis, forward and backward, as nn.LayerNorm computes it. */
export function layerNormCase(rows: number, cols: number, data: Float32Array): () => unknown {
  const ln = new nn.LayerNorm(cols);
  const x = new Tensor(nd.NDArray.fromTyped(data, [rows, cols]), true);
  return () => {
    x.grad = null;
    ln.zeroGrad();
    ln.call(x).sum().backward();
    return x.grad;
  };
}

/** The conv case's input (NCHW), weight and bias as tensors; `track` makes them require gradients. */
function convTensors(inp: { x: Float32Array; w: Float32Array; b: Float32Array }, track: boolean): [Tensor, Tensor, Tensor] {
  const { batch, cin, size, cout, kernel } = CONV;
  return [
    new Tensor(nd.NDArray.fromTyped(inp.x, [batch, cin, size, size]), track),
    new Tensor(nd.NDArray.fromTyped(inp.w, [cout, cin, kernel, kernel]), track),
    new Tensor(nd.NDArray.fromTyped(inp.b, [cout]), track),
  ];
}

/** conv2d forward and backward (gradients of the output's sum w.r.t. input, weight and bias), NCHW. */
export function convCase(inp: { x: Float32Array; w: Float32Array; b: Float32Array }): () => unknown {
  const [x, w, b] = convTensors(inp, true);
  return () => {
    x.grad = w.grad = b.grad = null;
    conv2d(x, w, b, { padding: CONV.padding }).sum().backward();
    return x.grad;
  };
}

/** conv2d forward only (no graph is recorded: the inputs do not require gradients). */
export function convForwardCase(inp: { x: Float32Array; w: Float32Array; b: Float32Array }): () => unknown {
  const [x, w, b] = convTensors(inp, false);
  return () => conv2d(x, w, b, { padding: CONV.padding });
}

/** One training step (zero grads, forward, cross-entropy, backward, Adam) of the MLP. */
export function mlpStep(inp: MlpInputs): () => number {
  const mods: nn.Module[] = [];
  inp.sizes.slice(1).forEach((out, l) => {
    const fanIn = inp.sizes[l]!;
    const lin = new nn.Linear(fanIn, out, { seed: l });
    // our weights are [in, out]; Linear stores [out, in]
    const { w, b } = inp.weights[l]!;
    const dst = lin.weight.data.data;
    for (let i = 0; i < fanIn; i++) for (let o = 0; o < out; o++) dst[o * fanIn + i] = w[i * out + o]!;
    lin.bias!.data.data.set(b);
    mods.push(lin);
    if (l < inp.sizes.length - 2) mods.push(new nn.ReLU());
  });
  const model = new nn.Sequential(...mods);
  const opt = new nn.Adam(model.parameters(), { lr: 1e-3 });
  const x = new Tensor(nd.NDArray.fromTyped(inp.x, [inp.batch, inp.sizes[0]!]));
  const y = nd.NDArray.fromTyped(inp.y, [inp.batch], 'int32');
  return () => {
    opt.zeroGrad();
    const loss = nn.crossEntropy(model.call(x), y);
    loss.backward();
    opt.step();
    return loss.item();
  };
}

/** The GPT of `GPT` (inputs.ts); also returns it so peers can copy its initial weights. */
export function gptModel(): nn.GPT {
  return new nn.GPT({ vocabSize: GPT.vocab, contextLength: GPT.context, dModel: GPT.dModel, nHeads: GPT.heads, nLayers: GPT.layers, seed: 0 });
}

/** One GPT training step (zero grads, forward, cross-entropy, backward, Adam). */
export function gptStep(model: nn.GPT, batch: GptBatch): () => number {
  const opt = new nn.Adam(model.parameters(), { lr: 3e-4 });
  const ids = new Tensor(nd.NDArray.fromTyped(batch.ids, [GPT.batch, GPT.context], 'int32'));
  const targets = nd.NDArray.fromTyped(batch.targets, [GPT.batch, GPT.context], 'int32');
  return () => {
    opt.zeroGrad();
    const loss = nn.crossEntropy(model.call(ids), targets);
    loss.backward();
    opt.step();
    return loss.item();
  };
}
