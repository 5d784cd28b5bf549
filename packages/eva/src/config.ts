/**
 * LoRA and EVA configuration, with PEFT's defaults, and the mapping to and from
 * PEFT's `adapter_config.json` (snake_case keys, `peft_type: "LORA"`).
 */
import type { TargetModules } from './patterns.ts';

/** EVA settings (PEFT `EvaConfig`; defaults rho 2, tau 0.99, whiten false, adjustScalingFactors true). */
export interface EvaConfig {
  /** Largest rank a layer can get is round(rho * r); rho = 1 keeps ranks uniform. Must be >= 1. */
  rho: number;
  /** Cosine threshold for a component to count as converged, in [0, 1]. */
  tau: number;
  /** Drop positions whose label equals `labelMaskValue` from the SVD rows. */
  useLabelMask: boolean;
  /** Label of ignored positions (-100, PyTorch's ignore_index). */
  labelMaskValue: number;
  /** Divide each A row by sqrt of its singular value (PEFT's definition of whitening). */
  whiten: boolean;
  /** Set alpha_l = alpha * r_l / r so the scaling stays alpha / r whatever the new rank. */
  adjustScalingFactors: boolean;
}

/** PEFT's EvaConfig defaults. */
export const EVA_DEFAULTS: Readonly<EvaConfig> = Object.freeze({
  rho: 2,
  tau: 0.99,
  useLabelMask: true,
  labelMaskValue: -100,
  whiten: false,
  adjustScalingFactors: true,
});

/** Name of a registered LoRA initialisation (`default`, `gaussian`, `pissa`, `olora`, `eva`, or one you add). */
export type LoraInitName = 'default' | 'gaussian' | 'pissa' | 'olora' | 'eva' | (string & {});

/** Options of `applyLora` (PEFT `LoraConfig` subset; defaults r 8, alpha 8, dropout 0). */
export interface LoraConfig {
  /** Which `Linear`s to wrap: name suffixes, or one full-match regex (PEFT semantics). */
  targetModules: TargetModules;
  /** Rank (default 8). */
  r?: number;
  /** LoRA alpha (default 8); scaling = alpha / r, or alpha / sqrt(r) with rsLoRA. */
  alpha?: number;
  /** Dropout on the adapter path's input (default 0). */
  dropout?: number;
  /** Per-layer ranks: key regex `(.*\.)?(key)$` over the module name -> rank. */
  rankPattern?: Record<string, number>;
  /** Per-layer alphas, same key rule. */
  alphaPattern?: Record<string, number>;
  /** Rank-stabilised scaling alpha / sqrt(r) (Kalajdzievski 2023). */
  useRslora?: boolean;
  /** Initialisation (default `'default'`: A Kaiming-uniform, B = 0). */
  init?: LoraInitName;
  /** EVA settings, used when `init` is `'eva'`. */
  evaConfig?: Partial<EvaConfig>;
  /** Modules trained fully and saved with the adapter (PEFT `modules_to_save`), e.g. a new head. */
  modulesToSave?: string[];
  /** Seed for the random inits (A of default/gaussian, dropout masks). */
  seed?: number;
}

/** A LoraConfig with every default filled in. */
export interface ResolvedLoraConfig {
  targetModules: TargetModules;
  r: number;
  alpha: number;
  dropout: number;
  rankPattern: Record<string, number>;
  alphaPattern: Record<string, number>;
  useRslora: boolean;
  init: LoraInitName;
  evaConfig: EvaConfig | null;
  modulesToSave: string[];
  seed: number;
}

/**
 * Fills defaults and validates a LoRA config.
 * @example resolveLoraConfig({ targetModules: ['q_proj'], init: 'eva' }).evaConfig!.rho // 2
 */
export function resolveLoraConfig(c: LoraConfig): ResolvedLoraConfig {
  const r = c.r ?? 8;
  if (!Number.isInteger(r) || r < 1) throw new RangeError(`applyLora: r must be a positive integer, got ${r}`);
  const dropout = c.dropout ?? 0;
  if (!(dropout >= 0 && dropout < 1)) throw new RangeError(`applyLora: dropout must be in [0, 1), got ${dropout}`);
  for (const [k, v] of Object.entries(c.rankPattern ?? {})) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`applyLora: rankPattern['${k}'] must be a non-negative integer, got ${v}`);
  }
  const init = c.init ?? 'default';
  return {
    targetModules: typeof c.targetModules === 'string' ? c.targetModules : [...c.targetModules],
    r,
    alpha: c.alpha ?? 8,
    dropout,
    rankPattern: { ...(c.rankPattern ?? {}) },
    alphaPattern: { ...(c.alphaPattern ?? {}) },
    useRslora: c.useRslora ?? false,
    init,
    evaConfig: init === 'eva' ? resolveEvaConfig(c.evaConfig) : null,
    modulesToSave: [...(c.modulesToSave ?? [])],
    seed: c.seed ?? 0,
  };
}

