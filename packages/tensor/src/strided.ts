/**
 * Walking strided arrays row by row, without a per-element index array.
 *
 * Several operands of the same shape, each with its own strides and offset, are
 * visited together. `stridedRows` first merges neighbouring axes that are laid out
 * contiguously in every operand (so a dense array, or a dense array plus a broadcast
 * scalar, becomes one long row), then lists where each remaining row starts in each
 * operand. A loop reads element j of row r of operand k at
 * `start[k][r] + j * step[k]`, and row r covers row-major positions
 * `r * length .. r * length + length - 1` of the shape.
 *
 * Row starts are kept in an Int32Array when every storage index the walk can reach fits
 * in an int32 (always, for arrays below 2^31 elements), so the loops index storage with
 * small integers; otherwise in a Float64Array, which holds every integer up to 2^53
 * exactly, so a view reaching past 2^31 elements never wraps to a wrong row.
 *
 * @example
 * const { length, count, step, start } = stridedRows(a.shape, [a, b]);
 * for (let r = 0; r < count; r++)
 *   for (let j = 0; j < length; j++) out[r * length + j] = a.data[start[0][r] + j * step[0]] + b.data[start[1][r] + j * step[1]];
 */

/** The layout of one operand: strides (in elements) and the offset of element 0. */
export interface Layout {
  readonly strides: readonly number[];
  readonly offset: number;
}

/** Row start indices: Int32Array when they fit, Float64Array beyond 2^31. */
export type RowStarts = Int32Array | Float64Array;

export interface StridedRows {
  /** Elements per row (the last merged axis). */
  length: number;
  /** Number of rows (0 for an empty shape). */
  count: number;
  /** Per operand: the distance between neighbouring elements of a row. */
  step: number[];
  /** Per operand: the storage index where each row starts (see the module comment for the type). */
  start: RowStarts[];
}

/** Rows of `shape` for each operand layout (see the module comment). */
export function stridedRows(shape: readonly number[], operands: readonly Layout[]): StridedRows {
  const k = operands.length;
  const dims: number[] = [];
  const strides: number[][] = operands.map(() => []);
  let size = 1;
  for (let ax = 0; ax < shape.length; ax++) {
    const d = shape[ax]!;
    size *= d;
    if (d === 1) continue;
    const last = dims.length - 1;
    // the previous (outer) axis and this one merge when, in every operand, stepping the
    // outer axis once is the same as stepping this axis d times
    let merge = last >= 0;
    for (let o = 0; o < k && merge; o++) merge = strides[o]![last] === operands[o]!.strides[ax]! * d;
    if (merge) {
      dims[last] = dims[last]! * d;
      for (let o = 0; o < k; o++) strides[o]![last] = operands[o]!.strides[ax]!;
    } else {
      dims.push(d);
      for (let o = 0; o < k; o++) strides[o]!.push(operands[o]!.strides[ax]!);
    }
  }
  if (size === 0) return { length: 0, count: 0, step: operands.map(() => 0), start: operands.map(() => new Int32Array(0)) };
  if (dims.length === 0) return { length: 1, count: 1, step: operands.map(() => 0), start: operands.map((op) => newStarts(op.offset, [], [], 1).fill(op.offset)) };

  const inner = dims.length - 1;
  const length = dims[inner]!;
  const count = size / length;
  const start = operands.map((op, o) => newStarts(op.offset, strides[o]!, dims, count));
  // an odometer over the outer axes, carrying each operand's row offset along
  const counter = new Array<number>(inner).fill(0);
  const pos = operands.map((op) => op.offset);
  for (let r = 0; r < count; r++) {
    for (let o = 0; o < k; o++) start[o]![r] = pos[o]!;
    for (let ax = inner - 1; ax >= 0; ax--) {
      counter[ax]!++;
      for (let o = 0; o < k; o++) pos[o] = pos[o]! + strides[o]![ax]!;
      if (counter[ax]! < dims[ax]!) break;
      for (let o = 0; o < k; o++) pos[o] = pos[o]! - strides[o]![ax]! * dims[ax]!;
      counter[ax] = 0;
    }
  }
  return { length, count, step: strides.map((s) => s[inner]!), start };
}

/**
 * Storage for `count` row starts of one operand: an Int32Array when the lowest and the
 * highest storage index its rows can start at are both int32, else a Float64Array.
 */
function newStarts(offset: number, strides: readonly number[], dims: readonly number[], count: number): RowStarts {
  let lo = offset;
  let hi = offset;
  for (let ax = 0; ax < dims.length - 1; ax++) {
    const reach = strides[ax]! * (dims[ax]! - 1);
    if (reach > 0) hi += reach;
    else lo += reach;
  }
  return lo >= -0x80000000 && hi <= 0x7fffffff ? new Int32Array(count) : new Float64Array(count);
}
