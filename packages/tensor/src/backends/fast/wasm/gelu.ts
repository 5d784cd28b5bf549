/**
 * The WebAssembly SIMD module of the float32 tanh-GELU, forward and backward (driver:
 * ../gelu-wasm.ts). GELU with the tanh approximation (Hendrycks & Gimpel 2016) is
 *
 *   gelu(x) = x (1 + tanh u) / 2,   u = c (x + a x^3),  c = sqrt(2 / pi), a = 0.044715,
 *
 * and since (1 + tanh u) / 2 = 1 / (1 + exp(-2u)) = s, the kernels compute
 *
 *   gelu(x)  = x s
 *   gelu'(x) = s + x s (1 - s) 2u'(x) = s (1 + x e s (2c + 6ca x^2)),   e = exp(-2u),
 *
 * writing 1 - s as e s, which does not cancel when s is near 1. One exp and one division
 * per element, no tanh. exp is the clamped one of expf.ts: for x below about -9.4, e
 * is capped at exp(88), and there gelu(x) (below 1e-37 in size) is set to 0. In the backward, x is
 * clamped to [-10, 10] first: beyond that gelu' is 0 or 1 to float32 precision, and
 * without the clamp x^2 overflows and makes 0 * Infinity.
 *
 * Infinities follow the reference formulas, which give NaN where they multiply 0 by
 * Infinity: gelu(-Infinity) and gelu'(+-Infinity) are NaN; NaN stays NaN.
 *
 *   gelu(ptr, vectors): in place.
 *   geluGrad(xPtr, gPtr, vectors): g * gelu'(x), written over g.
 */
import { Code, emitModule, I32, V128 } from './emit.ts';
import { CONST_BYTES, emitExp, EXP_HI, forVectors, storeExpConstants } from './expf.ts';

const C = Math.sqrt(2 / Math.PI);
const A = 0.044715;

/** This module's own constants, parked in memory after exp's (see storeExpConstants for why). */
const KS = [-2 * C * A, -2 * C, 1, -10, 10, 6 * C * A, 2 * C, Infinity, -Infinity, EXP_HI];
const [NEG_2CA, NEG_2C, ONE, LO, HI, SIX_CA, TWO_C, INF, NEG_INF, HI_EXP] = KS.map((_, i) => i) as number[];

/** Where the operands may start: below it, the constants. */
export const DATA_PTR = Math.ceil((CONST_BYTES + 16 * KS.length) / 64) * 64;

/** Pushes constant `i` of KS. */
function k(c: Code, i: number | undefined): Code {
  return c.i32Const(CONST_BYTES + 16 * i!).v128Load();
}

function storeConstants(c: Code): void {
  storeExpConstants(c);
  KS.forEach((v, i) => c.i32Const(CONST_BYTES + 16 * i).f32x4Const(v).v128Store());
}

// locals after the parameters (3 of them for both functions, see buildGeluModule)
const Q = 3, END = 4, G = 5; // i32: q walks x, G walks g
const X = 6, X2 = 7, Z = 8, E = 9, S = 10, T = 11, N = 12, R = 13; // v128
const LOCALS = [I32, I32, I32, V128, V128, V128, V128, V128, V128, V128, V128];
const EXP = { t: T, n: N, r: R };

/** z = -2u = x (-2c - 2ca x^2) and e = exp(z) (clamped), s = 1 / (1 + e); needs X and X2. */
function sigmoidOf2u(c: Code): void {
  c.get(X).get(X2);
  k(c, NEG_2CA).f32x4Mul();
  k(c, NEG_2C).f32x4Add().f32x4Mul().set(Z);
  emitExp(c, Z, EXP, 'clamp');
  c.set(E);
  k(c, ONE);
  k(c, ONE).get(E).f32x4Add().f32x4Div().set(S);
}

/** ORs NaN (all bits set) into the value on the stack where the lanes of X equal `inf` (or |X| is infinite, for `abs`). */
function nanWhereInfinite(c: Code, abs: boolean): void {
  c.get(X);
  if (abs) c.f32x4Abs();
  k(c, abs ? INF : NEG_INF).f32x4Eq().v128Or();
}

function forwardKernel(): Code {
  const c = new Code();
  storeConstants(c);
  // params ptr = 0, vectors = 1, (unused) = 2
  c.get(0).get(1).i32Const(4).i32Shl().i32Add().set(END);
  forVectors(c, Q, END, () => c.get(0), () => {
    c.get(Q).v128Load().tee(X).get(X).f32x4Mul().set(X2);
    sigmoidOf2u(c);
    c.get(Q);
    c.get(X).get(S).f32x4Mul();
    // where the clamp capped e (z > EXP_HI), x s is below 1e-37 in size: make it 0
    k(c, HI_EXP).get(Z).f32x4Lt().v128AndNot();
    nanWhereInfinite(c, false);
    c.v128Store();
  });
  return c;
}

function backwardKernel(): Code {
  const c = new Code();
  storeConstants(c);
  // params xPtr = 0, gPtr = 1, vectors = 2
  c.get(0).get(2).i32Const(4).i32Shl().i32Add().set(END);
  c.get(1).set(G);
  forVectors(c, Q, END, () => c.get(0), () => {
    c.get(Q).v128Load();
    k(c, LO).f32x4Pmax();
    k(c, HI).f32x4Pmin().tee(X).get(X).f32x4Mul().set(X2);
    sigmoidOf2u(c);
    // s (1 + x e s (2c + 6ca x^2)) * g
    c.get(G);
    c.get(X2);
    k(c, SIX_CA).f32x4Mul();
    k(c, TWO_C).f32x4Add();
    // e s first: it is at most 1, while e alone reaches 1e38 and x e would overflow
    c.get(X).f32x4Mul().get(E).get(S).f32x4Mul().f32x4Mul();
    k(c, ONE).f32x4Add().get(S).f32x4Mul();
    c.get(G).v128Load().f32x4Mul();
    // the clamp kept x's infinities out: put them back as NaN, from the unclamped x
    c.get(Q).v128Load().set(X);
    nanWhereInfinite(c, true);
    c.v128Store();
    c.get(G).i32Const(16).i32Add().set(G);
  });
  return c;
}

/** The module's bytes, with `pages` 64 KiB pages of memory to start with. */
export function buildGeluModule(pages: number): Uint8Array {
  return emitModule(pages, [
    { name: 'gelu', params: [I32, I32, I32], results: [], locals: LOCALS, code: forwardKernel() },
    { name: 'geluGrad', params: [I32, I32, I32], results: [], locals: LOCALS, code: backwardKernel() },
  ]);
}
