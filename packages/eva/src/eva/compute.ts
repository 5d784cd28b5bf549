/**
 * EVA, Explained Variance Adaptation (Paischer et al., arXiv:2410.07170), following
 * PEFT's implementation (peft/tuners/lora/eva.py) step by step. One file per phase:
 *
 * 1. `inputs.ts`: forward pre-hooks capture the target layers' inputs; padding and
 *    ignored labels (`labelMaskValue`, -100) are removed from the rows.
 * 2. `shared-inputs.ts`: a first batch finds layers whose inputs are identical (q/k/v
 *    read the same normed hidden state); each such group shares one incremental PCA.
 * 3. `pca-hook.ts`: after each batch every hook's IncrementalPCA is updated (centred,
 *    randomized SVD with q = 2k, 4 power iterations, seed 42) and every component j is
 *    "converged" when the signed cosine between its new and previous direction is >= tau
 *    (paper eq. 5).
 * 4. `convergence.ts`: after every batch the global rank budget (sum of the layers' r) is
 *    redistributed by explained variance ratio with cap round(rho r) (paper eq. 6); a layer
 *    is done when the components it is currently allocated have converged; the run ends
 *    when every layer is done, or fails after `maxBatches` naming the unconverged layers.
 * 5. `state-dict.ts`: A_l = the first r_l components (divided by sqrt of the singular
 *    values when whitening).
 * 6. `load.ts`: B_l = 0, rank-0 layers lose their adapter, alpha_l = alpha r_l / r so the
 *    scaling stays alpha / r (PEFT's adjust_scaling_factors).
 *
 * All hooks are removed and every module's training flag restored whatever happens,
 * so the model's forward is unchanged by the analysis itself.
 */
import { noGrad, type Tensor } from '@tsgrad/autograd';
import { Linear, toBatch, type AnyModule } from '@tsgrad/nn';
import { getLoraConfig } from '../apply-lora.ts';
import { resolveEvaConfig, resolveLoraConfig, type EvaConfig, type ResolvedLoraConfig } from '../config.ts';
import { LoraLinear } from '../lora-linear.ts';
import { matchesTarget, patternValue } from '../patterns.ts';
import { maxComponents, type RankLayer } from '../rank-distribution.ts';
import { cycle, runUntilConverged } from './convergence.ts';
import { defaultPrepareModelInputs, layerInputsFor } from './inputs.ts';
import { PcaHook } from './pca-hook.ts';
import { detectSharedInputs } from './shared-inputs.ts';
import { buildEvaStateDict, zeroVarianceLayers } from './state-dict.ts';
import type { EvaBatch, EvaOptions, EvaResult, EvaStateDict, EvaTarget } from './types.ts';

/** Adapted model: every LoraLinear with its own rank. Plain model: the matching Linears with a rank > 0. */
function findTargets(model: AnyModule, c: ResolvedLoraConfig, adapted: boolean): EvaTarget[] {
  const out: EvaTarget[] = [];
  for (const [name, m] of model.namedModules()) {
    if (name === '') continue;
    if (adapted) {
      if (m instanceof LoraLinear) out.push({ name, module: m, inFeatures: m.inFeatures, r: m.r });
    } else if (m instanceof Linear && matchesTarget(name, c.targetModules)) {
      const r = patternValue(c.rankPattern, name, c.r);
      if (r > 0) out.push({ name, module: m, inFeatures: m.inFeatures, r });
    }
  }
  return out;
}

/** Runs `fn` with every module in eval mode and every LoRA adapter disabled, restoring both after. */
function asBaseModelInEval<T>(model: AnyModule, fn: () => T): T {
  const modules = [...model.modules()];
  const training = modules.map((m) => m.training);
  const lora = modules.filter((m): m is LoraLinear => m instanceof LoraLinear);
  const disabled = lora.map((l) => l.disabled);
  for (const m of modules) m.training = false;
  for (const l of lora) l.disabled = true;
  try {
    return noGrad(fn);
  } finally {
    modules.forEach((m, i) => (m.training = training[i]!));
    lora.forEach((l, i) => (l.disabled = disabled[i]!));
  }
}

