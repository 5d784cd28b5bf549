/**
 * Version counters for tensor storage, as PyTorch's `tensor._version`.
 *
 * Every storage (the typed array that an NDArray and all of its views share) has a
 * version, 0 until an in-place op writes to it. When an op is recorded, the versions of
 * its inputs and of its output are saved on the graph node; backward compares them with
 * the current ones and raises instead of computing a gradient from overwritten values.
 *
 * Only the in-place tensor ops (`sub_`, `add_`, `mul_`, `div_`, `zero_`, `fill_`,
 * `copy_`) bump the counter. Writing through `tensor.data.data[i] = v` directly bypasses
 * it, as writing through `tensor.data` does in PyTorch.
 */
import type { NDArray, TypedArray } from '@tsgrad/tensor';

// Keyed by the typed array itself: views share it, and a freed storage frees its entry.
const versions = new WeakMap<TypedArray, number>();

/** The number of in-place writes to the storage under `x` so far. */
export function storageVersion(x: NDArray): number {
  return versions.get(x.data) ?? 0;
}

/** @internal Records one in-place write to the storage under `x`. */
export function bumpVersion(x: NDArray): void {
  versions.set(x.data, storageVersion(x) + 1);
}
