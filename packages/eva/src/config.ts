/**
 * LoRA and EVA configuration with PEFT's defaults, checked field by field where it enters
 * (`peft-config.ts` maps it to and from PEFT's `adapter_config.json`).
 */
import { boolean, finiteNumber, integerAtLeast, numberRecord, show, stringList } from './checks.ts';
import { loraInitNames } from './inits.ts';
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
  /** Modules trained fully and saved with the adapter (PEFT `modules_to_save`), e.g. a new head. A list: a lone string is refused. */
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
 * Why `layers_to_transform` is refused rather than implemented: PEFT finds a module's layer
 * index with the pattern `.*?\.<layers_pattern>\.(\d+)\.`, which needs a dotted prefix
 * before the layer list (`model.layers.3.self_attn`). tsgrad's models keep their layer lists
 * at the top (`blocks.3.attn`), so PEFT's rule would select nothing here, and any friendlier
 * rule would select other layers than PEFT reading the same file.
 */
export const LAYERS_TO_TRANSFORM_UNSUPPORTED =
  "is not supported (PEFT's layer-index pattern needs a dotted prefix before the layer list, which tsgrad's names such as 'blocks.3.attn' lack); " +
  "select layers with a regex targetModules instead, e.g. 'blocks\\.(0|1)\\.attn\\.q_proj'";

/**
 * Fills defaults and validates a LoRA config: `r` a positive integer, `alpha` and every
 * `alphaPattern` value finite numbers, `rankPattern` values non-negative integers, `dropout`
 * in [0, 1), `init` a registered name, `modulesToSave` a list of names.
 * @example resolveLoraConfig({ targetModules: ['q_proj'], init: 'eva' }).evaConfig!.rho // 2
 */
export function resolveLoraConfig(c: LoraConfig): ResolvedLoraConfig {
  const at = 'applyLora:';
  if (c === null || typeof c !== 'object') throw new TypeError(`${at} the config must be an object, got ${show(c)}`);
  for (const k of ['layersToTransform', 'layersPattern', 'layers_to_transform', 'layers_pattern']) {
    const v = (c as unknown as Record<string, unknown>)[k];
    if (v !== undefined && v !== null) throw new Error(`${at} ${k} ${LAYERS_TO_TRANSFORM_UNSUPPORTED}`);
  }
  const tm: unknown = c.targetModules;
  if (!(typeof tm === 'string' || (Array.isArray(tm) && tm.every((t) => typeof t === 'string')))) {
    throw new TypeError(`${at} targetModules must be a list of name suffixes or one regex string, got ${show(tm)}`);
  }
  const r = integerAtLeast(c.r ?? 8, 1, `${at} r`);
  const alpha = finiteNumber(c.alpha ?? 8, `${at} alpha`);
  const dropout = finiteNumber(c.dropout ?? 0, `${at} dropout`);
  if (!(dropout >= 0 && dropout < 1)) throw new RangeError(`${at} dropout must be in [0, 1), got ${dropout}`);
  const rankPattern = numberRecord(c.rankPattern ?? {}, `${at} rankPattern`, (x, f) => integerAtLeast(x, 0, f));
  const alphaPattern = numberRecord(c.alphaPattern ?? {}, `${at} alphaPattern`, finiteNumber);
  const init = c.init ?? 'default';
  if (typeof init !== 'string' || !loraInitNames().includes(init)) {
    throw new Error(`${at} init ${show(init)} is not a registered LoRA init (registered: ${loraInitNames().join(', ')})`);
  }
  return {
    targetModules: typeof tm === 'string' ? tm : [...(tm as string[])],
    r,
    alpha,
    dropout,
    rankPattern,
    alphaPattern,
    useRslora: boolean(c.useRslora ?? false, `${at} useRslora`),
    init,
    evaConfig: init === 'eva' ? resolveEvaConfig(c.evaConfig) : null,
    modulesToSave: stringList(c.modulesToSave ?? [], `${at} modulesToSave`),
    seed: finiteNumber(c.seed ?? 0, `${at} seed`),
  };
}

/**
 * Fills EVA defaults and validates them: rho a finite number >= 1, tau in [0, 1] (as PEFT
 * does), labelMaskValue a finite number, the flags booleans.
 * @example resolveEvaConfig({ rho: 1 }).tau // 0.99
 */
export function resolveEvaConfig(c: Partial<EvaConfig> = {}): EvaConfig {
  // An explicit `undefined` means "not given", as for the other options.
  const given = Object.fromEntries(Object.entries(c ?? {}).filter(([, v]) => v !== undefined)) as Partial<EvaConfig>;
  const out: EvaConfig = { ...EVA_DEFAULTS, ...given };
  const at = 'EvaConfig:';
  finiteNumber(out.rho, `${at} rho`);
  if (!(out.rho >= 1)) throw new RangeError(`${at} rho must be >= 1, got ${out.rho}`);
  finiteNumber(out.tau, `${at} tau`);
  if (!(out.tau >= 0 && out.tau <= 1)) throw new RangeError(`${at} tau must be in [0, 1], got ${out.tau}`);
  finiteNumber(out.labelMaskValue, `${at} labelMaskValue`);
  for (const k of ['useLabelMask', 'whiten', 'adjustScalingFactors'] as const) boolean(out[k], `${at} ${k}`);
  return out;
}
