/**
 * The WebAssembly SIMD module of the float32 Adam / AdamW update (driver: ../adam-wasm.ts).
 * Per element, with every constant a float64 computed by the caller exactly as nn's plain
 * loop (packages/nn/src/optim/adam.ts) computes it:
 *
 *   g' = sign g + l2 w,   w' = w shrink,
 *   m  = b1 m + c1 g',    v  = b2 v + (c2 g') g'          (c1 = 1 - b1, c2 = 1 - b2)
 *   vmax = max(vmax, v)                                  (amsgrad only; then v means vmax)
 *   w  = w' - (stepSize m) / (sqrt(v) / bc2Sqrt + eps)
 *
 * The arithmetic is float64 (f64x2, two lanes), with the same operations in the same order
 * and the same roundings to float32 (m, v and vmax are stored as float32 and m and vmax
 * are read back from float32 before the last line, as the plain loop reads them back from
 * its Float32Array), so the result is bitwise the plain loop's: IEEE add, multiply,
 * divide and square root are correctly rounded, and float64 -> float32 demotion rounds to
 * nearest even, as a Float32Array store does. Float32 lanes would be about twice as fast
 * in the divide and square root but would drift from the plain update by an ulp here and
 * there, and the reproductions' numbers would change with the backend.
 *
 * The operands sit in one memory, `region` bytes apart from `ptr`: w, g, m, v, vmax.
 *   adam(ptr, vectors, b1, c1, b2, c2, l2, shrink, sign, stepSize, bc2Sqrt, eps)
 *   adamAmsgrad(same): the amsgrad variant.
 * `vectors` counts groups of four float32s; each is processed as two f64x2 halves.
 */
import { Code, emitModule, F64, I32, V128 } from './emit.ts';

/** Parameters: ptr, vectors, then the ten float64 constants in this order. */
const CONSTS = ['b1', 'c1', 'b2', 'c2', 'l2', 'shrink', 'sign', 'stepSize', 'bc2Sqrt', 'eps'] as const;
type ConstName = (typeof CONSTS)[number];
const PARAMS = [I32, I32, ...CONSTS.map(() => F64)];

// locals after the 12 parameters
const Q = 12, END = 13; // i32
const K0 = 14; // v128: the ten constants splatted, K0 + index in CONSTS
const RAW = K0 + CONSTS.length; // v128: a loaded vector of four float32s
const W = RAW + 1, G = W + 1, M = G + 1, V = M + 1, X = V + 1; // v128 (f64x2 working values)
const OUT_W = X + 1, OUT_M = OUT_W + 2, OUT_V = OUT_M + 2, OUT_VMAX = OUT_V + 2; // two halves each
const LOCALS = [I32, I32, ...new Array<number>(OUT_VMAX + 2 - K0).fill(V128)];

function k(c: Code, name: ConstName): Code {
  return c.get(K0 + CONSTS.indexOf(name));
}

/** Pushes lanes `half * 2 .. half * 2 + 1` of the four float32s at q + offset, as float64. */
function loadHalf(c: Code, offset: number, half: number): void {
  c.get(Q).v128Load(offset);
  if (half === 1) {
    c.tee(RAW).get(RAW);
    c.i8x16Shuffle([8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]);
  }
  c.f64x2PromoteLowF32x4();
}

/** Rounds the f64x2 on the stack to float32 and back (what a Float32Array store and load do). */
function roundTrip(c: Code): void {
  c.f32x4DemoteF64x2Zero().f64x2PromoteLowF32x4();
}

/** One half (two lanes): leaves the new w, m, v (and vmax) as float64 in OUT_* + half. */
function updateHalf(c: Code, region: number, half: number, amsgrad: boolean): void {
  loadHalf(c, 0, half);
  c.set(W);
  // g' = sign g + l2 w
  loadHalf(c, region, half);
  k(c, 'sign').f64x2Mul();
  c.get(W);
  k(c, 'l2').f64x2Mul().f64x2Add().set(G);
  // m = b1 m + c1 g'
  loadHalf(c, 2 * region, half);
  k(c, 'b1').f64x2Mul();
  c.get(G);
  k(c, 'c1').f64x2Mul().f64x2Add().tee(M).set(OUT_M + half);
  // v = b2 v + (c2 g') g'
  loadHalf(c, 3 * region, half);
  k(c, 'b2').f64x2Mul();
  c.get(G);
  k(c, 'c2').f64x2Mul().get(G).f64x2Mul().f64x2Add().tee(V).set(OUT_V + half);
  if (amsgrad) {
    // vmax = max(vmax, v as stored); both are float32 values, so the max is exact
    loadHalf(c, 4 * region, half);
    c.get(V);
    roundTrip(c);
    c.f64x2Max().tee(V).set(OUT_VMAX + half);
  }
  // w = w shrink - (stepSize m) / (sqrt(v) / bc2Sqrt + eps), m as stored
  c.get(W);
  k(c, 'shrink').f64x2Mul();
  k(c, 'stepSize');
  c.get(M);
  roundTrip(c);
  c.f64x2Mul();
  c.get(V).f64x2Sqrt();
  k(c, 'bc2Sqrt').f64x2Div();
  k(c, 'eps').f64x2Add().f64x2Div().f64x2Sub().set(OUT_W + half);
}

/** Stores the two float64 halves in `local`, `local + 1` as four float32s at q + offset. */
function storeHalves(c: Code, offset: number, local: number): void {
  c.get(Q);
  c.get(local).f32x4DemoteF64x2Zero();
  c.get(local + 1).f32x4DemoteF64x2Zero();
  c.i8x16Shuffle([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]);
  c.v128Store(offset);
}

function kernel(region: number, amsgrad: boolean): Code {
  const c = new Code();
  CONSTS.forEach((_, i) => c.get(2 + i).f64x2Splat().set(K0 + i));
  c.get(0).get(1).i32Const(4).i32Shl().i32Add().set(END);
  c.get(0).set(Q);
  c.block();
  c.loop();
  c.get(Q).get(END).i32LtU().i32Eqz().brIf(1);
  updateHalf(c, region, 0, amsgrad);
  updateHalf(c, region, 1, amsgrad);
  storeHalves(c, 0, OUT_W);
  storeHalves(c, 2 * region, OUT_M);
  storeHalves(c, 3 * region, OUT_V);
  if (amsgrad) storeHalves(c, 4 * region, OUT_VMAX);
  c.get(Q).i32Const(16).i32Add().set(Q);
  c.br(0);
  c.end();
  c.end();
  return c;
}

/**
 * The module's bytes: operands `region` bytes apart (a multiple of 16), with `pages`
 * 64 KiB pages of memory (at least 5 regions).
 */
export function buildAdamModule(region: number, pages: number): Uint8Array {
  return emitModule(pages, [
    { name: 'adam', params: PARAMS, results: [], locals: LOCALS, code: kernel(region, false) },
    { name: 'adamAmsgrad', params: PARAMS, results: [], locals: LOCALS, code: kernel(region, true) },
  ]);
}
