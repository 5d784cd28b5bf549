/**
 * Shape arithmetic: sizes, row-major strides, axis normalisation and NumPy broadcasting.
 * Errors name the op and every shape involved, so a user can find the bad call.
 */

export type Shape = readonly number[];

/** Number of elements in a shape (1 for a 0-d shape). */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major (C-order) strides, in elements. */
export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

export function shapeToString(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Turns a possibly negative axis into 0..ndim-1, or throws naming the op. */
export function normalizeAxis(axis: number, ndim: number, op: string): number {
  const a = axis < 0 ? axis + ndim : axis;
  if (!Number.isInteger(axis) || a < 0 || a >= ndim) {
    throw new RangeError(`${op}: axis ${axis} is out of range for a tensor with ${ndim} dimension(s)`);
  }
  return a;
}

/**
 * Normalises an axis argument for reductions: `undefined` means every axis; the
 * result is sorted and free of duplicates.
 */
export function normalizeAxes(axes: number | readonly number[] | undefined, ndim: number, op: string): number[] {
  if (axes === undefined) return Array.from({ length: ndim }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : axes;
  const out = list.map((a) => normalizeAxis(a, ndim, op));
  const unique = [...new Set(out)].sort((x, y) => x - y);
  if (unique.length !== out.length) throw new RangeError(`${op}: repeated axis in [${list.join(', ')}]`);
  return unique;
}

/**
 * NumPy broadcasting: align from the trailing dimension; sizes must match or be 1.
 * @example broadcastShapes([3, 1], [4], 'add') // [3, 4]
 */
export function broadcastShapes(a: Shape, b: Shape, op: string): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = i < n - a.length ? 1 : a[i - (n - a.length)]!;
    const db = i < n - b.length ? 1 : b[i - (n - b.length)]!;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`${op}: shapes ${shapeToString(a)} and ${shapeToString(b)} cannot be broadcast together`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Broadcasts any number of shapes together. */
export function broadcastAll(shapes: readonly Shape[], op: string): number[] {
  try {
    return shapes.reduce<number[]>((acc, s) => broadcastShapes(acc, s, op), []);
  } catch {
    throw new Error(`${op}: shapes ${shapes.map(shapeToString).join(', ')} cannot be broadcast together`);
  }
}

/** Validates a user-supplied shape: non-negative integers. */
export function checkShape(shape: Shape, op: string): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`${op}: invalid shape ${shapeToString(shape)}`);
  }
}
