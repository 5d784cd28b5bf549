/**
 * Saving and loading adapters in PEFT's layout, so a run can continue in PyTorch:
 *
 *   <dir>/adapter_model.safetensors   keys `base_model.model.<module>.lora_A.weight` (r x in)
 *                                     and `base_model.model.<module>.lora_B.weight` (out x r),
 *                                     plus `base_model.model.<module>.<param>` for modules_to_save;
 *                                     metadata {"format": "pt"}, as PEFT writes it
 *   <dir>/adapter_config.json         `peft_type: "LORA"`, `r`, `lora_alpha`, `target_modules`,
 *                                     `rank_pattern`, `alpha_pattern`, `init_lora_weights`,
 *                                     `eva_config`, ... (sorted keys, 2-space indent)
 *
 * PEFT's `PeftModel.from_pretrained(model, dir)` on a PyTorch model with the same module
 * names then rebuilds the same layers. For PiSSA/OLoRA, PEFT (and {@link applyAdapterFiles})
 * recomputes the residual base weight from the original weight when it creates the layers,
 * so load the adapter onto the original (unmodified) base model.
 *
 * This file works on the two files' contents (`adapterFiles`, `applyAdapterFiles`), so it runs
 * in a browser too; folders on disk are Node's part: `saveAdapter`, `loadAdapter` and
 * `readAdapterConfig` in node/peft-files.ts.
 */
import type { Tensor } from '@tsgrad/autograd';
import { Linear, parseSafetensors, serializeSafetensors, type AnyModule } from '@tsgrad/nn';
import * as nd from '@tsgrad/tensor';
import { applyLora, getLoraConfig, loraLayers, peekLoraConfig, setLoraConfig, type ApplyLoraResult } from './apply-lora.ts';
import type { LoraConfig, ResolvedLoraConfig } from './config.ts';
import { fromPeftConfig, toPeftConfig } from './peft-config.ts';
import { assignInPlace } from './inits.ts';
import { matchesTarget, patternValue } from './patterns.ts';
import { atomically } from './rollback.ts';

/** PEFT's prefix of every saved key (`PeftModel.base_model` is a `LoraModel` whose `.model` is yours). */
export const PEFT_KEY_PREFIX = 'base_model.model.';
/** File names PEFT uses. */
export const ADAPTER_WEIGHTS_NAME = 'adapter_model.safetensors';
export const ADAPTER_CONFIG_NAME = 'adapter_config.json';

/**
 * The adapter's tensors under PEFT's saved key names.
 * @example Object.keys(peftStateDict(model)) // ['base_model.model.lm_head.lora_A.weight', ...]
 */
export function peftStateDict(model: AnyModule): Record<string, nd.NDArray> {
  const c = getLoraConfig(model);
  const out: Record<string, nd.NDArray> = {};
  for (const [name, l] of loraLayers(model)) {
    out[`${PEFT_KEY_PREFIX}${name}.lora_A.weight`] = l.lora_A.weight.data;
    out[`${PEFT_KEY_PREFIX}${name}.lora_B.weight`] = l.lora_B.weight.data;
  }
  if (c.modulesToSave.length > 0) {
    for (const [name, m] of model.namedModules()) {
      if (name === '' || !matchesTarget(name, c.modulesToSave)) continue;
      for (const [pname, p] of m.namedParameters()) out[`${PEFT_KEY_PREFIX}${name}.${pname}`] = p.data;
    }
  }
  return out;
}

/** Python's json.dumps(obj, indent=2, sort_keys=True) layout, which PEFT uses for the config. */
function sortedJson(v: unknown): string {
  const sort = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(sort);
    if (x && typeof x === 'object') {
      return Object.fromEntries(Object.keys(x as object).sort().map((k) => [k, sort((x as Record<string, unknown>)[k])]));
    }
    return x;
  };
  return JSON.stringify(sort(v), null, 2);
}

