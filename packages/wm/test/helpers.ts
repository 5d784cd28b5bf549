/** Synthetic MLP state dicts and a plain forward pass, for tests that need no nn package. */
import { NDArray, Rng, matmul, relu, add } from '@tsgrad/tensor';
import type { StateDict } from '../src/index.ts';

/** A random MLP with layers `fc<i>` (PyTorch (out, in) weights), Gaussian entries scaled 1/sqrt(in). */
export function randomMlp(widths: readonly number[], seed: number, dtype: 'float32' | 'float64' = 'float32'): StateDict {
  const rng = new Rng(seed);
  const sd: StateDict = {};
  for (let l = 0; l + 1 < widths.length; l++) {
    const inp = widths[l]!;
    const out = widths[l + 1]!;
    const w = dtype === 'float64' ? new Float64Array(out * inp) : new Float32Array(out * inp);
    for (let i = 0; i < w.length; i++) w[i] = rng.normal() / Math.sqrt(inp);
    const b = dtype === 'float64' ? new Float64Array(out) : new Float32Array(out);
    for (let i = 0; i < b.length; i++) b[i] = 0.1 * rng.normal();
    sd[`fc${l}.weight`] = NDArray.fromTyped(w, [out, inp]);
    sd[`fc${l}.bias`] = NDArray.fromTyped(b, [out]);
  }
  return sd;
}

/** x (batch, in) through the MLP: ReLU after every layer but the last. */
export function mlpForward(sd: StateDict, x: NDArray): NDArray {
  let h = x;
  const layers = Object.keys(sd).filter((k) => k.endsWith('.weight')).length;
  for (let l = 0; l < layers; l++) {
    h = add(matmul(h, sd[`fc${l}.weight`]!.transpose(0, 1)), sd[`fc${l}.bias`]!);
    if (l < layers - 1) h = relu(h);
  }
  return h;
}

/** A (rows, cols) array of standard normals. */
export function randomInput(rows: number, cols: number, seed: number): NDArray {
  const rng = new Rng(seed);
  return NDArray.fromTyped(Float32Array.from({ length: rows * cols }, () => rng.normal()), [rows, cols]);
}

/** Adds Gaussian noise of standard deviation `std` to every float parameter. */
export function addNoise(sd: StateDict, std: number, seed: number): StateDict {
  const rng = new Rng(seed);
  const out: StateDict = {};
  for (const [k, v] of Object.entries(sd)) {
    const d = v.toFloat64Array().map((x) => x + std * rng.normal());
    out[k] = NDArray.fromTyped(v.dtype === 'float64' ? d : Float32Array.from(d), v.shape, v.dtype);
  }
  return out;
}

export function maxAbsDiff(a: NDArray, b: NDArray): number {
  const x = a.toFloat64Array();
  const y = b.toFloat64Array();
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!));
  return m;
}
