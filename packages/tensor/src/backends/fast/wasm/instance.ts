/**
 * Instantiating the vector kernels' modules (softmax.ts, gelu.ts) and the switch that
 * turns them off. Each module lives on the main thread and owns one growable memory; the
 * drivers copy operands in by chunks, so the memory stays small (a few hundred KiB).
 */

/** The part of the WebAssembly JS API used here (the project's `lib` has no DOM types). */
declare const WebAssembly: {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
};

/** An instantiated module: its exported functions and its memory. */
export interface VectorModule<F> {
  fns: F;
  /** The memory's float32 view (replaced when the memory grows). */
  f32: Float32Array;
  /** The memory's float64 view (replaced when the memory grows). */
  f64: Float64Array;
  /** Grows the memory to at least `bytes` (and refreshes the views). */
  reserve(bytes: number): void;
}

/** Instantiates `bytes`; undefined where the runtime has no WebAssembly SIMD. */
export function instantiate<F>(bytes: Uint8Array): VectorModule<F> | undefined {
  try {
    if (typeof WebAssembly === 'undefined' || !WebAssembly.validate(bytes)) return undefined;
    const ex = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports as Record<string, unknown> & {
      memory: { buffer: ArrayBuffer; grow(pages: number): number };
    };
    const mod: VectorModule<F> = {
      fns: ex as unknown as F,
      f32: new Float32Array(ex.memory.buffer),
      f64: new Float64Array(ex.memory.buffer),
      reserve(bytes: number) {
        const have = ex.memory.buffer.byteLength;
        if (bytes <= have) return;
        ex.memory.grow(Math.ceil((bytes - have) / 65536));
        mod.f32 = new Float32Array(ex.memory.buffer);
        mod.f64 = new Float64Array(ex.memory.buffer);
      },
    };
    return mod;
  } catch {
    return undefined;
  }
}

let override: boolean | null = null;

/**
 * Whether the float32 vector kernels (softmax, GELU, layer norm, attention, Adam) run: on unless `TSGRAD_WASM=0` (which
 * also turns off the wasm matmul) or `setVectorKernels(false)`.
 */
export function vectorKernelsOn(): boolean {
  if (override !== null) return override;
  const env = typeof process !== 'undefined' ? process.env?.TSGRAD_WASM : undefined;
  return env !== '0';
}

/**
 * Turns the wasm float32 vector kernels (softmax, log-softmax, GELU, layer norm, attention, Adam) on or off for this
 * process; `null` goes back to `TSGRAD_WASM`. Off, the same ops run as plain JS loops.
 * @example setVectorKernels(false); // float32 softmax on the JS loop
 */
export function setVectorKernels(on: boolean | null): void {
  override = on;
}