/** The contents of an adapter's two files in PEFT's layout. */
export interface AdapterFiles {
  /** `adapter_model.safetensors`. */
  weights: Uint8Array;
  /** `adapter_config.json` (text). */
  config: string;
}

/**
 * The two files of the model's adapter in PEFT's layout, as bytes and text (save them under
 * `ADAPTER_WEIGHTS_NAME` and `ADAPTER_CONFIG_NAME`; in Node, `saveAdapter` does).
 * @example const { weights, config } = adapterFiles(model, { baseModelNameOrPath: 'char-gpt' });
 */
export function adapterFiles(model: AnyModule, extra: { baseModelNameOrPath?: string; taskType?: string } = {}): AdapterFiles {
  const config = adapterConfigText(model, extra);
  return { weights: serializeSafetensors(peftStateDict(model), { format: 'pt' }), config };
}

/**
 * The text of the model's `adapter_config.json` (PEFT's keys, sorted, 2-space indent).
 * @example JSON.parse(adapterConfigText(model)).r
 */
export function adapterConfigText(model: AnyModule, extra: { baseModelNameOrPath?: string; taskType?: string } = {}): string {
  return `${sortedJson(toPeftConfig(getLoraConfig(model), extra))}\n`;
}

/**
 * Parses a PEFT LoRA adapter config (the text of `adapter_config.json`); `source` names it in errors.
 * @example parseAdapterConfig(text).rankPattern
 */
export function parseAdapterConfig(text: string, source = ADAPTER_CONFIG_NAME): ResolvedLoraConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`loadAdapter: cannot read ${source}: ${(err as Error).message}`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new Error(`loadAdapter: ${source} is not a JSON object`);
  return fromPeftConfig(json as Record<string, unknown>);
}

/** Key → expected shape of every tensor the adapter file must hold, for `model` once `c` is applied. */
function expectedAdapterShapes(model: AnyModule, c: ResolvedLoraConfig): Map<string, readonly number[]> {
  const want = new Map<string, readonly number[]>();
  for (const [name, m] of model.namedModules()) {
    if (name === '' || !(m instanceof Linear) || !matchesTarget(name, c.targetModules)) continue;
    const r = patternValue(c.rankPattern, name, c.r);
    if (r === 0) continue;
    want.set(`${PEFT_KEY_PREFIX}${name}.lora_A.weight`, [r, m.inFeatures]);
    want.set(`${PEFT_KEY_PREFIX}${name}.lora_B.weight`, [m.outFeatures, r]);
  }
  if (c.modulesToSave.length > 0) {
    for (const [name, m] of model.namedModules()) {
      if (name === '' || !matchesTarget(name, c.modulesToSave)) continue;
      for (const [pname, p] of m.namedParameters()) want.set(`${PEFT_KEY_PREFIX}${name}.${pname}`, p.shape);
    }
  }
  return want;
}

/** Throws, listing missing, unexpected and mis-shaped keys, unless the file's tensors are exactly `want`. */
function checkAdapterTensors(file: string, tensors: Record<string, nd.NDArray>, want: ReadonlyMap<string, readonly number[]>): void {
  const missing = [...want.keys()].filter((k) => !(k in tensors));
  const unexpected = Object.keys(tensors).filter((k) => !want.has(k));
  const mismatched = [...want.entries()]
    .filter(([k, shape]) => k in tensors && !nd.shapesEqual(tensors[k]!.shape, shape))
    .map(([k, shape]) => `${k}: file ${nd.shapeToString(tensors[k]!.shape)}, model ${nd.shapeToString(shape)}`);
  if (missing.length || unexpected.length || mismatched.length) {
    const parts = [];
    if (missing.length) parts.push(`missing keys: ${missing.join(', ')}`);
    if (unexpected.length) {
      const hint = unexpected.every((k) => !k.startsWith(PEFT_KEY_PREFIX)) ? ` (they lack PEFT's '${PEFT_KEY_PREFIX}' prefix)` : '';
      parts.push(`unexpected keys${hint}: ${unexpected.join(', ')}`);
    }
    if (mismatched.length) parts.push(`shape mismatches: ${mismatched.join('; ')}`);
    throw new Error(`loadAdapter: ${file} does not fit the model; ${parts.join('; ')}`);
  }
}

