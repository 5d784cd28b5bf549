/**
 * Adapters as folders on disk in PEFT's layout (Node only): `adapter_model.safetensors` and
 * `adapter_config.json`, whose contents ../peft-io.ts makes and reads (in a browser too).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AnyModule } from '@tsgrad/nn';
import { loadSafetensors, saveSafetensors } from '@tsgrad/nn/node';
import type { ApplyLoraResult } from '../apply-lora.ts';
import type { ResolvedLoraConfig } from '../config.ts';
import { ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME, adapterConfigText, applyAdapterFiles, parseAdapterConfig, peftStateDict } from '../peft-io.ts';

/**
 * Writes `adapter_model.safetensors` and `adapter_config.json` into `dir` (created if needed).
 * @example saveAdapter(model, 'out/adapter', { baseModelNameOrPath: 'char-gpt' });
 */
export function saveAdapter(model: AnyModule, dir: string, extra: { baseModelNameOrPath?: string; taskType?: string } = {}): void {
  const config = adapterConfigText(model, extra); // throws before anything is written when the model has no LoRA
  mkdirSync(dir, { recursive: true });
  saveSafetensors(join(dir, ADAPTER_WEIGHTS_NAME), peftStateDict(model), { format: 'pt' });
  writeFileSync(join(dir, ADAPTER_CONFIG_NAME), config);
}

/**
 * Reads a PEFT LoRA adapter config from a folder.
 * @example readAdapterConfig('out/adapter').rankPattern
 */
export function readAdapterConfig(dir: string): ResolvedLoraConfig {
  const path = join(dir, ADAPTER_CONFIG_NAME);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`loadAdapter: cannot read ${path}: ${(err as Error).message}`);
  }
  return parseAdapterConfig(text, path);
}

/**
 * Applies the adapter stored in `dir` (PEFT layout) to a plain model (see
 * `applyAdapterFiles`: everything is checked before the model is touched, and a refused
 * adapter leaves the model exactly as it was).
 * @example loadAdapter(new GPT(cfg), 'out/adapter');
 */
export function loadAdapter(model: AnyModule, dir: string): ApplyLoraResult {
  const config = readAdapterConfig(dir);
  const { tensors } = loadSafetensors(join(dir, ADAPTER_WEIGHTS_NAME));
  return applyAdapterFiles(model, { config, weights: tensors }, dir);
}
