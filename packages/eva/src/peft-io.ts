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
 * names then rebuilds the same layers. For PiSSA/OLoRA, PEFT (and {@link loadAdapter})
 * recomputes the residual base weight from the original weight when it creates the layers,
 * so load the adapter onto the original (unmodified) base model.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Tensor } from '@tsgrad/autograd';
import { loadSafetensors, saveSafetensors, type AnyModule } from '@tsgrad/nn';
import * as nd from '@tsgrad/tensor';
import { applyLora, getLoraConfig, loraLayers, type ApplyLoraResult } from './apply-lora.ts';
import { fromPeftConfig, toPeftConfig, type LoraConfig, type ResolvedLoraConfig } from './config.ts';
import { assignInPlace } from './inits.ts';
import { matchesTarget } from './patterns.ts';

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

/**
 * Writes `adapter_model.safetensors` and `adapter_config.json` into `dir` (created if needed).
 * @example saveAdapter(model, 'out/adapter', { baseModelNameOrPath: 'char-gpt' });
 */
export function saveAdapter(model: AnyModule, dir: string, extra: { baseModelNameOrPath?: string; taskType?: string } = {}): void {
  const c = getLoraConfig(model);
  mkdirSync(dir, { recursive: true });
  saveSafetensors(join(dir, ADAPTER_WEIGHTS_NAME), peftStateDict(model), { format: 'pt' });
  writeFileSync(join(dir, ADAPTER_CONFIG_NAME), `${sortedJson(toPeftConfig(c, extra))}\n`);
}

/**
 * Reads a PEFT LoRA adapter config from a folder.
 * @example readAdapterConfig('out/adapter').rankPattern
 */
export function readAdapterConfig(dir: string): ResolvedLoraConfig {
  const path = join(dir, ADAPTER_CONFIG_NAME);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`loadAdapter: cannot read ${path}: ${(err as Error).message}`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new Error(`loadAdapter: ${path} is not a JSON object`);
  return fromPeftConfig(json as Record<string, unknown>);
}

/**
 * Applies the adapter stored in `dir` (PEFT layout) to a plain model: builds the LoRA
 * layers from the config (ranks from `rank_pattern`, alphas from `alpha_pattern`) and
 * loads the weights. Every key must match a layer with the same shape.
 * @example loadAdapter(new GPT(cfg), 'out/adapter');
 */
export function loadAdapter(model: AnyModule, dir: string): ApplyLoraResult {
  const c = readAdapterConfig(dir);
  const { tensors } = loadSafetensors(join(dir, ADAPTER_WEIGHTS_NAME));
  const cfg: LoraConfig = { ...c, evaConfig: c.evaConfig ?? undefined };
  const result = applyLora(model, cfg);
  const want = new Map<string, { t: Tensor }>();
  for (const [name, l] of loraLayers(model)) {
    want.set(`${PEFT_KEY_PREFIX}${name}.lora_A.weight`, { t: l.lora_A.weight });
    want.set(`${PEFT_KEY_PREFIX}${name}.lora_B.weight`, { t: l.lora_B.weight });
  }
  if (c.modulesToSave.length > 0) {
    for (const [name, m] of model.namedModules()) {
      if (name === '' || !matchesTarget(name, c.modulesToSave)) continue;
      for (const [pname, p] of m.namedParameters()) want.set(`${PEFT_KEY_PREFIX}${name}.${pname}`, { t: p });
    }
  }
  const missing = [...want.keys()].filter((k) => !(k in tensors));
  const unexpected = Object.keys(tensors).filter((k) => !want.has(k));
  const mismatched = [...want.entries()]
    .filter(([k, { t }]) => k in tensors && !nd.shapesEqual(tensors[k]!.shape, t.shape))
    .map(([k, { t }]) => `${k}: file ${nd.shapeToString(tensors[k]!.shape)}, model ${nd.shapeToString(t.shape)}`);
  if (missing.length || unexpected.length || mismatched.length) {
    const parts = [];
    if (missing.length) parts.push(`missing keys: ${missing.join(', ')}`);
    if (unexpected.length) parts.push(`unexpected keys: ${unexpected.join(', ')}`);
    if (mismatched.length) parts.push(`shape mismatches: ${mismatched.join('; ')}`);
    throw new Error(`loadAdapter: ${join(dir, ADAPTER_WEIGHTS_NAME)} does not fit the model; ${parts.join('; ')}`);
  }
  for (const [k, { t }] of want) assignInPlace(t, tensors[k]!, `loadAdapter '${k}'`);
  return result;
}