function resolveConfigs<B>(model: AnyModule, opts: EvaOptions<B>): { lora: ResolvedLoraConfig; eva: EvaConfig; adapted: boolean } {
  const hasLora = [...model.modules()].some((m) => m instanceof LoraLinear);
  let lora: ResolvedLoraConfig;
  if (hasLora) {
    lora = getLoraConfig(model);
  } else {
    if (!opts.loraConfig) throw new Error('EVA: the model has no LoRA layers; pass loraConfig (targetModules, r, ...) to say which Linears to analyse');
    lora = resolveLoraConfig({ ...opts.loraConfig, init: 'eva' });
  }
  const eva = resolveEvaConfig({ ...(lora.evaConfig ?? opts.loraConfig?.evaConfig ?? {}), ...(opts.evaConfig ?? {}) });
  return { lora, eva, adapted: hasLora };
}

/** Per-layer cap min(round(rho r), in); members of an equal-input group share the group's largest. */
function groupCaps(targets: readonly EvaTarget[], groups: ReadonlyMap<string, string>, rho: number): Map<string, number> {
  const caps = new Map<string, number>();
  for (const t of targets) caps.set(t.name, Math.min(maxComponents(t.r, rho), t.inFeatures));
  for (const t of targets) {
    const h = groups.get(t.name)!;
    caps.set(h, Math.max(caps.get(h)!, caps.get(t.name)!));
  }
  for (const t of targets) caps.set(t.name, caps.get(groups.get(t.name)!)!);
  return caps;
}

/** float32 for a float32 model with the randomized SVD (the fast path), else float64. */
function defaultDtype(model: AnyModule, svdMode: string): 'float32' | 'float64' {
  const params = model.parameters();
  return svdMode === 'lowrank' && params.length > 0 && params.every((p) => p.dtype === 'float32') ? 'float32' : 'float64';
}

function fitCounts(hooks: Iterable<PcaHook>, dtype: 'float32' | 'float64'): { total: number; float64Fallbacks: number } {
  let total = 0;
  let float64Fallbacks = 0;
  for (const h of hooks) {
    total += h.pca.nFits;
    if (dtype === 'float32') float64Fallbacks += h.pca.nFits - h.pca.float32Fits;
  }
  return { total, float64Fallbacks };
}

/**
 * Runs EVA's data-driven analysis and returns the A inits, ranks and diagnostics.
 * The model may be plain (pass `loraConfig`) or already adapted with `applyLora`
 * (then adapters are disabled during the analysis, as PEFT does). The model is not changed.
 * @example
 * const res = computeEva(model, loader, { loraConfig: { targetModules: ['fc1', 'fc2'], r: 4 } });
 * res.ranks; // Map { 'layers.0' => 6, ... }
 */
