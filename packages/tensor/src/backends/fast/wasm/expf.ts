/**
 * Code generators shared by the vector kernels (softmax.ts, gelu.ts, attention.ts): a float32
 * exp over four lanes, the in-place exp kernel built from it, and the two loop shapes every
 * kernel uses.
 *
 * exp(x) is computed the classic way (Cody & Waite 1980 argument reduction, then a
 * polynomial on the reduced argument):
 *
 *   n = nearest(x / ln 2),  r = x - n ln2_hi - n ln2_lo      (|r| <= ln2 / 2, about)
 *   exp(r) = 1 + r + r^2 p(r),  p of degree 4
 *   exp(x) = exp(r) 2^n, with 2^n built as the float whose exponent field is n + 127.
 *
 * ln2_hi has only 9 significant bits, so n ln2_hi is exact in float32 for |n| < 2^15 and
 * the reduction loses nothing. p's coefficients were fitted for tsgrad (a weighted least
 * squares fit iterated towards minimax, Lawson's algorithm, of (exp(r) - 1 - r) / r^2 on
 * [-ln2/2, ln2/2], in float64): the polynomial's own relative error is 3e-9, so the
 * float32 evaluation stays within one ulp of exp (the accuracy test measures it).
 *
 * Two ways to keep n + 127 in [1, 254] (a normal float): `zeroBelow` (softmax, whose
 * arguments are <= 0) lets lanes below EXP_LO compute garbage and then selects 0 there,
 * exact to within 2^-126 (the true value is a subnormal); `clamp` (a sigmoid, whose
 * arguments have either sign) clamps x to [EXP_LO, EXP_HI] first.
 */
import { Code } from './emit.ts';

/** ln(2^-126) as a float32: about the smallest argument whose exp is a normal float32. */
export const EXP_LO = Math.fround(-87.33654);
/** Largest argument of the clamped exp (exp(88) = 1.65e38 < float32 max). */
export const EXP_HI = 88;
const LOG2E = 1.4426950408889634;
const LN2_HI = 0.693359375;
const LN2_LO = -2.12194440e-4;
/**
 * 1.5 * 2^23 + 127. A float in [2^23, 2^24) has spacing 1, so adding 1.5 * 2^23 rounds to
 * an integer (ties to even), and with the 127 on top the mantissa field of the sum is
 * 2^22 + n + 127, whose low nine bits are n + 127 for n in [-126, 127].
 */
const MAGIC = 12583039;
/** p(r), highest coefficient first. */
const POLY = [0.0013814519910492346, 0.008368743645482861, 0.04166839094723053, 0.16666520411471253, 0.49999993432172046];

/** The constants of `emitExp`, in the order they are parked in memory. */
const CONSTS = [EXP_LO, EXP_HI, LOG2E, MAGIC, LN2_HI, LN2_LO, ...POLY, 1];
const [LO, HI, L2E, MAG, LNH, LNL, P] = [0, 1, 2, 3, 4, 5, 6];
const ONE = P + POLY.length;

/** Bytes at the start of a module's memory that `storeExpConstants` fills. */
export const CONST_BYTES = 16 * CONSTS.length;

/**
 * Stores the constants of `emitExp` at address 0, once per call of a kernel; `emitExp`
 * loads them from there inside its loop. Through memory on purpose: given a v128.const
 * (or a local set from one) V8 rebuilds the constant at every use inside the loop, three
 * instructions each, which made exp 25% slower; a load from memory is one.
 */
export function storeExpConstants(c: Code): void {
  CONSTS.forEach((v, i) => c.i32Const(16 * i).f32x4Const(v).v128Store());
}

/** Scratch v128 locals `emitExp` may overwrite. */
export interface ExpLocals {
  t: number;
  n: number;
  r: number;
}

/**
 * Pushes exp of the four lanes of local `arg` onto the stack (see the module comment for
 * the two `mode`s). NaN lanes give NaN.
 */
export function emitExp(c: Code, arg: number, t: ExpLocals, mode: 'zeroBelow' | 'clamp'): void {
  const k = (i: number) => c.i32Const(16 * i).v128Load();
  let x = arg;
  if (mode === 'clamp') {
    c.get(arg);
    k(LO).f32x4Pmax();
    k(HI).f32x4Pmin().set(t.r);
    x = t.r;
  }
  // round x / ln 2 to an integer by adding MAGIC: then n = t - MAGIC exactly, and the low
  // bits of t's mantissa are n + 127 (see MAGIC), which is cheaper than nearest + convert
  c.get(x); k(L2E).f32x4Mul(); k(MAG).f32x4Add().set(t.t);
  c.get(t.t); k(MAG).f32x4Sub().set(t.n);
  c.get(x).get(t.n); k(LNH).f32x4Mul().f32x4Sub().get(t.n); k(LNL).f32x4Mul().f32x4Sub().set(t.r);
  // p(r) by Horner from its highest coefficient, then p r^2 + r + 1
  k(P);
  for (let i = 1; i < POLY.length; i++) {
    c.get(t.r).f32x4Mul();
    k(P + i).f32x4Add();
  }
  c.get(t.r).f32x4Mul().get(t.r).f32x4Mul().get(t.r).f32x4Add();
  k(ONE).f32x4Add();
  // times 2^n: shifting t's bits left by 23 leaves n + 127 in the exponent field
  c.get(t.t).i32Const(23).i32x4Shl().f32x4Mul();
  if (mode === 'zeroBelow') {
    c.get(arg);
    k(LO).f32x4Lt().v128AndNot();
  }
}

/**
 * Emits `for (q = from; q < end; q += 16) body()`: a loop over the 16-byte vectors of
 * [from, end), with `q` and `end` i32 locals (`from` pushes the start address).
 */
export function forVectors(c: Code, q: number, end: number, from: () => void, body: () => void): void {
  from();
  c.set(q);
  c.block();
  c.loop();
  c.get(q).get(end).i32LtU().i32Eqz().brIf(1);
  body();
  c.get(q).i32Const(16).i32Add().set(q);
  c.br(0);
  c.end();
  c.end();
}

/** Emits `for (r = 0; r < count; r++) body()`, `r` and `count` i32 locals. */
export function forCount(c: Code, r: number, count: number, body: () => void): void {
  c.i32Const(0).set(r);
  c.block();
  c.loop();
  c.get(r).get(count).i32LtU().i32Eqz().brIf(1);
  body();
  c.get(r).i32Const(1).i32Add().set(r);
  c.br(0);
  c.end();
  c.end();
}

/**
 * The body of a kernel `exp(ptr, vectors)`: exp of `vectors` f32x4 at ptr, in place, for
 * arguments <= 0 (below exp's range gives 0). Its locals: ptr = 0 and vectors = 1 (params),
 * then q = 2, end = 3 (i32), v = 4 and exp's scratch 5-7 (v128).
 */
export function expInPlaceKernel(): Code {
  const c = new Code();
  storeExpConstants(c);
  c.get(0).get(1).i32Const(4).i32Shl().i32Add().set(3);
  forVectors(c, 2, 3, () => c.get(0), () => {
    c.get(2).v128Load().set(4);
    c.get(2);
    emitExp(c, 4, { t: 5, n: 6, r: 7 }, 'zeroBelow');
    c.v128Store();
  });
  return c;
}
