/**
 * Which rows of a layer's input EVA's PCA sees: the batch's kept positions (padding and
 * ignored labels dropped, PEFT's `prepare_model_inputs_fn_language_modeling`) and the layer
 * input flattened to [positions, features] with only those rows kept
 * (`prepare_layer_inputs_fn_language_modeling`).
 */
import { Tensor } from '@tsgrad/autograd';
import * as nd from '@tsgrad/tensor';
import type { EvaConfig } from '../config.ts';
import type { EvaBatch, EvaOptions, PrepareLayerInputsFn } from './types.ts';

/**
 * PEFT's language-modelling row selection: attention mask AND labels != labelMaskValue.
 * @example defaultPrepareModelInputs({ input: x, attentionMask: mask }, resolveEvaConfig()) // Int32Array of kept positions
 */
export function defaultPrepareModelInputs(batch: unknown, eva: EvaConfig): Int32Array | null {
  if (batch === null || typeof batch !== 'object') return null;
  const b = batch as Partial<EvaBatch>;
  const toArr = (x: nd.NDArray | Tensor) => (x instanceof Tensor ? x.data : x);
  let keep: Uint8Array | null = null;
  if (b.attentionMask !== undefined) {
    const m = toArr(b.attentionMask).toFloat64Array();
    keep = Uint8Array.from(m, (v) => (v !== 0 ? 1 : 0));
  }
  if (eva.useLabelMask && b.labels !== undefined) {
    const l = toArr(b.labels).toFloat64Array();
    if (keep && keep.length !== l.length) {
      throw new Error(`EVA: attentionMask has ${keep.length} positions but labels have ${l.length}`);
    }
    const k: Uint8Array = keep ?? new Uint8Array(l.length).fill(1);
    for (let i = 0; i < l.length; i++) if (l[i] === eva.labelMaskValue) k[i] = 0;
    keep = k;
  }
  if (!keep) return null;
  const idx: number[] = [];
  for (let i = 0; i < keep.length; i++) if (keep[i]) idx.push(i);
  return Int32Array.from(idx);
}

/**
 * Flattens all leading axes of a layer input to rows and keeps the selected ones.
 * @example defaultPrepareLayerInputs(x, Int32Array.from([0, 2]), 'fc1') // rows 0 and 2 of x.reshape([-1, d])
 */
export function defaultPrepareLayerInputs(x: nd.NDArray, rows: Int32Array | null, layerName: string): nd.NDArray {
  const d = x.shape[x.ndim - 1]!;
  const flat = x.reshape([-1, d]);
  if (rows === null) return flat;
  const n = flat.shape[0]!;
  for (const r of rows) {
    if (r >= n) {
      throw new Error(`EVA: row index ${r} is out of range for layer '${layerName}' whose input of shape ${nd.shapeToString(x.shape)} has ${n} rows; does the mask match the layer input?`);
    }
  }
  return nd.indexSelect(flat, 0, nd.NDArray.fromTyped(rows, [rows.length]));
}

/** The layer-input preparation for one layer name (the option may be one function or a map). */
export function layerInputsFor<B>(opts: EvaOptions<B>, name: string): PrepareLayerInputsFn {
  const p = opts.prepareLayerInputs;
  if (p === undefined) return defaultPrepareLayerInputs;
  if (typeof p === 'function') return p;
  const f = p[name];
  if (!f) throw new Error(`EVA: prepareLayerInputs is a map but has no entry for target layer '${name}'`);
  return f;
}
