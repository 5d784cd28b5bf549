/**
 * A tiny WebAssembly binary writer: just enough of the format (WebAssembly Core
 * Specification 2.0, chapter 5 "Binary Format", plus the fixed-width SIMD proposal's
 * 0xFD-prefixed opcodes) to build the float32 kernels in gemm.ts and softmax.ts. Written by hand
 * for tsgrad; it emits one module with one memory and a few functions.
 */

/** Value types (spec 5.3.1). */
export const I32 = 0x7f;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;

/** Unsigned LEB128 (spec 5.2.2): 7 bits per byte, low first, high bit set on all but the last. */
export function uleb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 for i32 constants: stop once the rest is all sign bits. */
export function sleb(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function utf8(s: string): number[] {
  return [...new TextEncoder().encode(s)];
}

/** A vector (spec 5.1.3): its length, then its items. */
function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

/** A section: id, byte size, contents. */
function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

/**
 * A function body under construction. Each method appends one instruction; the names
 * follow the text format (`local.get` is `get`, `f32x4.add` is `f32x4Add`, ...).
 */
export class Code {
  readonly bytes: number[] = [];
  private op(...b: number[]): this {
    this.bytes.push(...b);
    return this;
  }
  private simd(opcode: number, ...rest: number[]): this {
    return this.op(0xfd, ...uleb(opcode), ...rest);
  }
  get(i: number): this { return this.op(0x20, ...uleb(i)); }
  set(i: number): this { return this.op(0x21, ...uleb(i)); }
  tee(i: number): this { return this.op(0x22, ...uleb(i)); }
  i32Const(v: number): this { return this.op(0x41, ...sleb(v)); }
  i32Add(): this { return this.op(0x6a); }
  i32Sub(): this { return this.op(0x6b); }
  i32Mul(): this { return this.op(0x6c); }
  i32Shl(): this { return this.op(0x74); }
  i32LtU(): this { return this.op(0x49); }
  i32GtU(): this { return this.op(0x4b); }
  i32Eqz(): this { return this.op(0x45); }
  /** `block` with no result; `br 0` inside jumps past its `end`. */
  block(): this { return this.op(0x02, 0x40); }
  /** `loop` with no result; `br 0` inside jumps back to its start. */
  loop(): this { return this.op(0x03, 0x40); }
  br(depth: number): this { return this.op(0x0c, ...uleb(depth)); }
  brIf(depth: number): this { return this.op(0x0d, ...uleb(depth)); }
  end(): this { return this.op(0x0b); }
  /** v128.load from address (top of stack) + offset; align is log2 of the byte alignment. */
  v128Load(offset = 0, align = 4): this { return this.simd(0x00, ...uleb(align), ...uleb(offset)); }
  /** v128.load32_splat: one f32 from memory copied into all four lanes. */
  v128Load32Splat(offset = 0, align = 2): this { return this.simd(0x09, ...uleb(align), ...uleb(offset)); }
  /** v128.store of the top value at address (below it) + offset. */
  v128Store(offset = 0, align = 4): this { return this.simd(0x0b, ...uleb(align), ...uleb(offset)); }
  f32x4Splat(): this { return this.simd(0x13); }
  f32x4Add(): this { return this.simd(0xe4); }
  f32x4Mul(): this { return this.simd(0xe6); }
  f32Const0(): this { return this.op(0x43, 0, 0, 0, 0); }
  // ---- what the softmax and GELU kernels (softmax.ts, gelu.ts) add
  /** `if` with no result (pops an i32); `else` and `end` close it. */
  if(): this { return this.op(0x04, 0x40); }
  else(): this { return this.op(0x05); }
  i32And(): this { return this.op(0x71); }
  /** select: of a, b and an i32 condition on the stack, a if the condition is nonzero, else b. */
  select(): this { return this.op(0x1b); }
  f32Load(offset = 0): this { return this.op(0x2a, 2, ...uleb(offset)); }
  f64Load(offset = 0): this { return this.op(0x2b, 3, ...uleb(offset)); }
  f64Store(offset = 0): this { return this.op(0x39, 3, ...uleb(offset)); }
  f32Eq(): this { return this.op(0x5b); }
  f32Sub(): this { return this.op(0x93); }
  f32Max(): this { return this.op(0x97); }
  f64Add(): this { return this.op(0xa0); }
  f64Div(): this { return this.op(0xa3); }
  f32DemoteF64(): this { return this.op(0xb6); }
  f64PromoteF32(): this { return this.op(0xbb); }
  f64Const(v: number): this {
    const b = new Uint8Array(new Float64Array([v]).buffer);
    return this.op(0x44, ...b);
  }
  /** v128.const holding `v` in all four f32 lanes. */
  f32x4Const(v: number): this {
    const b = new Uint8Array(new Float32Array([v, v, v, v]).buffer);
    return this.simd(0x0c, ...b);
  }
  /** v128.const holding `v` in all four i32 lanes. */
  i32x4Const(v: number): this {
    const b = new Uint8Array(new Int32Array([v, v, v, v]).buffer);
    return this.simd(0x0c, ...b);
  }
  /** i8x16.shuffle of the two vectors on the stack: byte i of the result is byte lanes[i] of their concatenation. */
  i8x16Shuffle(lanes: number[]): this { return this.simd(0x0d, ...lanes); }
  f64x2Splat(): this { return this.simd(0x14); }
  f32x4ExtractLane(lane: number): this { return this.simd(0x1f, lane); }
  f64x2ExtractLane(lane: number): this { return this.simd(0x21, lane); }
  f32x4Eq(): this { return this.simd(0x41); }
  f32x4Lt(): this { return this.simd(0x43); }
  v128And(): this { return this.simd(0x4e); }
  /** a & ~b for a, b on the stack (b on top). */
  v128AndNot(): this { return this.simd(0x4f); }
  v128Or(): this { return this.simd(0x50); }
  f32x4DemoteF64x2Zero(): this { return this.simd(0x5e); }
  f64x2PromoteLowF32x4(): this { return this.simd(0x5f); }
  f32x4Nearest(): this { return this.simd(0x6a); }
  i32x4Shl(): this { return this.simd(0xab); }
  i32x4Add(): this { return this.simd(0xae); }
  f32x4Abs(): this { return this.simd(0xe0); }
  f32x4Neg(): this { return this.simd(0xe1); }
  f32x4Sub(): this { return this.simd(0xe5); }
  f32x4Div(): this { return this.simd(0xe7); }
  f32x4Min(): this { return this.simd(0xe8); }
  f32x4Max(): this { return this.simd(0xe9); }
  /** Pseudo-minimum b < a ? b : a (one x86 instruction; not NaN-propagating, unlike f32x4.min). */
  f32x4Pmin(): this { return this.simd(0xea); }
  /** Pseudo-maximum a < b ? b : a (one x86 instruction; not NaN-propagating, unlike f32x4.max). */
  f32x4Pmax(): this { return this.simd(0xeb); }
  f64x2Add(): this { return this.simd(0xf0); }
  f64x2Sub(): this { return this.simd(0xf1); }
  // ---- what the Adam kernel (adam.ts) adds
  f64x2Sqrt(): this { return this.simd(0xef); }
  f64x2Mul(): this { return this.simd(0xf2); }
  f64x2Div(): this { return this.simd(0xf3); }
  /** IEEE-style maximum: NaN if either lane is NaN, and max(-0, +0) = +0 (as Math.max). */
  f64x2Max(): this { return this.simd(0xf5); }
  i32x4TruncSatF32x4S(): this { return this.simd(0xf8); }
}

/** One function of a module: its signature, extra locals (by type, in order) and body. */
export interface FunctionDef {
  name: string;
  params: number[];
  results: number[];
  locals: number[];
  code: Code;
}

/**
 * A module with one exported memory of `pages` 64 KiB pages (named "memory") and the
 * given functions, each exported by name. Returns the binary (spec 5.5).
 */
export function emitModule(pages: number, fns: FunctionDef[]): Uint8Array {
  const types = vec(fns.map((f) => [0x60, ...vec(f.params.map((t) => [t])), ...vec(f.results.map((t) => [t]))]));
  const funcs = vec(fns.map((_, i) => uleb(i)));
  const memory = vec([[0x00, ...uleb(pages)]]); // limits: min only
  const exports = vec([[...vec(utf8('memory').map((b) => [b])), 0x02, 0x00], ...fns.map((f, i) => [...vec(utf8(f.name).map((b) => [b])), 0x00, ...uleb(i)])]);
  const bodies = vec(
    fns.map((f) => {
      // locals are written as runs of (count, type)
      const runs: number[][] = [];
      for (const t of f.locals) {
        const last = runs[runs.length - 1];
        if (last && last[1] === t) last[0]!++;
        else runs.push([1, t]);
      }
      const body = [...uleb(runs.length), ...runs.flatMap(([n, t]) => [...uleb(n!), t!]), ...f.code.bytes, 0x0b];
      return [...uleb(body.length), ...body];
    }),
  );
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    ...section(1, types),
    ...section(3, funcs),
    ...section(5, memory),
    ...section(7, exports),
    ...section(10, bodies),
  ]);
}
