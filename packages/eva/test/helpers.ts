/** Shared fixtures for the eva tests (no tests here). */
import { Tensor } from '@tsgrad/autograd';
import { GPT, MLP } from '@tsgrad/nn';
import * as nd from '@tsgrad/tensor';

export function tinyGpt(seed = 0): GPT {
  return new GPT({ vocabSize: 13, contextLength: 8, dModel: 16, nHeads: 2, nLayers: 2, seed });
}

export const GPT_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'out_proj', 'fc1', 'fc2', 'lm_head'];

export function tokenBatch(seed: number, b = 4, t = 8, vocab = 13): Tensor {
  const rng = new nd.Rng(seed);
  return new Tensor(nd.NDArray.fromTyped(Int32Array.from({ length: b * t }, () => rng.int(0, vocab)), [b, t], 'int32'));
}

export function tinyMlp(seed = 0): MLP {
  return new MLP([10, 12, 12, 5], { activation: 'relu', seed });
}

export function randomInput(seed: number, shape: number[]): Tensor {
  return new Tensor(nd.randn(shape, { seed }));
}

export function maxAbsDiff(a: Tensor | nd.NDArray, b: Tensor | nd.NDArray): number {
  const x = (a instanceof Tensor ? a.data : a).toFloat64Array();
  const y = (b instanceof Tensor ? b.data : b).toFloat64Array();
  if (x.length !== y.length) throw new Error(`maxAbsDiff: sizes ${x.length} and ${y.length}`);
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!));
  return m;
}

export function maxAbs(a: Tensor | nd.NDArray): number {
  const x = (a instanceof Tensor ? a.data : a).toFloat64Array();
  let m = 0;
  for (const v of x) m = Math.max(m, Math.abs(v));
  return m;
}

/**
 * n x d rows: mean + Z W + noise * E, with Z ~ N(0, 1) of width `rank` and row i of W scaled by
 * `scale(i)` (well-separated, decaying scales give a clear spectrum), the mean's entries by
 * `meanScale`. Draws W, then the mean, then per row Z and the noise, in that order.
 */
export function lowRankRows<T extends Float32Array | Float64Array>(
  rng: nd.Rng,
  out: T,
  d: number,
  rank: number,
  opts: { noise?: number; scale: (i: number) => number; meanScale?: number },
): T {
  const n = out.length / d;
  const w = new Float64Array(rank * d);
  for (let i = 0; i < rank; i++) for (let j = 0; j < d; j++) w[i * d + j] = rng.normal() * opts.scale(i);
  const mu = Array.from({ length: d }, () => rng.normal() * (opts.meanScale ?? 1));
  for (let r = 0; r < n; r++) {
    const z = Array.from({ length: rank }, () => rng.normal());
    for (let j = 0; j < d; j++) {
      let v = mu[j]!;
      for (let i = 0; i < rank; i++) v += z[i]! * w[i * d + j]!;
      out[r * d + j] = v + (opts.noise ?? 0) * rng.normal();
    }
  }
  return out;
}