/**
 * Fills EVA defaults and validates rho >= 1 and tau in [0, 1] (as PEFT does).
 * @example resolveEvaConfig({ rho: 1 }).tau // 0.99
 */
export function resolveEvaConfig(c: Partial<EvaConfig> = {}): EvaConfig {
  const out = { ...EVA_DEFAULTS, ...c };
  if (!(out.rho >= 1)) throw new RangeError(`EvaConfig: rho must be >= 1, got ${out.rho}`);
  if (!(out.tau >= 0 && out.tau <= 1)) throw new RangeError(`EvaConfig: tau must be in [0, 1], got ${out.tau}`);
  return out;
}

/** PEFT's JSON value of `init_lora_weights` for each of our init names. */
export function peftInitValue(init: LoraInitName): boolean | string {
  return init === 'default' ? true : init;
}

/** Our init name for PEFT's `init_lora_weights` value. */
export function initFromPeft(v: unknown): LoraInitName {
  if (v === true || v === undefined || v === null) return 'default';
  if (v === false) throw new Error("adapter_config.json: init_lora_weights=false (random B) is not supported");
  if (typeof v === 'string') return v;
  throw new Error(`adapter_config.json: unsupported init_lora_weights ${JSON.stringify(v)}`);
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

/**
 * Reads PEFT's `adapter_config.json` content back into a LoRA config.
 * @example fromPeftConfig(JSON.parse(text)).r
 */
export function fromPeftConfig(j: PeftAdapterConfig): ResolvedLoraConfig {
  if (j['peft_type'] !== 'LORA') throw new Error(`adapter_config.json: peft_type must be "LORA", got ${JSON.stringify(j['peft_type'])}`);
  for (const flag of ['use_dora', 'fan_in_fan_out', 'lora_bias'] as const) {
    if (j[flag]) throw new Error(`adapter_config.json: ${flag}=true is not supported`);
  }
  if (j['bias'] !== undefined && j['bias'] !== 'none') throw new Error(`adapter_config.json: bias=${JSON.stringify(j['bias'])} is not supported (only "none")`);
  const tm = j['target_modules'];
  if (!(typeof tm === 'string' || (Array.isArray(tm) && tm.every((t) => typeof t === 'string')))) {
    throw new Error(`adapter_config.json: target_modules must be a string or a list of strings, got ${JSON.stringify(tm)}`);
  }
  const eva = j['eva_config'] as Record<string, unknown> | null | undefined;
  const init = initFromPeft(j['init_lora_weights']);
  return resolveLoraConfig({
    targetModules: tm as TargetModules,
    r: Number(j['r'] ?? 8),
    alpha: Number(j['lora_alpha'] ?? 8),
    dropout: Number(j['lora_dropout'] ?? 0),
    rankPattern: (j['rank_pattern'] as Record<string, number>) ?? {},
    alphaPattern: (j['alpha_pattern'] as Record<string, number>) ?? {},
    useRslora: Boolean(j['use_rslora'] ?? false),
    init,
    evaConfig:
      init === 'eva' && eva
        ? {
            rho: Number(eva['rho'] ?? EVA_DEFAULTS.rho),
            tau: Number(eva['tau'] ?? EVA_DEFAULTS.tau),
            useLabelMask: Boolean(eva['use_label_mask'] ?? EVA_DEFAULTS.useLabelMask),
            labelMaskValue: Number(eva['label_mask_value'] ?? EVA_DEFAULTS.labelMaskValue),
            whiten: Boolean(eva['whiten'] ?? EVA_DEFAULTS.whiten),
            adjustScalingFactors: Boolean(eva['adjust_scaling_factors'] ?? EVA_DEFAULTS.adjustScalingFactors),
          }
        : undefined,
    modulesToSave: (j['modules_to_save'] as string[] | null) ?? [],
  });
}
