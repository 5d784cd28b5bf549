/**
 * The mapping between a LoRA config and PEFT's `adapter_config.json` (snake_case keys,
 * `peft_type: "LORA"`). Reading checks every field's type and names the field it rejects.
 */
import { boolean, finiteNumber, integerAtLeast, numberRecord, show, stringList } from './checks.ts';
import { EVA_DEFAULTS, LAYERS_TO_TRANSFORM_UNSUPPORTED, resolveLoraConfig, type EvaConfig, type LoraInitName, type ResolvedLoraConfig } from './config.ts';
import { loraInitNames } from './inits.ts';
import type { TargetModules } from './patterns.ts';

/** PEFT's JSON value of `init_lora_weights` for each of our init names. */
export function peftInitValue(init: LoraInitName): boolean | string {
  return init === 'default' ? true : init;
}

/** Our init name for PEFT's `init_lora_weights` value; names no init is registered for (e.g. "loftq") are refused. */
export function initFromPeft(v: unknown): LoraInitName {
  if (v === true || v === undefined || v === null) return 'default';
  if (v === false) throw new Error('adapter_config.json: init_lora_weights=false (random B) is not supported');
  if (typeof v === 'string' && v !== 'default' && loraInitNames().includes(v)) return v;
  const known = loraInitNames().filter((n) => n !== 'default').map((n) => JSON.stringify(n));
  throw new Error(`adapter_config.json: init_lora_weights ${show(v)} is not supported (supported: true, ${known.join(', ')})`);
}

/** The JSON object PEFT writes as `adapter_config.json` for a LoRA adapter. */
export type PeftAdapterConfig = Record<string, unknown>;

/**
 * Builds PEFT's `adapter_config.json` content.
 * @example toPeftConfig(resolveLoraConfig({ targetModules: ['q_proj'] })).peft_type // 'LORA'
 */
export function toPeftConfig(c: ResolvedLoraConfig, extra: { baseModelNameOrPath?: string | null; taskType?: string | null } = {}): PeftAdapterConfig {
  return {
    peft_type: 'LORA',
    task_type: extra.taskType ?? null,
    base_model_name_or_path: extra.baseModelNameOrPath ?? null,
    inference_mode: true,
    r: c.r,
    lora_alpha: c.alpha,
    lora_dropout: c.dropout,
    target_modules: typeof c.targetModules === 'string' ? c.targetModules : [...c.targetModules],
    rank_pattern: { ...c.rankPattern },
    alpha_pattern: { ...c.alphaPattern },
    use_rslora: c.useRslora,
    init_lora_weights: peftInitValue(c.init),
    eva_config: c.evaConfig
      ? {
          rho: c.evaConfig.rho,
          tau: c.evaConfig.tau,
          use_label_mask: c.evaConfig.useLabelMask,
          label_mask_value: c.evaConfig.labelMaskValue,
          whiten: c.evaConfig.whiten,
          adjust_scaling_factors: c.evaConfig.adjustScalingFactors,
        }
      : null,
    modules_to_save: c.modulesToSave.length ? [...c.modulesToSave] : null,
    bias: 'none',
    fan_in_fan_out: false,
    use_dora: false,
    lora_bias: false,
    layers_to_transform: null,
    layers_pattern: null,
  };
}

/** An `eva_config` object read field by field (missing fields take PEFT's defaults). */
function evaFromPeft(v: unknown): Partial<EvaConfig> | undefined {
  if (v === null || v === undefined) return undefined;
  const at = 'adapter_config.json: eva_config';
  if (typeof v !== 'object' || Array.isArray(v)) throw new TypeError(`${at} must be an object or null, got ${show(v)}`);
  const e = v as Record<string, unknown>;
  return {
    rho: finiteNumber(e['rho'] ?? EVA_DEFAULTS.rho, `${at}.rho`),
    tau: finiteNumber(e['tau'] ?? EVA_DEFAULTS.tau, `${at}.tau`),
    useLabelMask: boolean(e['use_label_mask'] ?? EVA_DEFAULTS.useLabelMask, `${at}.use_label_mask`),
    labelMaskValue: finiteNumber(e['label_mask_value'] ?? EVA_DEFAULTS.labelMaskValue, `${at}.label_mask_value`),
    whiten: boolean(e['whiten'] ?? EVA_DEFAULTS.whiten, `${at}.whiten`),
    adjustScalingFactors: boolean(e['adjust_scaling_factors'] ?? EVA_DEFAULTS.adjustScalingFactors, `${at}.adjust_scaling_factors`),
  };
}

/** PEFT treats null, [] and "" as "not used" for these two fields. */
function unused(v: unknown): boolean {
  return v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0);
}

/**
 * Reads PEFT's `adapter_config.json` content back into a LoRA config. Refuses, naming the
 * field: a non-LORA `peft_type`, DoRA / `fan_in_fan_out` / `lora_bias` / `bias`, a
 * non-numeric `r` / `lora_alpha` / `lora_dropout` / pattern value, an unknown
 * `init_lora_weights`, `modules_to_save` that is not a list, and `layers_to_transform`.
 * @example fromPeftConfig(JSON.parse(text)).r
 */
export function fromPeftConfig(j: PeftAdapterConfig): ResolvedLoraConfig {
  const at = 'adapter_config.json:';
  if (j['peft_type'] !== 'LORA') throw new Error(`${at} peft_type must be "LORA", got ${JSON.stringify(j['peft_type'])}`);
  for (const flag of ['use_dora', 'fan_in_fan_out', 'lora_bias'] as const) {
    if (j[flag]) throw new Error(`${at} ${flag}=true is not supported`);
  }
  if (j['bias'] !== undefined && j['bias'] !== 'none') throw new Error(`${at} bias=${JSON.stringify(j['bias'])} is not supported (only "none")`);
  const tm = j['target_modules'];
  if (!(typeof tm === 'string' || (Array.isArray(tm) && tm.every((t) => typeof t === 'string')))) {
    throw new Error(`${at} target_modules must be a string or a list of strings, got ${JSON.stringify(tm)}`);
  }
  for (const k of ['layers_to_transform', 'layers_pattern'] as const) {
    if (!unused(j[k])) throw new Error(`${at} ${k}=${show(j[k])} ${LAYERS_TO_TRANSFORM_UNSUPPORTED}`);
  }
  const pattern = (k: string, check: (x: unknown, f: string) => number) => (j[k] === null || j[k] === undefined ? {} : numberRecord(j[k], `${at} ${k}`, check));
  const init = initFromPeft(j['init_lora_weights']);
  const mts = j['modules_to_save'];
  return resolveLoraConfig({
    targetModules: tm as TargetModules,
    r: integerAtLeast(j['r'] ?? 8, 1, `${at} r`),
    alpha: finiteNumber(j['lora_alpha'] ?? 8, `${at} lora_alpha`),
    dropout: finiteNumber(j['lora_dropout'] ?? 0, `${at} lora_dropout`),
    rankPattern: pattern('rank_pattern', (x, f) => integerAtLeast(x, 0, f)),
    alphaPattern: pattern('alpha_pattern', finiteNumber),
    useRslora: boolean(j['use_rslora'] ?? false, `${at} use_rslora`),
    init,
    evaConfig: init === 'eva' ? evaFromPeft(j['eva_config']) : undefined,
    modulesToSave: mts === null || mts === undefined ? [] : stringList(mts, `${at} modules_to_save`),
  });
}
