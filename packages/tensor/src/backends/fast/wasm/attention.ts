/**
 * The WebAssembly SIMD kernels of the fused attention (../attention.ts drives them): the
 * three products of one head, on operands the driver has copied into the module's
 * memory with their rows padded to whole f32x4 vectors (zeros in the padding).
 *
 * An attention head's products are small (T = S = 64, D = 32 in the bench's GPT), too
 * small for the packed GEMM (gemm.ts), whose packing of A and B and adding-back of C
 * cost several times its arithmetic at this size. These kernels read the rows in place:
 *
 *   dot4(a, b, c, m, n, dp4, diag):   c[i][j] = a[i] . b[j] as four partial sums (one
 *                                     f32x4 per score, 16 bytes), left for the driver's
 *                                     row loop to add (it reads every score once anyway);
 *   axpyRows(a, b, c, m, n, dp4, diag): c[i] += sum_j a[i][j] b[j]   (P v, dS k);
 *   axpyCols(a, b, c, m, n, dp4, diag): c[j] += sum_i a[i][j] b[i]   (P^T g, dS^T q).
 *
 * a of axpy* is a dense [m, n] float32 matrix (the weights); the vector rows (a and b
 * of dot4, b and c of axpy*) are dp4 vectors long. Row i only uses columns
 * j < min(n, i + diag): diag = 1 is the causal mask, diag = n no mask. Pointers are
 * byte offsets; c of axpy* must be zeroed by the caller. A fourth function,
 * exp(ptr, vectors), is the softmax module's vectorised exp (expf.ts) in place, for the
 * weights; its constants live in the first CONST_BYTES of memory, which the driver
 * leaves alone.
 */
import { Code, emitModule, I32, V128 } from './emit.ts';
import { expInPlaceKernel, forCount } from './expf.ts';

export { CONST_BYTES } from './expf.ts';

// parameters, shared by the three functions
const A = 0, B = 1, C = 2, M = 3, N = 4, DP4 = 5, DIAG = 6;
// locals
const I = 7, J = 8, P = 9, LIM = 10, AP = 11, BP = 12, CP = 13, V = 14;
const LOCALS = [I32, I32, I32, I32, I32, I32, I32, V128];

/** LIM = min(n, i + diag): the columns row i may use. */
function rowLimit(c: Code): void {
  c.get(I).get(DIAG).i32Add().get(N).get(I).get(DIAG).i32Add().get(N).i32LtU().select().set(LIM);
}

/** `ptr = base + row * dp4 * 16`: the start of a vector row. */
function vectorRow(c: Code, base: number, row: number, ptr: number): void {
  c.get(base).get(row).get(DP4).i32Mul().i32Const(4).i32Shl().i32Add().set(ptr);
}

function dot4(): Code {
  const c = new Code();
  forCount(c, I, M, () => {
    rowLimit(c);
    // CP = c + i * n * 16
    c.get(C).get(I).get(N).i32Mul().i32Const(4).i32Shl().i32Add().set(CP);
    forCount(c, J, LIM, () => {
      vectorRow(c, A, I, AP);
      vectorRow(c, B, J, BP);
      c.f32Const0().f32x4Splat().set(V);
      forCount(c, P, DP4, () => {
        c.get(V).get(AP).v128Load(0).get(BP).v128Load(0).f32x4Mul().f32x4Add().set(V);
        c.get(AP).i32Const(16).i32Add().set(AP);
        c.get(BP).i32Const(16).i32Add().set(BP);
      });
      c.get(CP).get(V).v128Store(0);
      c.get(CP).i32Const(16).i32Add().set(CP);
    });
  });
  return c;
}

/** axpyRows (`cols` false: b row j, c row i) or axpyCols (`cols` true: b row i, c row j). */
function axpy(cols: boolean): Code {
  const c = new Code();
  forCount(c, I, M, () => {
    rowLimit(c);
    forCount(c, J, LIM, () => {
      // V = a[i][j] in all four lanes, at a + (i * n + j) * 4
      c.get(A).get(I).get(N).i32Mul().get(J).i32Add().i32Const(2).i32Shl().i32Add().v128Load32Splat(0).set(V);
      vectorRow(c, B, cols ? I : J, BP);
      vectorRow(c, C, cols ? J : I, CP);
      forCount(c, P, DP4, () => {
        c.get(CP).get(CP).v128Load(0).get(V).get(BP).v128Load(0).f32x4Mul().f32x4Add().v128Store(0);
        c.get(BP).i32Const(16).i32Add().set(BP);
        c.get(CP).i32Const(16).i32Add().set(CP);
      });
    });
  });
  return c;
}

/** The module: dot4, axpyRows, axpyCols and exp over one memory of `pages` 64 KiB pages. */
export function buildAttentionModule(pages: number): Uint8Array {
  const params = [I32, I32, I32, I32, I32, I32, I32];
  return emitModule(pages, [
    { name: 'dot4', params, results: [], locals: LOCALS, code: dot4() },
    { name: 'axpyRows', params, results: [], locals: LOCALS, code: axpy(false) },
    { name: 'axpyCols', params, results: [], locals: LOCALS, code: axpy(true) },
    { name: 'exp', params: [I32, I32], results: [], locals: [I32, I32, V128, V128, V128, V128], code: expInPlaceKernel() },
  ]);
}
