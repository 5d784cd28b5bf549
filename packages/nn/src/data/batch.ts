/**
 * One batch format for every package: `{ input, target? }` (plus the optional masks
 * EVA reads), each an NDArray or a Tensor. Loaders produce it (`toBatches`, or a
 * `DataLoader` over an `InputTargetDataset`) and every consumer (`evaluate`,
 * `interpolate`, STE, activation matching, EVA) accepts it, along with the
 * `[input, target]` pairs a `DataLoader` over a `TensorDataset` yields.
 *
 * The types reject what cannot be a batch at compile time (a lone NDArray, an object
 * such as `loadMnist()`'s result); `toBatch` / `asBatches` check again at run time and
 * say what was expected, for callers coming from plain JavaScript or `any`.
 */
import { Tensor } from '@tsgrad/autograd';
import { NDArray } from '@tsgrad/tensor';

/** What a batch field holds: raw values or a tensor (a tensor's graph is kept). */
export type BatchValue = Tensor | NDArray;

/** One minibatch. */
export interface Batch {
  /** What the model is called on: float features [B, ...] or int32 token ids [B, T]. */
  input: BatchValue;
  /** What the loss compares with, e.g. int32 class ids [B] or [B, T] (-100 is ignored). */
  target?: BatchValue;
  /** 1 for real tokens, 0 for padding, [B, T] (read by EVA). */
  attentionMask?: BatchValue;
  /** Language-model labels [B, T] (read by EVA's label mask). */
  labels?: BatchValue;
}

/** A batch whose target is present: what losses and accuracy need. */
export type LabelledBatch = Batch & { target: BatchValue };

/** A labelled batch of raw arrays: what `toBatches` and `InputTargetDataset` produce. */
export type ArrayBatch = { input: NDArray; target: NDArray };

/** A batch, or an `[input, target]` pair as `DataLoader(new TensorDataset(x, y))` yields. */
export type BatchLike = Batch | readonly BatchValue[];

/** A labelled batch or an `[input, target]` pair. */
export type LabelledBatchLike = LabelledBatch | readonly BatchValue[];

function isValue(x: unknown): x is BatchValue {
  return x instanceof NDArray || x instanceof Tensor;
}

/** A short description of a value for error messages ("an NDArray of shape [2, 3]"). */
export function describeValue(x: unknown): string {
  if (x instanceof NDArray) return `an NDArray of shape [${x.shape.join(', ')}]`;
  if (x instanceof Tensor) return `a Tensor of shape [${x.shape.join(', ')}]`;
  if (x === null) return 'null';
  if (Array.isArray(x)) return `an array of length ${x.length}${x.length > 0 ? ` whose first item is ${describeValue(x[0])}` : ''}`;
  if (typeof x === 'object') {
    const keys = Object.keys(x);
    return keys.length > 0 ? `an object with keys ${keys.join(', ')}` : `an object without keys (${x.constructor?.name ?? 'Object'})`;
  }
  return typeof x === 'string' ? 'a string' : `${typeof x === 'undefined' ? 'undefined' : `a ${typeof x}`}`;
}

const EXPECTED = 'batches { input, target } (or [input, target] pairs)';

/**
 * Checks one batch and returns it as a `Batch`: `{ input, target? }` objects pass
 * through; `[input]` and `[input, target]` pairs become objects. `consumer` names the
 * caller in the error; `target: true` also requires a target.
 * @example toBatch([x, y], 'evaluate') // { input: x, target: y }
 */
export function toBatch(value: unknown, consumer: string, opts: { target: true }): LabelledBatch;
export function toBatch(value: unknown, consumer: string, opts?: { target?: boolean }): Batch;
export function toBatch(value: unknown, consumer: string, opts: { target?: boolean } = {}): Batch {
  let batch: Batch;
  if (Array.isArray(value)) {
    if ((value.length !== 1 && value.length !== 2) || !value.every(isValue)) {
      throw new TypeError(`${consumer}: expected ${EXPECTED}, got ${describeValue(value)}`);
    }
    batch = value.length === 2 ? { input: value[0]!, target: value[1]! } : { input: value[0]! };
  } else if (value !== null && typeof value === 'object' && !isValue(value) && isValue((value as Batch).input)) {
    batch = value as Batch;
    for (const key of ['target', 'attentionMask', 'labels'] as const) {
      const field = batch[key];
      if (field !== undefined && !isValue(field)) {
        throw new TypeError(`${consumer}: the batch's ${key} must be an NDArray or a Tensor, got ${describeValue(field)}`);
      }
    }
  } else {
    throw new TypeError(`${consumer}: expected ${EXPECTED}, got ${describeValue(value)}`);
  }
  if (opts.target && batch.target === undefined) {
    throw new TypeError(`${consumer}: the batch has an input but no target; ${consumer} needs { input, target }`);
  }
  return batch;
}