export function computeEva<B = EvaBatch>(model: AnyModule, dataLoader: Iterable<B>, opts: EvaOptions<B> = {}): EvaResult {
  const started = performance.now();
  const { lora, eva, adapted } = resolveConfigs(model, opts);
  const targets = findTargets(model, lora, adapted);
  if (targets.length === 0) throw new Error(`EVA: no target layers found for targetModules ${JSON.stringify(lora.targetModules)}`);
  const maxBatches = opts.maxBatches ?? 1000;
  if (!(Number.isInteger(maxBatches) && maxBatches >= 1)) throw new RangeError(`EVA: maxBatches must be a positive integer, got ${maxBatches}`);
  const forwardFn = opts.forwardFn ?? ((m: AnyModule, b: B) => m.call((b as unknown as EvaBatch).input as Tensor));
  // With the default forward and row selection, batches are nn's one format: `{ input,
  // attentionMask?, labels? }` or `[input, target]` pairs (a DataLoader over a
  // TensorDataset), NDArray or Tensor fields; anything else is refused by name. Custom
  // functions get the batches untouched.
  const normalise = opts.forwardFn || opts.prepareModelInputs ? undefined : (b: unknown) => toBatch(b, 'EVA') as B;
  const prepareModel = opts.prepareModelInputs ?? ((b: B, e: EvaConfig) => defaultPrepareModelInputs(b, e));
  const prepFor = (name: string) => layerInputsFor(opts, name);
  const rankBudget = targets.reduce((s, t) => s + t.r, 0);
  const svdMode = opts.svd ?? 'lowrank';
  const dtype = opts.dtype ?? defaultDtype(model, svdMode);
  if (dtype !== 'float32' && dtype !== 'float64') throw new Error(`EVA: dtype must be 'float32' or 'float64', got ${JSON.stringify(dtype)}`);
  if (dtype === 'float32' && svdMode !== 'lowrank') throw new Error(`EVA: dtype 'float32' needs svd 'lowrank' (the exact SVD runs in float64 only), got svd '${String(svdMode)}'`);
  const truncateForward = opts.truncateForward ?? true;
  if (typeof truncateForward !== 'boolean') throw new TypeError(`EVA: truncateForward must be true or false, got ${JSON.stringify(truncateForward)}`);
  const peftWhitening = opts.peftCompatibleWhitening ?? false;
  if (typeof peftWhitening !== 'boolean') throw new TypeError(`EVA: peftCompatibleWhitening must be true or false, got ${JSON.stringify(peftWhitening)}`);

  return asBaseModelInEval(model, () => {
    const iter = cycle(dataLoader, normalise);
    const first = iter.next().value as B;
    const firstRows = prepareModel(first, eva);
    const groups = detectSharedInputs(targets, firstRows, prepFor, () => void forwardFn(model, first));

    const caps = groupCaps(targets, groups, eva.rho);
    const rankLayers: RankLayer[] = targets.map((t) => ({ name: t.name, hook: groups.get(t.name)!, cap: caps.get(t.name)! }));
    const hooks = new Map<string, PcaHook>();
    for (const t of targets) {
      if (groups.get(t.name) !== t.name) continue;
      const members = targets.filter((u) => groups.get(u.name) === t.name).map((u) => u.name);
      const hook = new PcaHook({
        name: t.name,
        members,
        module: t.module,
        k: caps.get(t.name)!,
        tau: eva.tau,
        prepare: prepFor(t.name),
        svd: svdMode,
        lowrankSeed: opts.lowrankSeed ?? 42,
        dtype,
      });
      hooks.set(t.name, hook);
    }
    const hookOf = (name: string) => hooks.get(groups.get(name)!)!;

    // The first batch is fitted too: it only served to find the groups so far.
    let pending: B | null = first;
    const { ranks, batches } = runUntilConverged<B>({
      hooks,
      rankLayers,
      initialRanks: new Map(targets.map((t) => [t.name, caps.get(t.name)!])),
      rankBudget,
      next: () => {
        if (pending !== null) {
          const batch = pending;
          pending = null;
          return { batch, rows: firstRows };
        }
        const batch = iter.next().value as B;
        return { batch, rows: prepareModel(batch, eva) };
      },
      forward: (b) => void forwardFn(model, b),
      maxBatches,
      tau: eva.tau,
      onBatch: opts.onBatch,
      truncateForward,
    });

    const zeroVariance = zeroVarianceLayers(targets, hookOf);
    if (zeroVariance.length > 0) {
      console.warn(
        `EVA: the inputs of ${zeroVariance.join(', ')} had zero variance over every batch seen; ` +
          'their explained-variance ratios are all 0, so the redistribution ranks them last (usually rank 0, which removes their adapters) ' +
          'and any rank they do get holds arbitrary directions',
      );
    }
    const explainedVarianceRatio = new Map<string, Float64Array>();
    const singularValues = new Map<string, Float64Array>();
    for (const h of hooks.values()) {
      explainedVarianceRatio.set(h.name, h.pca.explainedVarianceRatio.toFloat64Array());
      singularValues.set(h.name, h.pca.singularValues.toFloat64Array());
    }
    return {
      stateDict: buildEvaStateDict(targets, hookOf, ranks, eva.whiten, peftWhitening),
      ranks,
      rankBudget,
      batches,
      groups,
      explainedVarianceRatio,
      singularValues,
      zeroVarianceLayers: zeroVariance,
      seconds: (performance.now() - started) / 1000,
      dtype,
      fits: fitCounts(hooks.values(), dtype),
    };
  });
}

/**
 * PEFT's `get_eva_state_dict`: layer name → A init (rows = the layer's new rank).
 * @example const sd = getEvaStateDict(model, loader, { loraConfig: { targetModules: ['q_proj'], r: 8 } });
 */
export function getEvaStateDict<B = EvaBatch>(model: AnyModule, dataLoader: Iterable<B>, opts: EvaOptions<B> = {}): EvaStateDict {
  return computeEva(model, dataLoader, opts).stateDict;
}
