/**
 * The WebAssembly SIMD module of the float32 layer norm, forward and backward (driver:
 * ../layer-norm-wasm.ts; the math is in ../layer-norm-kernel.ts).
 *
 * The driver copies a chunk of rows into the module's memory, each row padded with zeros
 * to `dp`, a multiple of four floats, so every row is whole vectors. All arithmetic is in
 * float64 lanes (f64x2): each float32 vector is widened into its low and high halves, and
 * the results are rounded to float32 once, when stored. Every per-element formula is the
 * JS kernel's, in its order of operations, so y, dweight and dbias (summed over rows in
 * the same order) are bitwise the JS kernel's for the same mean and rstd; only the row
 * sums (mean, variance, mean(dxhat), mean(dxhat xhat)) are added in another order (four
 * float64 partial sums per row instead of one), which moves them by a few float64
 * roundings, far below float32 resolution.
 *
 * The row's last vector is masked where a sum must not see the padding: (0 - mean)^2 is
 * not 0. The mask (two f64x2 masks, for the low and high halves) is written by the driver
 * at MASK_PTR.
 *
 *   forward(xPtr, rows, dp, n, eps, stat, w, b): per row, in place, y over x; mean and
 *     rstd as float64 at stat + 16 r; the weight and bias (float32, dp each) at w and b.
 *     Four variants: forward_wb, forward_w, forward_b, forward (which ignore what they lack).
 *   backward(gPtr, xPtr, rows, dp, n, stat, w, dw, db): dx over g, adding g xhat to
 *     dweight (float64, dp) at dw and g to dbias at db for the rows of the chunk; mean and
 *     rstd read at stat + 16 r. Variants backward_wb, backward_w, backward_b, backward.
 */
import { Code, emitModule, F64, I32, V128 } from './emit.ts';
import { forCount, forVectors } from './expf.ts';

/** Where the tail masks lie (two v128). */
export const MASK_PTR = 0;
/** Where the operands may start. */
export const DATA_PTR = 64;
/** Bytes of statistics per row (mean and rstd, float64 each). */
export const STAT_BYTES = 16;

/** Shuffle lanes moving bytes 8..15 (lanes 2, 3 of a f32x4) to the low half. */
const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7];
/** Shuffle lanes joining the low halves of two vectors. */
const LOW_HALVES = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];

// parameters (both have nine; forward's last is unused):
//   forward (xPtr, rows, dp, n, eps, stat, w, b, -)
//   backward (gPtr, xPtr, rows, dp, n, stat, w, dw, db)
// then the locals, shared by both
const R = 9, P = 10, Q = 11, LAST = 12, END = 13, SP = 14, WQ = 15, BQ = 16, GQ = 17, DWQ = 18; // i32
const MU = 19, RS = 20; // f64
const V = 21, A0 = 22, A1 = 23, B0 = 24, B1 = 25, VMU = 26, VRS = 27, L = 28, G = 29, D = 30, VA = 31, VB = 32; // v128
const LOCALS = [...Array<number>(10).fill(I32), F64, F64, ...Array<number>(12).fill(V128)];

/** f64.sqrt, which emit.ts does not name. */
function f64Sqrt(c: Code): Code {
  c.bytes.push(0x9f);
  return c;
}

/** Pushes the f64x2 widening of the low (half 0) or high (half 1) two floats of local `v`. */
function widen(c: Code, v: number, half: number): Code {
  c.get(v);
  if (half === 1) c.get(v).i8x16Shuffle(HIGH_HALF);
  return c.f64x2PromoteLowF32x4();
}

/** The sum of the four float64 lanes of a0 and a1, as one f64 on the stack. */
function lanesSum(c: Code, a0: number, a1: number): void {
  c.get(a0).get(a1).f64x2Add().set(a0);
  c.get(a0).f64x2ExtractLane(0).get(a0).f64x2ExtractLane(1).f64Add();
}

/** Adds `by` bytes to each of the i32 locals `ptrs`. */
function advance(c: Code, by: number, ...ptrs: number[]): void {
  for (const p of ptrs) c.get(p).i32Const(by).i32Add().set(p);
}