/** A hint for sources that look like data but are not batches (loadMnist's result, one split). */
function hint(source: unknown): string {
  if (source === null || typeof source !== 'object') return '';
  const keys = Object.keys(source);
  if (keys.includes('train') || keys.includes('images')) {
    return '; loadMnist() returns { train, test } splits of { images, labels }: make batches with ' +
      'toBatches(split.train.images, split.train.labels, 256) or new DataLoader(new InputTargetDataset(images, labels), { batchSize: 256 })';
  }
  return '';
}

/**
 * Throws unless `source` can be iterated; returns its iterator and whether it is a
 * one-shot iterator (a generator: iterating it again yields nothing).
 */
function openSource(source: unknown, consumer: string): { iterator: Iterator<unknown>; oneShot: boolean } {
  const iterate = (source as { [Symbol.iterator]?: unknown } | null | undefined)?.[Symbol.iterator];
  if (source === null || source === undefined || typeof iterate !== 'function' || typeof source === 'string' || isValue(source)) {
    throw new TypeError(
      `${consumer}: expected an iterable of ${EXPECTED}, such as an array, a DataLoader or toBatches(x, y, batchSize); got ${describeValue(source)}${hint(source)}`,
    );
  }
  const iterator = (iterate as () => Iterator<unknown>).call(source);
  return { iterator, oneShot: iterator === source };
}

function noBatches(consumer: string, oneShot: boolean): Error {
  return new Error(
    oneShot
      ? `${consumer}: the data yielded no batches: it is a generator (or other one-shot iterator) that is empty or was already used up; ` +
          'pass an array, a DataLoader, or a function that returns a fresh generator'
      : `${consumer}: the data yielded no batches (it is empty)`,
  );
}

/**
 * Checks every batch of `source` and returns them as an array (so a consumer can pass
 * over them several times, and a generator is read exactly once). Throws, naming
 * `consumer`, for a source that is not iterable, a malformed batch, or no batches.
 * @example const test = asBatches(new DataLoader(new TensorDataset(x, y), { batchSize: 256 }), 'evaluate', { target: true });
 */
export function asBatches(source: unknown, consumer: string, opts: { target: true }): LabelledBatch[];
export function asBatches(source: unknown, consumer: string, opts?: { target?: boolean }): Batch[];
export function asBatches(source: unknown, consumer: string, opts: { target?: boolean } = {}): Batch[] {
  const { iterator, oneShot } = openSource(source, consumer);
  const out: Batch[] = [];
  for (let r = iterator.next(); !r.done; r = iterator.next()) {
    try {
      out.push(toBatch(r.value, consumer, opts));
    } catch (e) {
      if (e instanceof TypeError) e.message += ` (batch ${out.length})`;
      throw e;
    }
  }
  if (out.length === 0) throw noBatches(consumer, oneShot);
  return out;
}

/**
 * Iterates `source` lazily after checking that it is iterable, and raises at the end
 * if a one-shot iterator yielded nothing (a generator already used up by an earlier
 * epoch). Batches pass through unchanged, so any batch type works.
 * @example for (const b of checkedBatches(data, 'fit')) { ... }
 */
export function* checkedBatches<B>(source: Iterable<B>, consumer: string): Generator<B> {
  const { iterator, oneShot } = openSource(source, consumer);
  let count = 0;
  let done = false;
  try {
    for (let r = iterator.next(); !r.done; r = iterator.next()) {
      count++;
      yield r.value as B;
    }
    done = true;
  } finally {
    // stopping early (a break in the caller) must still close the underlying iterator
    if (!done) iterator.return?.();
  }
  if (count === 0 && oneShot) throw noBatches(consumer, oneShot);
}

/** The NDArray of a batch field (a Tensor's values). */
export function batchArray(v: BatchValue): NDArray {
  return v instanceof Tensor ? v.data : v;
}

/** The Tensor of a batch field (an NDArray becomes a constant). */
export function batchTensor(v: BatchValue): Tensor {
  return v instanceof Tensor ? v : new Tensor(v);
}

/**
 * Splits inputs [N, ...] and targets [N, ...] into consecutive batches `{ input, target }`
 * of `batchSize` rows (the last may be short), each a dense copy of its rows.
 * @example const test = toBatches(split.test.images, split.test.labels, 1000);
 */
export function toBatches(x: NDArray, y: NDArray, batchSize: number): ArrayBatch[] {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`toBatches: batchSize must be a positive integer, got ${batchSize}`);
  if (x.ndim === 0 || y.ndim === 0 || y.shape[0] !== x.shape[0]) {
    throw new Error(`toBatches: inputs [${x.shape.join(', ')}] and targets [${y.shape.join(', ')}] disagree on the number of rows`);
  }
  const n = x.shape[0]!;
  const out: ArrayBatch[] = [];
  for (let s = 0; s < n; s += batchSize) {
    const e = Math.min(n, s + batchSize);
    out.push({ input: x.slice(0, s, e).contiguous(), target: y.slice(0, s, e).contiguous() });
  }
  return out;
}