/**
 * Applies an adapter in PEFT's layout, given its parsed config and its weights file (bytes or tensors),
 * to a plain model: builds the LoRA layers from the config (ranks from `rank_pattern`, alphas
 * from `alpha_pattern`) and loads the weights. Every key must match a layer with the same
 * shape: a missing, extra or mis-shaped key (or one without the `base_model.model.` prefix)
 * is reported before the model is touched, and the model is left exactly as it was.
 * `where` names the adapter (its folder) in errors. In Node, `loadAdapter(model, dir)` reads
 * the files and calls this.
 * @example applyAdapterFiles(new GPT(cfg), { config: parseAdapterConfig(text), weights: bytes });
 */
export function applyAdapterFiles(
  model: AnyModule,
  files: { config: ResolvedLoraConfig; weights: Uint8Array | ArrayBuffer | Record<string, nd.NDArray> },
  where?: string,
): ApplyLoraResult {
  const c = files.config;
  const file = where === undefined ? ADAPTER_WEIGHTS_NAME : `${where}/${ADAPTER_WEIGHTS_NAME}`;
  const w = files.weights;
  // the weights file's bytes, or its tensors already decoded (loadSafetensors in Node)
  const tensors = w instanceof Uint8Array || w instanceof ArrayBuffer ? parseSafetensors(w).tensors : w;
  const existing = loraLayers(model);
  if (existing.size > 0) throw new Error(`loadAdapter: the model already has LoRA layers (${[...existing.keys()].join(', ')})`);
  const want = expectedAdapterShapes(model, c);
  const linears = [...model.namedModules()].filter(([n, m]) => n !== '' && m instanceof Linear).map(([n]) => n);
  if (!linears.some((n) => matchesTarget(n, c.targetModules))) {
    throw new Error(`loadAdapter: target_modules ${JSON.stringify(c.targetModules)} of ${where ?? 'the adapter'} match no Linear; the model's Linears are: ${linears.join(', ')}`);
  }
  checkAdapterTensors(file, tensors, want);
  const cfg: LoraConfig = { ...c, evaConfig: c.evaConfig ?? undefined };
  // Everything was checked against the plain model; should the adapted model still disagree
  // (a modulesToSave module that contains a target), the snapshot puts the model back.
  const touched = [...model.namedModules()].filter(([n, m]) => n !== '' && (matchesTarget(n, c.targetModules) || matchesTarget(n, c.modulesToSave)) && m !== model);
  const weights = [...new Set(touched.flatMap(([, m]) => m.parameters()))];
  const previousConfig = peekLoraConfig(model);
  try {
    return atomically(model, weights, () => {
      const result = applyLora(model, cfg);
      const params = adapterTensors(model, c);
      checkAdapterTensors(file, tensors, new Map([...params].map(([k, t]) => [k, t.shape])));
      for (const [k, t] of params) assignInPlace(t, tensors[k]!, `loadAdapter '${k}'`);
      return result;
    });
  } catch (err) {
    setLoraConfig(model, previousConfig);
    throw err;
  }
}

/** The model's tensors under their PEFT keys, once the adapter is applied. */
function adapterTensors(model: AnyModule, c: ResolvedLoraConfig): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, l] of loraLayers(model)) {
    out.set(`${PEFT_KEY_PREFIX}${name}.lora_A.weight`, l.lora_A.weight);
    out.set(`${PEFT_KEY_PREFIX}${name}.lora_B.weight`, l.lora_B.weight);
  }
  if (c.modulesToSave.length > 0) {
    for (const [name, m] of model.namedModules()) {
      if (name === '' || !matchesTarget(name, c.modulesToSave)) continue;
      for (const [pname, p] of m.namedParameters()) out.set(`${PEFT_KEY_PREFIX}${name}.${pname}`, p);
    }
  }
  return out;
}
