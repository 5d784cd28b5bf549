/**
 * The two array moves weight matching needs, written with @tsgrad/tensor ops: gathering whole
 * blocks of `group` entries along one axis (a permutation of hidden units, or of attention
 * heads when group = head dimension), and laying one axis out as the rows of a matrix (the
 * "moveaxis then reshape(n, -1)" of git-re-basin). Cost matrices are then plain `matmul`s.
 */
import { cast, indexSelect, NDArray } from '@tsgrad/tensor';

/**
 * out block i = w block perm[i] along `axis`, blocks of `group` entries: `indexSelect` with
 * the block-expanded index. A new contiguous array of w's dtype.
 * @example takeBlocks(w, 0, Int32Array.from([1, 0]), 2) // rows [2, 3, 0, 1] of a 4-row w
 */
export function takeBlocks(w: NDArray, axis: number, perm: Int32Array, group: number): NDArray {
  const index = new Int32Array(perm.length * group);
  for (let i = 0; i < perm.length; i++) for (let r = 0; r < group; r++) index[i * group + r] = perm[i]! * group + r;
  return indexSelect(w, axis, NDArray.fromTyped(index, [index.length], 'int32'));
}

/**
 * The (n, rest) matrix whose row i holds every entry of block i of `axis` (n blocks of
 * `group`), in the order (axes before, offset in the block, axes after), as `dtype`
 * (float64 unless asked otherwise).
 * @example blockRows(w, 1, 1) // w^T as float64 for a 2-D w
 */
export function blockRows(w: NDArray, axis: number, group: number, dtype: 'float64' | 'float32' = 'float64'): NDArray {
  const n = w.shape[axis]! / group;
  const split = [...w.shape.slice(0, axis), n, group, ...w.shape.slice(axis + 1)];
  const order = [axis, ...split.map((_, i) => i).filter((i) => i !== axis)];
  return cast(w.reshape(split).permute(order), dtype).reshape([n, -1]);
}
