/**
 * The rules of loading a checkpoint into a module: which keys match, which are missing,
 * unexpected or mis-shaped, and the error that names them all (strict) before anything
 * is written, so a failed load leaves the model as it was. `Module.loadStateDict` runs
 * `planLoad` on its own name -> tensor map, then `copyInPlace`.
 */
import type { Tensor } from '@tsgrad/autograd';
import * as nd from '@tsgrad/tensor';

/** Outcome of `loadStateDict`; in strict mode any non-empty list is an error instead. */
export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
  mismatchedKeys: { key: string; expected: number[]; got: number[] }[];
}

/**
 * Matches `sd` against the module's own tensors (`own`, key -> tensor). Strict: throws,
 * naming every missing, unexpected and mis-shaped key, before anything is loaded.
 * Non-strict: returns the pairs that match and reports the rest (PyTorch raises on shape
 * mismatches even then; skipping them is what partial loading needs).
 * @example const { toLoad } = planLoad(own, checkpoint, true, 'MLP');
 */
export function planLoad(
  own: ReadonlyMap<string, Tensor>,
  sd: Record<string, nd.NDArray | Tensor>,
  strict: boolean,
  moduleName: string,
): { result: LoadResult; toLoad: [Tensor, nd.NDArray][] } {
  const result: LoadResult = { missingKeys: [], unexpectedKeys: [], mismatchedKeys: [] };
  const toLoad: [Tensor, nd.NDArray][] = [];
  for (const [key, t] of own) {
    const v = sd[key];
    if (v === undefined) {
      result.missingKeys.push(key);
      continue;
    }
    const data = v instanceof nd.NDArray ? v : v.data;
    if (!nd.shapesEqual(data.shape, t.shape)) {
      result.mismatchedKeys.push({ key, expected: [...t.shape], got: [...data.shape] });
      continue;
    }
    toLoad.push([t, data]);
  }
  for (const key of Object.keys(sd)) if (!own.has(key)) result.unexpectedKeys.push(key);
  if (strict && (result.missingKeys.length || result.unexpectedKeys.length || result.mismatchedKeys.length)) {
    const parts: string[] = [];
    if (result.missingKeys.length) parts.push(`missing keys: ${result.missingKeys.join(', ')}`);
    if (result.unexpectedKeys.length) parts.push(`unexpected keys: ${result.unexpectedKeys.join(', ')}`);
    for (const m of result.mismatchedKeys) {
      parts.push(`size mismatch for ${m.key}: checkpoint has ${nd.shapeToString(m.got)}, model has ${nd.shapeToString(m.expected)}`);
    }
    throw new Error(`loadStateDict: error(s) loading into ${moduleName}, nothing was loaded; ${parts.join('; ')}`);
  }
  return { result, toLoad };
}

/** Writes each value into its tensor's storage in place (optimizers keep their references), casting dtypes. */
export function copyInPlace(toLoad: readonly [Tensor, nd.NDArray][]): void {
  const backend = nd.getBackend();
  for (const [t, data] of toLoad) {
    if (data === t.data) continue;
    const src = data.dtype === t.dtype ? data : nd.cast(data, t.dtype);
    backend.assign(t.data, src);
  }
}
