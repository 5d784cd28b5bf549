/**
 * Small dense helpers on row-major typed arrays with an explicit shape: the gathers that apply a
 * permutation to one axis, moving an axis to the front, and the float64 product X Y^T that builds
 * weight-matching cost matrices. Internal to packages/wm.
 */

type Floats = Float32Array | Float64Array;

/** outer = product of dims before `axis`, inner = product of dims after it. */
export function splitAt(shape: readonly number[], axis: number): { outer: number; len: number; inner: number } {
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i]!;
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i]!;
  return { outer, len: shape[axis]!, inner };
}

/**
 * out[..., i*group + r, ...] = src[..., index[i]*group + r, ...] along `axis` (a block gather).
 * `out` may be a different float type than `src`; it must not alias it.
 */
export function takeAxisInto(
  src: Floats,
  shape: readonly number[],
  axis: number,
  index: Int32Array,
  group: number,
  out: Floats,
): void {
  const { outer, len, inner } = splitAt(shape, axis);
  const chunk = group * inner;
  const n = index.length;
  for (let o = 0; o < outer; o++) {
    const base = o * len * inner;
    for (let i = 0; i < n; i++) {
      const s = base + index[i]! * chunk;
      const d = base + i * chunk;
      if (chunk >= 16 && src.constructor === out.constructor) {
        out.set(src.subarray(s, s + chunk), d);
      } else {
        for (let c = 0; c < chunk; c++) out[d + c] = src[s + c]!;
      }
    }
  }
}

/**
 * The (n, rest) matrix whose row i holds every entry of block i of `axis` (blocks of `group`),
 * in the order (outer, r, inner): the "moveaxis then reshape(n, -1)" of git-re-basin.
 */
export function axisToFront(src: Floats, shape: readonly number[], axis: number, group: number): Float64Array {
  const { outer, len, inner } = splitAt(shape, axis);
  const n = len / group;
  const chunk = group * inner;
  const rest = outer * chunk;
  const out = new Float64Array(n * rest);
  for (let i = 0; i < n; i++) {
    for (let o = 0; o < outer; o++) {
      const s = (o * len + i * group) * inner;
      const d = i * rest + o * chunk;
      for (let c = 0; c < chunk; c++) out[d + c] = src[s + c]!;
    }
  }
  return out;
}

/**
 * acc (n x n) += X Y^T for row-major X, Y of shape (n, r), in float64. Rows are dotted two by
 * two (a 2 x 2 register tile), which halves the loads per multiply-add.
 */
export function addABt(acc: Float64Array, x: Float64Array, y: Float64Array, n: number, r: number): void {
  let i = 0;
  for (; i + 1 < n; i += 2) {
    const x0 = i * r;
    const x1 = x0 + r;
    let j = 0;
    for (; j + 1 < n; j += 2) {
      const y0 = j * r;
      const y1 = y0 + r;
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      for (let k = 0; k < r; k++) {
        const a0 = x[x0 + k]!;
        const a1 = x[x1 + k]!;
        const b0 = y[y0 + k]!;
        const b1 = y[y1 + k]!;
        s00 += a0 * b0;
        s01 += a0 * b1;
        s10 += a1 * b0;
        s11 += a1 * b1;
      }
      acc[i * n + j] += s00;
      acc[i * n + j + 1] += s01;
      acc[(i + 1) * n + j] += s10;
      acc[(i + 1) * n + j + 1] += s11;
    }
    if (j < n) {
      acc[i * n + j] += dot(x, x0, y, j * r, r);
      acc[(i + 1) * n + j] += dot(x, x1, y, j * r, r);
    }
  }
  if (i < n) {
    for (let j = 0; j < n; j++) acc[i * n + j] += dot(x, i * r, y, j * r, r);
  }
}

/** Dot product of x[xo .. xo+r) and y[yo .. yo+r). */
export function dot(x: ArrayLike<number>, xo: number, y: ArrayLike<number>, yo: number, r: number): number {
  let s = 0;
  for (let k = 0; k < r; k++) s += x[xo + k]! * y[yo + k]!;
  return s;
}
