/**
 * The WebAssembly SIMD module of the float32 softmax (driver: ../softmax-wasm.ts).
 *
 * The driver copies a chunk of rows into the module's memory, each row padded with
 * -Infinity to a multiple of four floats (`dp` floats apart, so every row is whole
 * vectors and needs no scalar tail: the padding never wins the maximum and its exp is 0),
 * calls one function, and copies the rows back out. Per-row statistics live in a second
 * area, 16 bytes a row: the row's maximum m and then its sum of exps (or, filled in by
 * the driver, its log-sum-exp), both float64.
 *
 *   softmaxRows(ptr, rows, dp, stat): per row, m (a NaN-propagating vector max), then
 *     e = exp(x - m) stored in place while s = sum e accumulates in float64 lanes, then
 *     e * (1/s). A row whose m is not finite (NaN, +-Infinity) is all NaN, which is what
 *     exp(x - m) / s gives there (the composed ops in ops/reduce.ts agree).
 *   sumExpRows(ptr, rows, dp, stat): only m and s, into the statistics (rows unchanged);
 *     the driver then forms lse = m + log s with Math.log.
 *   subRows(ptr, rows, dp, stat): x - lse, each lane in float64 and rounded once.
 *   exp(ptr, vectors): exp in place (zero below 2^-126), for the accuracy test.
 */
import { Code, emitModule, F32, F64, I32, V128 } from './emit.ts';
import { CONST_BYTES, emitExp, expInPlaceKernel, forCount, forVectors, storeExpConstants } from './expf.ts';

/** Bytes of statistics per row (m and s, float64 each). */
export const STAT_BYTES = 16;
/** Where the rows may start: below it, the constants of exp (see expConstLocals). */
export const DATA_PTR = Math.ceil(CONST_BYTES / 64) * 64;

/** Shuffle lanes moving bytes 8..15 (lanes 2, 3 of a f32x4) to the low half. */
const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7];
/** Shuffle lanes joining the low halves of two vectors. */
const LOW_HALVES = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];

// parameters of the row functions, then their locals
const PTR = 0, ROWS = 1, DP = 2, STAT = 3;
const R = 4, P = 5, Q = 6, END = 7, SP = 8, BEND = 9; // i32
const M = 10; // f32
const S = 11; // f64
const VM = 12, VD = 13, VE = 14, ACC0 = 15, ACC1 = 16, VX = 17, VN = 18, VR = 19, VT = 20, ACCF = 21; // v128
const ROW_LOCALS = [I32, I32, I32, I32, I32, I32, F32, F64, V128, V128, V128, V128, V128, V128, V128, V128, V128, V128];
const EXP_LOCALS = { t: VT, n: VN, r: VR };
/** Vectors summed in float32 before the partial sum joins the float64 total (see rowSumExp). */
const BLOCK = 8;

/** p = ptr + r*dp*4, end = p + dp*4, sp = stat + r*16 for the current row r. */
function rowStart(c: Code): void {
  c.get(PTR).get(R).get(DP).i32Mul().i32Const(2).i32Shl().i32Add().tee(P);
  c.get(DP).i32Const(2).i32Shl().i32Add().set(END);
  c.get(STAT).get(R).i32Const(4).i32Shl().i32Add().set(SP);
}

/**
 * m = the row's maximum; stores it as float64 at sp. Pseudo-max (one instruction) drops
 * a NaN it meets in the second operand, so m may miss a NaN: the sum of exps is NaN then
 * (exp of NaN is NaN here), which makes the row NaN all the same. Two accumulators take
 * alternate vectors, since each max waits for the one before it in its accumulator.
 */
function rowMax(c: Code): void {
  c.get(P).v128Load().tee(VM).set(VX);
  c.get(P).set(Q);
  c.block();
  c.loop();
  c.get(Q).i32Const(32).i32Add().get(END).i32GtU().brIf(1);
  c.get(VM).get(Q).v128Load().f32x4Pmax().set(VM);
  c.get(VX).get(Q).v128Load(16).f32x4Pmax().set(VX);
  c.get(Q).i32Const(32).i32Add().set(Q);
  c.br(0);
  c.end();
  c.end();
  // an odd vector left over
  c.get(Q).get(END).i32LtU().if();
  c.get(VM).get(Q).v128Load().f32x4Pmax().set(VM);
  c.end();
  c.get(VM).get(VX).f32x4Pmax().set(VM);
  c.get(VM).f32x4ExtractLane(0).get(VM).f32x4ExtractLane(1).f32Max();
  c.get(VM).f32x4ExtractLane(2).get(VM).f32x4ExtractLane(3).f32Max().f32Max().set(M);
  c.get(SP).get(M).f64PromoteF32().f64Store(0);
}

