/**
 * Dense row-major matrix product C = A B for one matrix pair.
 *
 * The loop order is i-k-j: the innermost loop walks a row of B and a row of C
 * contiguously, which keeps memory access sequential. Rows of A are processed
 * four at a time so every loaded element of B is used four times (a register tile).
 */
export function matmulInto(
  a: Float32Array | Float64Array,
  b: Float32Array | Float64Array,
  c: Float32Array | Float64Array,
  m: number,
  k: number,
  n: number,
): void {
  c.fill(0);
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const c0 = i * n;
    const c1 = c0 + n;
    const c2 = c1 + n;
    const c3 = c2 + n;
    for (let p = 0; p < k; p++) {
      const a0 = a[i * k + p]!;
      const a1 = a[(i + 1) * k + p]!;
      const a2 = a[(i + 2) * k + p]!;
      const a3 = a[(i + 3) * k + p]!;
      const bRow = p * n;
      for (let j = 0; j < n; j++) {
        const bv = b[bRow + j]!;
        c[c0 + j] += a0 * bv;
        c[c1 + j] += a1 * bv;
        c[c2 + j] += a2 * bv;
        c[c3 + j] += a3 * bv;
      }
    }
  }
  for (; i < m; i++) {
    const cRow = i * n;
    for (let p = 0; p < k; p++) {
      const av = a[i * k + p]!;
      const bRow = p * n;
      for (let j = 0; j < n; j++) c[cRow + j] += av * b[bRow + j]!;
    }
  }
}