/**
 * Runs body(masked) over the row's vectors [P, END), Q at each: unmasked up to LAST, then
 * masked at LAST. `step` advances the walking pointers after each vector.
 */
function overRow(c: Code, body: (masked: boolean) => void, step: () => void): void {
  forVectors(c, Q, LAST, () => c.get(P), () => {
    body(false);
    step();
  });
  body(true);
}

/** ANDs the f64x2 on the stack with the tail mask of half `h` when `masked`. */
function mask(c: Code, masked: boolean, h: number): void {
  if (masked) c.i32Const(MASK_PTR + 16 * h).v128Load().v128And();
}

/** p = base + r*dp*4, end = p + dp*4, last = end - 16 (the last vector); sp = stat + 16 r. */
function rowStart(c: Code, base: number, dp: number, stat: number): void {
  c.get(base).get(R).get(dp).i32Mul().i32Const(2).i32Shl().i32Add().tee(P);
  c.get(dp).i32Const(2).i32Shl().i32Add().tee(END).i32Const(16).i32Sub().set(LAST);
  c.get(stat).get(R).i32Const(4).i32Shl().i32Add().set(SP);
}

function zero(c: Code, ...locals: number[]): void {
  for (const l of locals) c.f64Const(0).f64x2Splat().set(l);
}

function forwardKernel(hasW: boolean, hasB: boolean): Code {
  const [X_PTR, ROWS, DP, N, EPS, STAT, W, B] = [0, 1, 2, 3, 4, 5, 6, 7];
  const c = new Code();
  forCount(c, R, ROWS, () => {
    rowStart(c, X_PTR, DP, STAT);
    // mean: the padding is zero, so no mask
    zero(c, A0, A1);
    forVectors(c, Q, END, () => c.get(P), () => {
      c.get(Q).v128Load().set(V);
      widen(c, V, 0).get(A0).f64x2Add().set(A0);
      widen(c, V, 1).get(A1).f64x2Add().set(A1);
    });
    lanesSum(c, A0, A1);
    c.get(N).f64Div().tee(MU).f64x2Splat().set(VMU);
    // variance, from x - mean (two passes: no cancellation)
    zero(c, A0, A1);
    overRow(c, (masked) => {
      c.get(Q).v128Load().set(V);
      for (const [h, acc] of [[0, A0], [1, A1]] as const) {
        widen(c, V, h).get(VMU).f64x2Sub().tee(L).get(L).f64x2Mul();
        mask(c, masked, h);
        c.get(acc).f64x2Add().set(acc);
      }
    }, () => {});
    // rstd = 1 / sqrt(ss / n + eps), as the JS kernel
    c.f64Const(1);
    lanesSum(c, A0, A1);
    c.get(N).f64Div().get(EPS).f64Add();
    f64Sqrt(c).f64Div().tee(RS).f64x2Splat().set(VRS);
    c.get(SP).get(MU).f64Store(0);
    c.get(SP).get(RS).f64Store(8);
    // y = (x - mean) * rstd * w + b, each lane in float64 and rounded once, over x
    c.get(W).set(WQ);
    c.get(B).set(BQ);
    forVectors(c, Q, END, () => c.get(P), () => {
      c.get(Q).v128Load().set(V);
      if (hasW) c.get(WQ).v128Load().set(VA);
      if (hasB) c.get(BQ).v128Load().set(VB);
      c.get(Q);
      for (const h of [0, 1]) {
        widen(c, V, h).get(VMU).f64x2Sub().get(VRS).f64x2Mul();
        if (hasW) widen(c, VA, h).f64x2Mul();
        if (hasB) widen(c, VB, h).f64x2Add();
        c.f32x4DemoteF64x2Zero();
      }
      c.i8x16Shuffle(LOW_HALVES).v128Store();
      advance(c, 16, WQ, BQ);
    });
  });
  return c;
}

/** xhat = (x - mean) rstd of half h of V into L, and d = g (* w) of half h of G into D. */
function xhatAndD(c: Code, h: number, hasW: boolean): void {
  widen(c, V, h).get(VMU).f64x2Sub().get(VRS).f64x2Mul().set(L);
  widen(c, G, h);
  if (hasW) widen(c, VA, h).f64x2Mul();
  c.set(D);
}

