/**
 * Datasets: anything with a length and random access by index, as in PyTorch's
 * map-style `Dataset`. A dataset may also offer `getBatch(indices)` to build a whole
 * batch at once (one copy per array instead of one per example); `DataLoader` uses it
 * when no custom `collate` is given.
 */
import { allocate, NDArray } from '@tsgrad/tensor';
import type { ArrayBatch } from './batch.ts';

/** A map-style dataset: `length` examples, `get(i)` for 0 <= i < length. */
export interface Dataset<T> {
  readonly length: number;
  get(index: number): T;
}

/** A dataset that can also assemble a batch directly from a list of indices. */
export interface BatchDataset<T, B> extends Dataset<T> {
  getBatch(indices: ArrayLike<number>): B;
}

export function hasGetBatch<T, B>(d: Dataset<T>): d is BatchDataset<T, B> {
  return typeof (d as Partial<BatchDataset<T, B>>).getBatch === 'function';
}

/**
 * Rows `indices` of `a` along axis 0, as a new contiguous array of shape
 * `[indices.length, ...a.shape.slice(1)]`.
 * @example takeRows(array([[1, 2], [3, 4], [5, 6]]), [2, 0]) // [[5, 6], [1, 2]]
 */
export function takeRows(a: NDArray, indices: ArrayLike<number>): NDArray {
  if (a.ndim === 0) throw new Error('takeRows: a 0-d array has no rows');
  const src = a.contiguous();
  const n = src.shape[0]!;
  const row = n === 0 ? 0 : src.size / n;
  const out = allocate(src.dtype, indices.length * row);
  const data = src.data;
  for (let i = 0; i < indices.length; i++) {
    const r = indices[i]!;
    if (!Number.isInteger(r) || r < 0 || r >= n) throw new RangeError(`takeRows: index ${r} is out of range for ${n} rows`);
    out.set(data.subarray(r * row, (r + 1) * row), i * row);
  }
  return new NDArray(out, [indices.length, ...src.shape.slice(1)], undefined, 0, src.dtype);
}

/**
 * Wraps arrays that share their first dimension; example `i` is the tuple of their
 * `i`-th rows, and a batch is the tuple of the gathered rows.
 * @example
 * const ds = new TensorDataset(images, labels); // [N, 784], [N]
 * const [x, y] = ds.get(0);                     // [784], [] (a 0-d label)
 */
export class TensorDataset implements BatchDataset<NDArray[], NDArray[]> {
  readonly arrays: readonly NDArray[];
  readonly length: number;

  constructor(...arrays: NDArray[]) {
    if (arrays.length === 0) throw new Error('TensorDataset: needs at least one array');
    const n = arrays[0]!.shape[0];
    for (const a of arrays) {
      if (a.ndim === 0 || a.shape[0] !== n) {
        throw new Error(`TensorDataset: first dimensions differ: ${arrays.map((x) => `[${x.shape.join(', ')}]`).join(', ')}`);
      }
    }
    this.arrays = arrays.map((a) => a.contiguous());
    this.length = n ?? 0;
  }

  get(index: number): NDArray[] {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new RangeError(`TensorDataset.get: index ${index} is out of range for ${this.length} examples`);
    }
    return this.arrays.map((a) => a.narrow(0, index, 1).squeeze(0));
  }

  getBatch(indices: ArrayLike<number>): NDArray[] {
    return this.arrays.map((a) => takeRows(a, indices));
  }
}

/**
 * Inputs and targets that share their first dimension, as `{ input, target }` examples:
 * a `DataLoader` over it yields the `Batch` objects every consumer takes (where one over
 * a `TensorDataset` yields `[input, target]` pairs).
 * @example
 * const loader = new DataLoader(new InputTargetDataset(images, labels), { batchSize: 64 });
 * for (const { input, target } of loader) { ... }
 */
export class InputTargetDataset implements BatchDataset<ArrayBatch, ArrayBatch> {
  private readonly pair: TensorDataset;
  readonly length: number;

  constructor(input: NDArray, target: NDArray) {
    this.pair = new TensorDataset(input, target);
    this.length = this.pair.length;
  }

  get(index: number): ArrayBatch {
    const [input, target] = this.pair.get(index) as [NDArray, NDArray];
    return { input, target };
  }

  getBatch(indices: ArrayLike<number>): ArrayBatch {
    const [input, target] = this.pair.getBatch(indices) as [NDArray, NDArray];
    return { input, target };
  }
}
