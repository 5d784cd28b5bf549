/**
 * LoRA initialisations behind one name, as PEFT implements them (`LoraLayer` in
 * peft/tuners/lora/layer.py). Each is one function of the layer; add your own with
 * {@link registerLoraInit} (LoRA-GA would be: SVD of a stored gradient, A = V_r^T,
 * B from the next r left vectors, residual W - s B A).
 *
 * | name       | A                                  | B                   | base W           |
 * |------------|------------------------------------|---------------------|------------------|
 * | `default`  | U(-1/sqrt(in), 1/sqrt(in))         | 0                   | unchanged        |
 * | `gaussian` | N(0, (1/r)^2)                      | 0                   | unchanged        |
 * | `pissa`    | diag(sqrt(S_r / s)) V_r^T          | U_r diag(sqrt(S_r/s)) | W - s B A      |
 * | `olora`    | R[:r] of W = Q R                   | Q[:, :r]            | W - s B A        |
 * | `eva`      | placeholder (as default) until `initializeLoraEvaWeights` | 0 | unchanged |
 */
import { Tensor } from '@tsgrad/autograd';
import { kaimingUniform, normal, zeros } from '@tsgrad/nn';
import * as nd from '@tsgrad/tensor';
import type { LoraLinear } from './lora-linear.ts';

/** An initialisation: sets `lora_A`, `lora_B` (and possibly the base weight) of one layer in place. */
export type LoraInitFn = (layer: LoraLinear) => void;

const registry = new Map<string, LoraInitFn>();

/**
 * Adds (or replaces) a named initialisation, usable as `applyLora(..., { init: name })`.
 * @example registerLoraInit('zeros', (l) => { l.lora_A.weight.data.data.fill(0); });
 */
export function registerLoraInit(name: string, fn: LoraInitFn): void {
  registry.set(name, fn);
}

/** The initialisation registered under `name`; the error lists the known ones. */
export function getLoraInit(name: string): LoraInitFn {
  const fn = registry.get(name);
  if (!fn) throw new Error(`LoRA init '${name}' is unknown; registered: ${[...registry.keys()].join(', ')}`);
  return fn;
}

/** Names of every registered initialisation. */
export function loraInitNames(): string[] {
  return [...registry.keys()];
}

/**
 * Runs the named initialisation on a layer and records it as `layer.initMethod`.
 * @example initLoraLayer(layer, 'pissa')
 */
export function initLoraLayer(layer: LoraLinear, name: string): void {
  getLoraInit(name)(layer);
  layer.initMethod = name;
}

/**
 * Copies `value` into a tensor's storage in place (shapes must agree; dtype is cast),
 * so optimizers holding the tensor see the new values.
 */
export function assignInPlace(t: Tensor, value: nd.NDArray, what: string): void {
  if (!nd.shapesEqual(t.shape, value.shape)) {
    throw new Error(`${what}: cannot assign shape ${nd.shapeToString(value.shape)} to a tensor of shape ${nd.shapeToString(t.shape)}`);
  }
  nd.getBackend().assign(t.data, value.dtype === t.dtype ? value : nd.cast(value, t.dtype));
}

function checkRankFits(layer: LoraLinear, init: string): void {
  const k = Math.min(layer.inFeatures, layer.outFeatures);
  if (layer.r > k) {
    throw new Error(`${init} init: rank ${layer.r} exceeds min(out, in) = ${k} of the weight of shape [${layer.outFeatures}, ${layer.inFeatures}]`);
  }
}

/** W <- W - s B A (float64 arithmetic), so the adapted model equals the original at init. */
function subtractFromBase(layer: LoraLinear): void {
  const w = layer.base_layer.weight;
  const res = nd.sub(nd.cast(w.data, 'float64'), layer.deltaWeight());
  assignInPlace(w, res, 'residual weight');
}

registerLoraInit('default', (layer) => {
  // PEFT: kaiming_uniform_(A, a=sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)); B = 0.
  kaimingUniform(layer.lora_A.weight, { a: Math.sqrt(5), rng: layer.generator });
  zeros(layer.lora_B.weight);
});

registerLoraInit('gaussian', (layer) => {
  // PEFT: normal_(A, std = 1 / r); B = 0.
  normal(layer.lora_A.weight, 0, 1 / layer.r, { rng: layer.generator });
  zeros(layer.lora_B.weight);
});

registerLoraInit('pissa', (layer) => {
  // Meng et al. 2024 / PEFT pissa_init: W = U S V^T; with S_r' = S_r / s,
  // A = diag(sqrt(S_r')) V_r^T, B = U_r diag(sqrt(S_r')), and W_res = W - s B A.
  checkRankFits(layer, 'pissa');
  const r = layer.r;
  const { U, S, Vt } = nd.svd(layer.base_layer.weight.data);
  const out = layer.outFeatures;
  const inn = layer.inFeatures;
  const k = S.shape[0]!;
  const s = S.toFloat64Array();
  const u = U.toFloat64Array();
  const vt = Vt.toFloat64Array();
  const a = new Float64Array(r * inn);
  const b = new Float64Array(out * r);
  for (let i = 0; i < r; i++) {
    const root = Math.sqrt(s[i]! / layer.scaling);
    for (let j = 0; j < inn; j++) a[i * inn + j] = root * vt[i * inn + j]!;
    for (let o = 0; o < out; o++) b[o * r + i] = u[o * k + i]! * root;
  }
  assignInPlace(layer.lora_A.weight, nd.NDArray.fromTyped(a, [r, inn]), 'pissa init');
  assignInPlace(layer.lora_B.weight, nd.NDArray.fromTyped(b, [out, r]), 'pissa init');
  subtractFromBase(layer);
});

registerLoraInit('olora', (layer) => {
  // Büyükakyüz 2024 / PEFT olora_init: W = Q R (reduced), A = R[:r], B = Q[:, :r],
  // W_res = W - s B A (no division by s, as in PEFT).
  checkRankFits(layer, 'olora');
  const r = layer.r;
  const { Q, R } = nd.qr(layer.base_layer.weight.data);
  assignInPlace(layer.lora_A.weight, R.slice(0, 0, r).contiguous(), 'olora init');
  assignInPlace(layer.lora_B.weight, Q.slice(1, 0, r).contiguous(), 'olora init');
  subtractFromBase(layer);
});

registerLoraInit('eva', (layer) => {
  // PEFT: B = 0 and A keeps its placeholder until initializeLoraEvaWeights copies the
  // principal components in; the base weight is never changed.
  kaimingUniform(layer.lora_A.weight, { a: Math.sqrt(5), rng: layer.generator });
  zeros(layer.lora_B.weight);
});
