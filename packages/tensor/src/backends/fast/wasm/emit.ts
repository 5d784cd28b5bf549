/**
 * A tiny WebAssembly binary writer: just enough of the format (WebAssembly Core
 * Specification 2.0, chapter 5 "Binary Format", plus the fixed-width SIMD proposal's
 * 0xFD-prefixed opcodes) to build the float32 GEMM kernel in gemm.ts. Written by hand
 * for tsgrad; it emits one module with one memory and a few functions.
 */

/** Value types (spec 5.3.1). */
export const I32 = 0x7f;
export const F32 = 0x7d;
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
