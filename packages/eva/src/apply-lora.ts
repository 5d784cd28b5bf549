/**
 * Injecting LoRA into a model by module-name patterns (PEFT's `get_peft_model` for
 * LoRA): every matching `Linear` is replaced in place by a `LoraLinear`, all other
 * parameters are frozen, and the resolved config is remembered for export and EVA.
 */
import type { Tensor } from '@tsgrad/autograd';
import { Linear, type AnyModule } from '@tsgrad/nn';
import * as nd from '@tsgrad/tensor';
import { resolveLoraConfig, type LoraConfig, type ResolvedLoraConfig } from './config.ts';
import { initLoraLayer } from './inits.ts';
import { LoraLinear } from './lora-linear.ts';
import { matchesTarget, patternValue } from './patterns.ts';
import { atomically } from './rollback.ts';

const configs = new WeakMap<AnyModule, ResolvedLoraConfig>();

/** What {@link applyLora} did. */
export interface ApplyLoraResult {
  /** Dotted names of the wrapped layers, in model order. */
  layers: string[];
  /** The config with defaults filled in (also available later via {@link getLoraConfig}). */
  config: ResolvedLoraConfig;
}

/**
 * Replaces every `Linear` whose name matches `targetModules` by a `LoraLinear` with its
 * rank and alpha (from `rankPattern` / `alphaPattern`, else `r` / `alpha`) and runs the
 * chosen init. Afterwards only LoRA A/B (and `modulesToSave`) train. A layer whose
 * pattern rank is 0 is left alone.
 *
 * Refuses a model that already has LoRA layers, a config that fails `resolveLoraConfig`,
 * `targetModules` or `modulesToSave` that match nothing, and an init that throws (PiSSA or
 * OLoRA with r > min(out, in)); whatever it refuses, the model is left exactly as it was.
 * @example
 * const { layers } = applyLora(gpt, { targetModules: ['q_proj', 'k_proj', 'v_proj', 'out_proj', 'fc1', 'fc2', 'lm_head'], r: 8, alpha: 8 });
 */
export function applyLora(model: AnyModule, config: LoraConfig): ApplyLoraResult {
  const c = resolveLoraConfig(config);
  const existing = loraLayers(model);
  if (existing.size > 0) throw new Error(`applyLora: the model already has LoRA layers (${[...existing.keys()].join(', ')})`);
  const modules = [...model.namedModules()].filter(([name]) => name !== '');
  const linears = modules.filter(([, m]) => m instanceof Linear) as [string, Linear][];
  const targets = linears.filter(([name]) => matchesTarget(name, c.targetModules));
  if (targets.length === 0) {
    throw new Error(`applyLora: targetModules ${JSON.stringify(c.targetModules)} match no Linear; the model's Linears are: ${linears.map(([n]) => n).join(', ')}`);
  }
  const saved = c.modulesToSave.length > 0 ? modules.filter(([name]) => matchesTarget(name, c.modulesToSave)) : [];
  if (c.modulesToSave.length > 0 && saved.length === 0) {
    throw new Error(`applyLora: modulesToSave ${JSON.stringify(c.modulesToSave)} match no module; the model's modules are: ${modules.map(([n]) => n).join(', ')}`);
  }
  const plan = targets
    .map(([name, lin]) => ({ name, lin, r: patternValue(c.rankPattern, name, c.r), alpha: patternValue(c.alphaPattern, name, c.alpha) }))
    .filter((p) => p.r > 0);
  // Only an init can still fail (PiSSA/OLoRA rank checks, a user's init); then put everything back.
  const baseWeights = plan.flatMap((p) => p.lin.parameters());
  const layers = atomically(model, baseWeights, () => {
    model.requiresGrad_(false);
    const rng = new nd.Rng(c.seed);
    for (const { name, lin, r, alpha } of plan) {
      const layer = new LoraLinear(lin, { r, alpha, dropout: c.dropout, useRslora: c.useRslora, rng: rng.fork() });
      initLoraLayer(layer, c.init);
      model.setSubmodule(name, layer);
    }
    for (const [, m] of saved) m.requiresGrad_(true);
    return plan.map((p) => p.name);
  });
  configs.set(model, c);
  return { layers, config: c };
}

/**
 * The resolved LoRA config of a model adapted by {@link applyLora} (or loaded from PEFT files).
 * @example getLoraConfig(model).rankPattern
 */
export function getLoraConfig(model: AnyModule): ResolvedLoraConfig {
  const c = configs.get(model);
  if (!c) throw new Error(`getLoraConfig: ${model.constructor.name} has no LoRA config; call applyLora first`);
  return c;
}

/** @internal Replaces the stored config (EVA rewrites ranks, alphas and targets); undefined forgets it. */
export function setLoraConfig(model: AnyModule, c: ResolvedLoraConfig | undefined): void {
  if (c === undefined) configs.delete(model);
  else configs.set(model, c);
}

/** @internal The stored config, or undefined (for putting it back after a failure). */
export function peekLoraConfig(model: AnyModule): ResolvedLoraConfig | undefined {
  return configs.get(model);
}

/**
 * Every `LoraLinear` in the model by dotted name, in model order.
 * @example for (const [name, l] of loraLayers(model)) console.log(name, l.r);
 */
export function loraLayers(model: AnyModule): Map<string, LoraLinear> {
  const out = new Map<string, LoraLinear>();
  for (const [name, m] of model.namedModules()) if (m instanceof LoraLinear) out.set(name, m);
  return out;
}

/**
 * The trainable LoRA parameters (every layer's A then B), for the optimizer.
 * @example const opt = new AdamW(loraParameters(model), { lr: 1e-3 });
 */
export function loraParameters(model: AnyModule): Tensor[] {
  const out: Tensor[] = [];
  for (const l of loraLayers(model).values()) out.push(l.lora_A.weight, l.lora_B.weight);
  return out;
}

/**
 * Named LoRA parameters (`<layer>.lora_A.weight`, `<layer>.lora_B.weight`).
 * @example Object.keys(namedLoraParameters(model))
 */
export function namedLoraParameters(model: AnyModule): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, l] of loraLayers(model)) {
    out.set(`${name}.lora_A.weight`, l.lora_A.weight);
    out.set(`${name}.lora_B.weight`, l.lora_B.weight);
  }
  return out;
}

/** Every parameter that requires a gradient (LoRA A/B plus `modulesToSave`). */
export function trainableParameters(model: AnyModule): Tensor[] {
  return model.parameters().filter((p) => p.requiresGrad);
}

/** Merges every adapter into its base weight. */
export function mergeAdapters(model: AnyModule): void {
  for (const l of loraLayers(model).values()) l.merge();
}

/** Undoes {@link mergeAdapters}. */
export function unmergeAdapters(model: AnyModule): void {
  for (const l of loraLayers(model).values()) l.unmerge();
}

/**
 * Runs `fn` with every adapter disabled (the base model), restoring the flags after.
 * @example const baseLogits = withAdaptersDisabled(model, () => model.call(x));
 */
export function withAdaptersDisabled<T>(model: AnyModule, fn: () => T): T {
  const layers = [...loraLayers(model).values()];
  const saved = layers.map((l) => l.disabled);
  for (const l of layers) l.disabled = true;
  try {
    return fn();
  } finally {
    layers.forEach((l, i) => (l.disabled = saved[i]!));
  }
}
