/**
 * Next-token prediction data: windows of a token stream, each paired with the same
 * window shifted one token ahead (x = tokens[i, i+T), y = tokens[i+1, i+T+1)), the
 * setup of a character GPT.
 */
import { NDArray, Rng } from '@tsgrad/tensor';
import type { BatchDataset } from './dataset.ts';

/** An (input, target) pair of int32 arrays, [T] for one window or [B, T] for a batch. */
export type TokenPair = [x: NDArray, y: NDArray];

/**
 * Every window of `contextLength` tokens that has a next token: `length` is
 * `tokens.length - contextLength`, and `get(i)` starts at token i.
 * @example
 * const ds = new TextDataset(tok.encode(text), 64);
 * const [x, y] = ds.sample(32, new Rng(0)); // int32 [32, 64] each
 */
export class TextDataset implements BatchDataset<TokenPair, TokenPair> {
  readonly tokens: Int32Array;
  readonly contextLength: number;
  readonly length: number;

  constructor(tokens: Int32Array | NDArray, contextLength: number) {
    if (!Number.isInteger(contextLength) || contextLength < 1) throw new RangeError(`TextDataset: contextLength must be a positive integer, got ${contextLength}`);
    const t = tokens instanceof NDArray ? Int32Array.from(tokens.astype('int32').toTyped()) : tokens;
    if (t.length < contextLength + 1) {
      throw new RangeError(`TextDataset: ${t.length} tokens are too few for one window of ${contextLength} plus its next token`);
    }
    this.tokens = t;
    this.contextLength = contextLength;
    this.length = t.length - contextLength;
  }

  get(index: number): TokenPair {
    const [x, y] = this.getBatch([index]);
    return [x.squeeze(0), y.squeeze(0)];
  }

  getBatch(starts: ArrayLike<number>): TokenPair {
    const T = this.contextLength;
    const x = new Int32Array(starts.length * T);
    const y = new Int32Array(starts.length * T);
    for (let b = 0; b < starts.length; b++) {
      const s = starts[b]!;
      if (!Number.isInteger(s) || s < 0 || s >= this.length) throw new RangeError(`TextDataset: window start ${s} is out of range [0, ${this.length})`);
      x.set(this.tokens.subarray(s, s + T), b * T);
      y.set(this.tokens.subarray(s + 1, s + T + 1), b * T);
    }
    return [NDArray.fromTyped(x, [starts.length, T]), NDArray.fromTyped(y, [starts.length, T])];
  }

  /** A batch of `batchSize` windows with uniformly random starts (with replacement), as nanoGPT's get_batch. */
  sample(batchSize: number, rng: Rng): TokenPair {
    const starts = Int32Array.from({ length: batchSize }, () => rng.int(0, this.length));
    return this.getBatch(starts);
  }
}

/**
 * An endless, seeded stream of random-window batches over a token stream.
 * @example
 * const batches = nextTokenBatches(ids, { contextLength: 64, batchSize: 32, seed: 0 });
 * const [x, y] = batches.next().value; // int32 [32, 64] each
 */
export function* nextTokenBatches(
  tokens: Int32Array | NDArray,
  options: { contextLength: number; batchSize: number; seed?: number },
): Generator<TokenPair, never> {
  const ds = new TextDataset(tokens, options.contextLength);
  const rng = new Rng(options.seed ?? 0);
  for (;;) yield ds.sample(options.batchSize, rng);
}

/**
 * Splits a token stream into a leading train part and a trailing validation part
 * (contiguous, as is usual for text, so windows never straddle the two).
 * @example const { train, val } = splitTokens(ids, 0.9);
 */
export function splitTokens(tokens: Int32Array, trainFraction = 0.9): { train: Int32Array; val: Int32Array } {
  if (!(trainFraction >= 0 && trainFraction <= 1)) throw new RangeError(`splitTokens: trainFraction must be in [0, 1], got ${trainFraction}`);
  const cut = Math.round(tokens.length * trainFraction);
  return { train: tokens.subarray(0, cut), val: tokens.subarray(cut) };
}