/**
 * s = sum of exp(x - m) over the row (stores the exps in place when `store`). Each lane
 * sums BLOCK vectors in float32 (relative error at most (BLOCK - 1) 2^-24 of that partial
 * sum), then the partial sums join two float64 accumulators: the float64 total keeps long
 * rows accurate, and converting once per block instead of once per vector saves a sixth
 * of the loop's instructions.
 */
function rowSumExp(c: Code, store: boolean): void {
  c.get(M).f32x4Splat().set(VM);
  c.f32x4Const(0).set(ACC0);
  c.f32x4Const(0).set(ACC1);
  c.get(P).set(Q);
  c.block();
  c.loop(); // ---- over blocks
  c.get(Q).get(END).i32LtU().i32Eqz().brIf(1);
  // bend = min(q + BLOCK * 16, end)
  c.get(Q).i32Const(BLOCK * 16).i32Add().tee(BEND).get(END).get(BEND).get(END).i32LtU().select().set(BEND);
  c.f32x4Const(0).set(ACCF);
  forVectors(c, Q, BEND, () => c.get(Q), () => {
    c.get(Q).v128Load().get(VM).f32x4Sub().set(VD);
    emitExp(c, VD, EXP_LOCALS, 'zeroBelow');
    c.set(VE);
    if (store) c.get(Q).get(VE).v128Store();
    c.get(ACCF).get(VE).f32x4Add().set(ACCF);
  });
  c.get(ACC0).get(ACCF).f64x2PromoteLowF32x4().f64x2Add().set(ACC0);
  c.get(ACC1).get(ACCF).get(ACCF).i8x16Shuffle(HIGH_HALF).f64x2PromoteLowF32x4().f64x2Add().set(ACC1);
  c.br(0);
  c.end();
  c.end();
  c.get(ACC0).get(ACC1).f64x2Add().set(ACC0);
  c.get(ACC0).f64x2ExtractLane(0).get(ACC0).f64x2ExtractLane(1).f64Add().set(S);
  c.get(SP).get(S).f64Store(8);
}

/** The body of softmaxRows (store = true) or sumExpRows (store = false). */
function rowKernel(store: boolean): Code {
  const c = new Code();
  storeExpConstants(c);
  forCount(c, R, ROWS, () => {
    rowStart(c);
    rowMax(c);
    // finite m <=> m - m == 0
    c.get(M).get(M).f32Sub().f32Const0().f32Eq().if();
    rowSumExp(c, store);
    if (store) {
      c.f64Const(1).get(S).f64Div().f32DemoteF64().f32x4Splat().set(VM);
      forVectors(c, Q, END, () => c.get(P), () => c.get(Q).get(Q).v128Load().get(VM).f32x4Mul().v128Store());
    }
    if (store) {
      c.else();
      forVectors(c, Q, END, () => c.get(P), () => c.get(Q).f32x4Const(NaN).v128Store());
    }
    c.end();
  });
  return c;
}

/** The body of subRows: x - lse with lse the float64 at stat + r*16 + 8. */
function subKernel(): Code {
  const c = new Code();
  forCount(c, R, ROWS, () => {
    rowStart(c);
    c.get(SP).f64Load(8).f64x2Splat().set(VM);
    forVectors(c, Q, END, () => c.get(P), () => {
      c.get(Q).v128Load().set(VX);
      c.get(Q);
      c.get(VX).f64x2PromoteLowF32x4().get(VM).f64x2Sub().f32x4DemoteF64x2Zero();
      c.get(VX).get(VX).i8x16Shuffle(HIGH_HALF).f64x2PromoteLowF32x4().get(VM).f64x2Sub().f32x4DemoteF64x2Zero();
      c.i8x16Shuffle(LOW_HALVES).v128Store();
    });
  });
  return c;
}

/** The module's bytes, with `pages` 64 KiB pages of memory to start with. */
export function buildSoftmaxModule(pages: number): Uint8Array {
  const row = [I32, I32, I32, I32];
  return emitModule(pages, [
    { name: 'softmaxRows', params: row, results: [], locals: ROW_LOCALS, code: rowKernel(true) },
    { name: 'sumExpRows', params: row, results: [], locals: ROW_LOCALS, code: rowKernel(false) },
    { name: 'subRows', params: row, results: [], locals: ROW_LOCALS, code: subKernel() },
    { name: 'exp', params: [I32, I32], results: [], locals: [I32, I32, V128, V128, V128, V128], code: expInPlaceKernel() },
  ]);
}
