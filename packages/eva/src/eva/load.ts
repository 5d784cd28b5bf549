/**
 * Phase 5 of EVA (PEFT's `_load_eva_state_dict` and `initialize_lora_eva_weights`): the
 * state dict goes into a model adapted with `applyLora(..., { init: 'eva' })`: new ranks,
 * A = principal components, B = 0, alphas adjusted, rank-0 adapters removed, and the stored
 * config's `rankPattern` / `alphaPattern` / `targetModules` rewritten so the adapter exports
 * with the right shapes.
 *
 * The whole state dict is checked before the model is touched, so a bad entry (unknown
 * layer, wrong width, NaN) leaves the model exactly as it was.
 */
import { noGrad } from '@tsgrad/autograd';
import type { AnyModule } from '@tsgrad/nn';
import * as nd from '@tsgrad/tensor';
import { getLoraConfig, loraLayers, setLoraConfig } from '../apply-lora.ts';
import { resolveEvaConfig } from '../config.ts';
import { initLoraLayer } from '../inits.ts';
import type { LoraLinear } from '../lora-linear.ts';
import { computeEva } from './compute.ts';
import type { EvaBatch, EvaOptions, EvaResult, EvaStateDict } from './types.ts';

/** What {@link initializeLoraEvaWeights} did. */
export interface EvaInitResult {
  /** Final rank per originally adapted layer (0 = adapter removed). */
  ranks: Map<string, number>;
  /** Final alpha per adapted layer. */
  alphas: Map<string, number>;
  /** Layers absent from the state dict, given the default init instead (PEFT warns). */
  missing: string[];
  /** The analysis, when it ran here (absent when a state dict was passed). */
  eva?: EvaResult;
}

/** What happens to one LoRA layer; computed for every layer before any is changed. */
type LayerPlan =
  | { kind: 'missing'; name: string; layer: LoraLinear }
  | { kind: 'remove'; name: string; layer: LoraLinear }
  | { kind: 'load'; name: string; layer: LoraLinear; a: nd.NDArray; rank: number; alpha: number };

/**
 * Throws unless every entry names a LoRA layer of the model and is a finite [rank, in] matrix.
 * @example checkEvaStateDict(loraLayers(model), sd)
 */
export function checkEvaStateDict(layers: ReadonlyMap<string, LoraLinear>, sd: EvaStateDict): void {
  const what = 'initializeLoraEvaWeights';
  if (sd === null || typeof sd !== 'object' || Array.isArray(sd)) throw new TypeError(`${what}: evaStateDict must be an object of layer name → NDArray`);
  const unknown = Object.keys(sd).filter((k) => !layers.has(k));
  if (unknown.length) {
    throw new Error(`${what}: evaStateDict has entries for ${unknown.map((k) => `'${k}'`).join(', ')}, which are not LoRA layers of the model (its LoRA layers: ${[...layers.keys()].join(', ')})`);
  }
  for (const [name, w] of Object.entries(sd)) {
    const layer = layers.get(name)!;
    if (!(w instanceof nd.NDArray)) throw new TypeError(`${what}: evaStateDict['${name}'] is not an NDArray`);
    if (w.ndim !== 2 || w.shape[1] !== layer.inFeatures) {
      throw new Error(`${what}: evaStateDict['${name}'] has shape ${nd.shapeToString(w.shape)}, expected [rank, ${layer.inFeatures}] (the layer has ${layer.inFeatures} inputs)`);
    }
    const v = w.toFloat64Array();
    for (let i = 0; i < v.length; i++) {
      if (!Number.isFinite(v[i]!)) {
        throw new RangeError(`${what}: evaStateDict['${name}'] has a non-finite value ${v[i]} at [${Math.floor(i / layer.inFeatures)}, ${i % layer.inFeatures}]`);
      }
    }
  }
}

/**
 * PEFT's `initialize_lora_eva_weights`: computes (or takes) the EVA state dict and
 * loads it into a model adapted with `applyLora(..., { init: 'eva' })`. Refuses (and leaves
 * the model unchanged) a model whose init is not 'eva', a state dict entry that names no
 * LoRA layer, has the wrong width or holds NaN/Infinity.
 * @example
 * applyLora(model, { targetModules: ['fc1', 'fc2'], r: 8, init: 'eva' });
 * initializeLoraEvaWeights(model, { dataLoader: loader });
 */
export function initializeLoraEvaWeights<B = EvaBatch>(
  model: AnyModule,
  opts: EvaOptions<B> & { dataLoader?: Iterable<B>; evaStateDict?: EvaStateDict },
): EvaInitResult {
  const c = getLoraConfig(model);
  if (c.init !== 'eva') throw new Error(`initializeLoraEvaWeights: the model's LoRA init is '${c.init}', not 'eva'`);
  if (!opts.evaStateDict && !opts.dataLoader) throw new Error('initializeLoraEvaWeights: pass dataLoader or evaStateDict');
  const eva = resolveEvaConfig({ ...(c.evaConfig ?? {}), ...(opts.evaConfig ?? {}) });
  const result = opts.evaStateDict ? undefined : computeEva(model, opts.dataLoader!, opts);
  const sd = opts.evaStateDict ?? result!.stateDict;
  const layers = loraLayers(model);
  checkEvaStateDict(layers, sd);

  // Plan every layer first; nothing below the plan can fail on the inputs.
  const plans: LayerPlan[] = [];
  for (const [name, layer] of layers) {
    const w = sd[name];
    if (w === undefined) plans.push({ kind: 'missing', name, layer });
    else if (w.shape[0] === 0) plans.push({ kind: 'remove', name, layer });
    else {
      const rank = w.shape[0]!;
      const alpha = eva.adjustScalingFactors && rank !== layer.r ? (layer.alpha * rank) / layer.r : layer.alpha;
      plans.push({ kind: 'load', name, layer, a: w, rank, alpha });
    }
  }

  const ranks = new Map<string, number>();
  const alphas = new Map<string, number>();
  const missing: string[] = [];
  const rankPattern: Record<string, number> = {};
  const alphaPattern: Record<string, number> = {};
  const kept: string[] = [];
  noGrad(() => {
    for (const p of plans) {
      const { name, layer } = p;
      if (p.kind === 'remove') {
        ranks.set(name, 0);
        model.setSubmodule(name, layer.base_layer);
        continue;
      }
      if (p.kind === 'missing') {
        // not in the dict: default init (PEFT warns and does the same)
        initLoraLayer(layer, 'default');
        missing.push(name);
      } else {
        if (p.rank !== layer.r) layer.resize(p.rank, p.alpha);
        else layer.alpha = p.alpha;
        layer.lora_A.weight.data = nd.cast(p.a, layer.lora_A.weight.dtype).contiguous();
        layer.lora_B.weight.data = nd.zeros(layer.lora_B.weight.shape, layer.lora_B.weight.dtype);
        layer.lora_A.weight.grad = null;
        layer.lora_B.weight.grad = null;
        layer.initMethod = 'eva';
      }
      ranks.set(name, layer.r);
      alphas.set(name, layer.alpha);
      kept.push(name);
      if (layer.r !== c.r) rankPattern[name] = layer.r;
      if (layer.alpha !== c.alpha) alphaPattern[name] = layer.alpha;
    }
  });
  setLoraConfig(model, { ...c, targetModules: kept, rankPattern, alphaPattern, evaConfig: eva });
  if (missing.length) console.warn(`initializeLoraEvaWeights: no EVA state for ${missing.join(', ')}; they got the default init`);
  return { ranks, alphas, missing, eva: result };
}
