/**
 * DataLoader: batches a dataset, optionally in a seeded random order.
 *
 * Shuffling is a pure function of (seed, epoch): epoch e visits the examples in the
 * order `new Rng(epochSeed(seed, e)).permutation(n)`. Each `for...of` over the loader
 * starts the next epoch (0, 1, 2, ...), so two loaders built with the same seed give
 * the same sequence of batches, and `batches(epoch)` replays any epoch on demand
 * (like `DistributedSampler.set_epoch` in PyTorch).
 */
import { NDArray, Rng } from '@tsgrad/tensor';
import { hasGetBatch, type Dataset } from './dataset.ts';

/** The batch `defaultCollate` makes from examples of type T. */
export type DefaultBatch<T> = T extends NDArray
  ? NDArray
  : T extends number | boolean
    ? NDArray
    : T extends readonly unknown[]
      ? { -readonly [K in keyof T]: DefaultBatch<T[K]> }
      : T extends object
        ? { [K in keyof T]: DefaultBatch<T[K]> }
        : never;

export interface DataLoaderOptions<T, B> {
  /** Examples per batch (default 1). */
  batchSize?: number;
  /** Visit examples in a new seeded random order each epoch (default false). */
  shuffle?: boolean;
  /** Seed of the shuffling (default 0). */
  seed?: number;
  /** Drop the last batch when it is smaller than `batchSize` (default false). */
  dropLast?: boolean;
  /** Turns a list of examples into a batch (default `defaultCollate`, or the dataset's `getBatch`). */
  collate?: (items: T[]) => B;
}

/**
 * Stacks examples along a new first axis: NDArrays of one shape stack into one
 * array; numbers into a float32 vector, booleans into a bool vector (store integer
 * labels as int32 NDArrays to keep them int32); tuples and objects collate field by field.
 * @example defaultCollate([[x0, y0], [x1, y1]]) // [stack([x0, x1]), stack([y0, y1])]
 */
export function defaultCollate<T>(items: T[]): DefaultBatch<T> {
  return collate(items as unknown[], 'batch') as DefaultBatch<T>;
}

function collate(items: unknown[], path: string): unknown {
  if (items.length === 0) throw new Error('collate: empty batch');
  const first = items[0];
  if (first instanceof NDArray) {
    const shape = first.shape;
    const row = first.size;
    const arrays = items as NDArray[];
    for (const a of arrays) {
      if (!(a instanceof NDArray) || a.dtype !== first.dtype || a.shape.length !== shape.length || a.shape.some((d, i) => d !== shape[i])) {
        const desc = (x: unknown) => (x instanceof NDArray ? `${x.dtype} [${x.shape.join(', ')}]` : typeof x);
        throw new Error(`collate: ${path} mixes ${desc(first)} with ${desc(a)}`);
      }
    }
    const out = NDArray.zeros([items.length, ...shape], first.dtype);
    arrays.forEach((a, i) => out.data.set(a.toTyped(), i * row));
    return out;
  }
  if (typeof first === 'number') return NDArray.fromTyped(Float32Array.from(items as number[]), [items.length]);
  if (typeof first === 'boolean') return NDArray.fromTyped(Uint8Array.from(items as boolean[], (b) => (b ? 1 : 0)), [items.length], 'bool');
  if (Array.isArray(first)) {
    return first.map((_, k) => collate(items.map((it) => (it as unknown[])[k]), `${path}[${k}]`));
  }
  if (typeof first === 'object' && first !== null) {
    return Object.fromEntries(
      Object.keys(first).map((k) => [k, collate(items.map((it) => (it as Record<string, unknown>)[k]), `${path}.${k}`)]),
    );
  }
  throw new Error(`collate: cannot batch ${path} of type ${typeof first}`);
}

/** The seed of epoch `epoch`'s permutation: a fixed mix of the loader seed and the epoch number. */
export function epochSeed(seed: number, epoch: number): number {
  // golden-ratio increment per epoch, then a murmur3-style finalizer so nearby epochs decorrelate
  let h = (Math.imul(epoch + 1, 0x9e3779b9) ^ (seed | 0) ^ Math.floor(seed / 4294967296)) | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Iterates a dataset in batches.
 * @example
 * const loader = new DataLoader(new TensorDataset(x, y), { batchSize: 64, shuffle: true, seed: 1 });
 * for (const [xb, yb] of loader) { ... }   // epoch 0; the next for...of is epoch 1
 * // { input, target } batches (nn's `Batch`, what fit, EVA and wm read):
 * for (const { input, target } of new DataLoader(new InputTargetDataset(x, y), { batchSize: 64 })) { ... }
 */
export class DataLoader<T, B = DefaultBatch<T>> implements Iterable<B> {
  readonly dataset: Dataset<T>;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  private readonly collateFn?: (items: T[]) => B;
  /** The epoch the next `for...of` will run. */
  epoch = 0;

  constructor(dataset: Dataset<T>, options: DataLoaderOptions<T, B> = {}) {
    const { batchSize = 1, shuffle = false, seed = 0, dropLast = false, collate } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`DataLoader: batchSize must be a positive integer, got ${batchSize}`);
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.shuffle = shuffle;
    this.seed = seed;
    this.dropLast = dropLast;
    this.collateFn = collate;
  }

  /** Number of batches per epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The example order of an epoch: 0..n-1, or a permutation determined by (seed, epoch). */
  order(epoch: number): Int32Array {
    const n = this.dataset.length;
    if (!this.shuffle) return Int32Array.from({ length: n }, (_, i) => i);
    return new Rng(epochSeed(this.seed, epoch)).permutation(n);
  }

  /** The batches of one epoch, without advancing `epoch`. */
  *batches(epoch: number): Generator<B> {
    const order = this.order(epoch);
    for (let b = 0; b < this.length; b++) {
      const idx = order.subarray(b * this.batchSize, Math.min((b + 1) * this.batchSize, order.length));
      yield this.makeBatch(idx);
    }
  }

  [Symbol.iterator](): Iterator<B> {
    return this.batches(this.epoch++);
  }

  private makeBatch(indices: Int32Array): B {
    if (this.collateFn) return this.collateFn(Array.from(indices, (i) => this.dataset.get(i)));
    if (hasGetBatch<T, B>(this.dataset)) return this.dataset.getBatch(indices);
    return defaultCollate(Array.from(indices, (i) => this.dataset.get(i))) as B;
  }
}
