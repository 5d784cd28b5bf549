/**
 * The inputs every library gets: matrices, MLP and GPT weights and batches, drawn
 * once from tsgrad's seeded RNG as plain Float32Array / Int32Array so each peer
 * starts from exactly the same numbers.
 */
import { Rng } from '@tsgrad/tensor';

/** `size` normal samples scaled by `std`. */
export function normals(size: number, seed: number, std = 1): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = std * rng.normal();
  return out;
}

/** `size` integers uniform in [0, high). */
export function ints(size: number, high: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  const out = new Int32Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.int(0, high);
  return out;
}

/** The 784-512-512-10 MLP at batch 128: weights [in, out] as in `x @ W + b`. */
export interface MlpInputs {
  sizes: number[];
  batch: number;
  weights: { w: Float32Array; b: Float32Array }[];
  x: Float32Array;
  y: Int32Array;
}

export function mlpInputs(): MlpInputs {
  const sizes = [784, 512, 512, 10];
  const batch = 128;
  const weights = sizes.slice(1).map((out, l) => {
    const fanIn = sizes[l]!;
    return { w: normals(fanIn * out, 100 + l, 1 / Math.sqrt(fanIn)), b: new Float32Array(out) };
  });
  return { sizes, batch, weights, x: normals(batch * 784, 1), y: ints(batch, 10, 2) };
}

/** The small GPT: 4 layers, d = 128, 4 heads, context 64, batch 16, a 65-symbol vocabulary. */
export const GPT = { vocab: 65, context: 64, dModel: 128, heads: 4, layers: 4, batch: 16 } as const;

export interface GptBatch {
  ids: Int32Array;
  targets: Int32Array;
}

export function gptBatch(): GptBatch {
  const n = GPT.batch * GPT.context;
  return { ids: ints(n, GPT.vocab, 3), targets: ints(n, GPT.vocab, 4) };
}

/** The conv case of the convolution issue: [64, 32, 28, 28] through a 3x3 kernel to 32 channels, padding 1, with bias. */
export const CONV = { batch: 64, cin: 32, size: 28, cout: 32, kernel: 3, padding: 1 } as const;

/** Input (NCHW), weight [cout, cin, k, k] and bias of the conv case; peers in other layouts transpose these. */
export function convInputs(): { x: Float32Array; w: Float32Array; b: Float32Array } {
  const { batch, cin, size, cout, kernel } = CONV;
  return { x: normals(batch * cin * size * size, 40), w: normals(cout * cin * kernel * kernel, 41, 0.05), b: normals(cout, 42, 0.05) };
}