/** Loads x, g (and w) at the walking pointers into V, G (and VA). */
function loadRow(c: Code, hasW: boolean): void {
  c.get(Q).v128Load().set(V);
  c.get(GQ).v128Load().set(G);
  if (hasW) c.get(WQ).v128Load().set(VA);
}

function backwardKernel(hasW: boolean, hasB: boolean): Code {
  const [G_PTR, X_PTR, ROWS, DP, N, STAT, W, DW, DB] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const c = new Code();
  forCount(c, R, ROWS, () => {
    rowStart(c, X_PTR, DP, STAT);
    c.get(SP).f64Load(0).f64x2Splat().set(VMU);
    c.get(SP).f64Load(8).f64x2Splat().set(VRS);
    zero(c, A0, A1, B0, B1);
    // pass 1: sum(d) and sum(d xhat) in float64 lanes; dweight += g xhat and dbias += g per column
    const starts = () => {
      c.get(P).get(G_PTR).i32Add().get(X_PTR).i32Sub().set(GQ); // g's row lies as far from gPtr as x's from xPtr
      c.get(W).set(WQ);
      c.get(DW).set(DWQ);
      c.get(DB).set(BQ);
    };
    starts();
    overRow(c, (masked) => {
      loadRow(c, hasW);
      for (const h of [0, 1]) {
        xhatAndD(c, h, hasW);
        c.get(D);
        mask(c, masked, h);
        c.get(h === 0 ? A0 : A1).f64x2Add().set(h === 0 ? A0 : A1);
        c.get(D).get(L).f64x2Mul();
        mask(c, masked, h);
        c.get(h === 0 ? B0 : B1).f64x2Add().set(h === 0 ? B0 : B1);
        if (hasW) {
          c.get(DWQ).get(DWQ).v128Load(16 * h);
          widen(c, G, h).get(L).f64x2Mul().f64x2Add().v128Store(16 * h);
        }
        if (hasB) {
          c.get(BQ).get(BQ).v128Load(16 * h);
          widen(c, G, h).f64x2Add().v128Store(16 * h);
        }
      }
    }, () => {
      advance(c, 16, GQ, WQ);
      advance(c, 32, DWQ, BQ);
    });
    // meanD into A0, meanDX into B0 (both splat)
    lanesSum(c, A0, A1);
    c.get(N).f64Div().f64x2Splat().set(A0);
    lanesSum(c, B0, B1);
    c.get(N).f64Div().f64x2Splat().set(B0);
    // pass 2: dx = rstd (d - meanD - xhat meanDX), over g
    starts();
    forVectors(c, Q, END, () => c.get(P), () => {
      loadRow(c, hasW);
      c.get(GQ);
      for (const h of [0, 1]) {
        xhatAndD(c, h, hasW);
        c.get(VRS).get(D).get(A0).f64x2Sub().get(L).get(B0).f64x2Mul().f64x2Sub().f64x2Mul();
        c.f32x4DemoteF64x2Zero();
      }
      c.i8x16Shuffle(LOW_HALVES).v128Store();
      advance(c, 16, GQ, WQ);
    });
  });
  return c;
}

/** The module's bytes, with `pages` 64 KiB pages of memory to start with. */
export function buildLayerNormModule(pages: number): Uint8Array {
  const fwd = [I32, I32, I32, F64, F64, I32, I32, I32, I32];
  const bwd = [I32, I32, I32, I32, F64, I32, I32, I32, I32];
  const fns = [];
  for (const [hasW, hasB, suffix] of [[true, true, '_wb'], [true, false, '_w'], [false, true, '_b'], [false, false, '']] as const) {
    fns.push({ name: `forward${suffix}`, params: fwd, results: [], locals: LOCALS, code: forwardKernel(hasW, hasB) });
    fns.push({ name: `backward${suffix}`, params: bwd, results: [], locals: LOCALS, code: backwardKernel(hasW, hasB) });
  }
  return emitModule(pages, fns);
}
