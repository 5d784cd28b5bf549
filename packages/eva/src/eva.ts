/**
 * EVA, Explained Variance Adaptation (Paischer et al., arXiv:2410.07170), following
 * PEFT's implementation (peft/tuners/lora/eva.py) step by step:
 *
 * 1. Forward hooks on the target layers capture their inputs; padding and ignored
 *    labels (`labelMaskValue`, -100) are removed from the rows (prepareModelInputs).
 * 2. A first batch is used to find layers whose inputs are identical (q/k/v read the
 *    same normed hidden state); each such group shares one incremental PCA.
 * 3. Batches are cycled. After each one every hook's IncrementalPCA is updated
 *    (centred, randomized SVD with q = 2k, 4 power iterations, seed 42) and every
 *    component j is "converged" when the signed cosine between its new and previous
 *    direction is >= tau (paper eq. 5).
 * 4. After every batch the global rank budget (sum of the layers' r, i.e. r x layers)
 *    is redistributed by explained variance ratio with cap round(rho r) (paper eq. 6,
 *    `distributeRanks`).
 * 5. A layer is done when the components it is currently allocated have converged;
 *    its hook is then removed, and re-added if a later redistribution gives it more.
 *    The run ends when every layer is done, or fails after `maxBatches` (a guard PEFT
 *    lacks) naming the layers that have not converged.
 * 6. A_l = the first r_l components (divided by sqrt of the singular values when
 *    whitening); B_l = 0; rank-0 layers lose their adapter; alpha_l = alpha r_l / r so
 *    the scaling stays alpha / r (PEFT's adjust_scaling_factors; the paper's
 *    "alpha = r_new / r_old").
 *
 * All hooks are removed and every module's training flag restored whatever happens,
 * so the model's forward is unchanged by the analysis itself.
 */
import { noGrad, Tensor } from '@tsgrad/autograd';
import { Linear, type AnyModule, type RemovableHandle } from '@tsgrad/nn';
import * as nd from '@tsgrad/tensor';
import { getLoraConfig, loraLayers, setLoraConfig } from './apply-lora.ts';
import { resolveEvaConfig, resolveLoraConfig, type EvaConfig, type LoraConfig, type ResolvedLoraConfig } from './config.ts';
import { IncrementalPCA } from './incremental-pca.ts';
import { initLoraLayer } from './inits.ts';
import { LoraLinear } from './lora-linear.ts';
import { matchesTarget, patternValue } from './patterns.ts';
import { distributeRanks, maxComponents, type RankLayer } from './rank-distribution.ts';

/** Layer name → the EVA init of its A (rows = its new rank, 0 rows = drop the adapter). PEFT's `eva_state_dict`. */
export type EvaStateDict = Record<string, nd.NDArray>;

/** The batch shape the defaults understand: `input` for the model, optional masks [B, T] (or [B]). */
export interface EvaBatch {
  input: unknown;
  /** 1 for real tokens, 0 for padding. */
  attentionMask?: nd.NDArray | Tensor;
  /** Labels; positions equal to `labelMaskValue` are dropped when `useLabelMask`. */
  labels?: nd.NDArray | Tensor;
}

/** Turns a layer input and the batch's kept row indices into a [rows, inFeatures] matrix. */
export type PrepareLayerInputsFn = (x: nd.NDArray, rows: Int32Array | null, layerName: string) => nd.NDArray;

/** Options of {@link computeEva}, {@link getEvaStateDict} and {@link initializeLoraEvaWeights}. */
export interface EvaOptions<B = EvaBatch> {
  /** For a model without LoRA layers: which Linears and ranks (its `evaConfig` is used too). */
  loraConfig?: LoraConfig;
  /** Overrides of the EVA settings (else the model's LoRA config, else PEFT's defaults). */
  evaConfig?: Partial<EvaConfig>;
  /** Runs the model on a batch (default `model.call(batch.input)`). */
  forwardFn?: (model: AnyModule, batch: B) => unknown;
  /**
   * Indices of the kept rows in the flattened [B*T] positions, or null for all
   * (default: attention mask AND labels != labelMaskValue, as PEFT's language-modelling default).
   */
  prepareModelInputs?: (batch: B, eva: EvaConfig) => Int32Array | null;
  /** Builds the SVD rows from a layer input; one function or one per layer name. */
  prepareLayerInputs?: PrepareLayerInputsFn | Record<string, PrepareLayerInputsFn>;
  /** Give up after this many forward passes (default 1000). */
  maxBatches?: number;
  /** `'lowrank'` (default, PEFT) or `'exact'` SVD in the incremental PCA. */
  svd?: 'lowrank' | 'exact';
  /** Seed of the randomized SVD (default 42, PEFT). */
  lowrankSeed?: number;
  /** Called after every batch with progress. */
  onBatch?: (info: { batch: number; convergedLayers: number; layers: number }) => void;
}

/** Everything {@link computeEva} learned. */
export interface EvaResult {
  /** Layer name → A init (rank rows; a rank-0 layer has a [0, in] entry, as in PEFT). */
  stateDict: EvaStateDict;
  /** Layer name → final rank (0 allowed), every target layer in model order. */
  ranks: Map<string, number>;
  /** Sum of the layers' original ranks. */
  rankBudget: number;
  /** Forward passes used (excluding the first one that detects equal inputs). */
  batches: number;
  /** Layer name → the layer whose PCA it shares (itself if none). */
  groups: Map<string, string>;
  /** Hook layer name → explained variance ratios of its components. */
  explainedVarianceRatio: Map<string, Float64Array>;
  /** Wall time in seconds. */
  seconds: number;
}

interface Target {
  name: string;
  module: AnyModule;
  inFeatures: number;
  r: number;
}

/** PEFT's language-modelling row selection: attention mask AND labels != labelMaskValue. */
export function defaultPrepareModelInputs(batch: unknown, eva: EvaConfig): Int32Array | null {
  if (batch === null || typeof batch !== 'object') return null;
  const b = batch as Partial<EvaBatch>;
  const toArr = (x: nd.NDArray | Tensor) => (x instanceof Tensor ? x.data : x);
  let keep: Uint8Array | null = null;
  if (b.attentionMask !== undefined) {
    const m = toArr(b.attentionMask).toFloat64Array();
    keep = Uint8Array.from(m, (v) => (v !== 0 ? 1 : 0));
  }
  if (eva.useLabelMask && b.labels !== undefined) {
    const l = toArr(b.labels).toFloat64Array();
    if (keep && keep.length !== l.length) {
      throw new Error(`EVA: attentionMask has ${keep.length} positions but labels have ${l.length}`);
    }
    const k: Uint8Array = keep ?? new Uint8Array(l.length).fill(1);
    for (let i = 0; i < l.length; i++) if (l[i] === eva.labelMaskValue) k[i] = 0;
    keep = k;
  }
  if (!keep) return null;
  const idx: number[] = [];
  for (let i = 0; i < keep.length; i++) if (keep[i]) idx.push(i);
  return Int32Array.from(idx);
}

/** Flattens all leading axes of a layer input to rows and keeps the selected ones. */
export function defaultPrepareLayerInputs(x: nd.NDArray, rows: Int32Array | null, layerName: string): nd.NDArray {
  const d = x.shape[x.ndim - 1]!;
  const flat = x.reshape([-1, d]);
  if (rows === null) return flat;
  const n = flat.shape[0]!;
  for (const r of rows) {
    if (r >= n) {
      throw new Error(`EVA: row index ${r} is out of range for layer '${layerName}' whose input of shape ${nd.shapeToString(x.shape)} has ${n} rows; does the mask match the layer input?`);
    }
  }
  return nd.indexSelect(flat, 0, nd.NDArray.fromTyped(rows, [rows.length]));
}

function inFeaturesOf(m: AnyModule): number {
  if (m instanceof LoraLinear) return m.inFeatures;
  if (m instanceof Linear) return m.inFeatures;
  throw new Error(`EVA: target ${m.constructor.name} is neither Linear nor LoraLinear`);
}

function findTargets(model: AnyModule, c: ResolvedLoraConfig, adapted: boolean): Target[] {
  const out: Target[] = [];
  for (const [name, m] of model.namedModules()) {
    if (name === '') continue;
    if (adapted) {
      if (m instanceof LoraLinear) out.push({ name, module: m, inFeatures: m.inFeatures, r: patternValue(c.rankPattern, name, c.r) });
    } else if (m instanceof Linear && matchesTarget(name, c.targetModules)) {
      const r = patternValue(c.rankPattern, name, c.r);
      if (r > 0) out.push({ name, module: m, inFeatures: inFeaturesOf(m), r });
    }
  }
  return out;
}

function hashArray(a: nd.NDArray): string {
  // FNV-1a over the float64 values' bytes; equal-hash groups are confirmed exactly.
  const v = a.toFloat64Array();
  const bytes = new Uint8Array(v.buffer);
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return `${a.shape.join('x')}:${(h >>> 0).toString(16)}`;
}

function sameArray(a: nd.NDArray, b: nd.NDArray): boolean {
  if (!nd.shapesEqual(a.shape, b.shape)) return false;
  const x = a.toFloat64Array();
  const y = b.toFloat64Array();
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

function signedCosine(a: Float64Array, b: Float64Array, row: number, d: number): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let j = 0; j < d; j++) {
    const x = a[row * d + j]!;
    const y = b[row * d + j]!;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  // torch.nn.functional.cosine_similarity clamps each norm at eps = 1e-8
  return dot / (Math.max(Math.sqrt(na), 1e-8) * Math.max(Math.sqrt(nb), 1e-8));
}

function* cycle<B>(loader: Iterable<B>): Generator<B> {
  for (;;) {
    let any = false;
    for (const b of loader) {
      any = true;
      yield b;
    }
    if (!any) throw new Error('EVA: the data loader yielded no batches');
  }
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

/**
 * Runs EVA's data-driven analysis and returns the A inits, ranks and diagnostics.
 * The model may be plain (pass `loraConfig`) or already adapted with `applyLora`
 * (then adapters are disabled during the analysis, as PEFT does).
 * @example
 * const res = computeEva(model, loader, { loraConfig: { targetModules: ['fc1', 'fc2'], r: 4 } });
 * res.ranks; // Map { 'layers.0' => 6, ... }
 */
export function computeEva<B = EvaBatch>(model: AnyModule, dataLoader: Iterable<B>, opts: EvaOptions<B> = {}): EvaResult {
  const started = performance.now();
  const { lora, eva, adapted } = resolveConfigs(model, opts);
  const targets = findTargets(model, lora, adapted);
  if (targets.length === 0) throw new Error(`EVA: no target layers found for targetModules ${JSON.stringify(lora.targetModules)}`);
  const forwardFn = opts.forwardFn ?? ((m: AnyModule, b: B) => m.call((b as unknown as EvaBatch).input as Tensor));
  const prepareModel = opts.prepareModelInputs ?? ((b: B, e: EvaConfig) => defaultPrepareModelInputs(b, e));
  const maxBatches = opts.maxBatches ?? 1000;
  const prepFor = (name: string): PrepareLayerInputsFn => {
    const p = opts.prepareLayerInputs;
    if (p === undefined) return defaultPrepareLayerInputs;
    if (typeof p === 'function') return p;
    const f = p[name];
    if (!f) throw new Error(`EVA: prepareLayerInputs is a map but has no entry for target layer '${name}'`);
    return f;
  };
  const rankBudget = targets.reduce((s, t) => s + t.r, 0);

  const handles: RemovableHandle[] = [];
  const removeAll = () => {
    for (const h of handles.splice(0)) h.remove();
  };

  return asBaseModelInEval(model, () => {
    try {
      const iter = cycle(dataLoader);
      // --- 1. equal-input detection on the first batch (PEFT's HashHook)
      const first = iter.next().value as B;
      const firstRows = prepareModel(first, eva);
      const seen = new Map<string, nd.NDArray>();
      for (const t of targets) {
        const prep = prepFor(t.name);
        handles.push(
          t.module.registerForwardPreHook((_m, args) => {
            if (!seen.has(t.name)) seen.set(t.name, prep((args[0] as Tensor).data, firstRows, t.name));
          }),
        );
      }
      forwardFn(model, first);
      removeAll();
      const groups = new Map<string, string>();
      const byHash = new Map<string, string[]>();
      for (const t of targets) {
        const x = seen.get(t.name);
        if (!x) throw new Error(`EVA: target layer '${t.name}' was not called by the forward pass`);
        const key = hashArray(x);
        const candidates = byHash.get(key) ?? [];
        const match = candidates.find((c) => sameArray(seen.get(c)!, x));
        groups.set(t.name, match ?? t.name);
        if (!match) byHash.set(key, [...candidates, t.name]);
      }
      seen.clear();

      // --- 2. caps (group members share the group maximum) and one PCA per hook layer
      const caps = new Map<string, number>();
      for (const t of targets) caps.set(t.name, Math.min(maxComponents(t.r, eva.rho), t.inFeatures));
      for (const t of targets) {
        const h = groups.get(t.name)!;
        caps.set(h, Math.max(caps.get(h)!, caps.get(t.name)!));
      }
      for (const t of targets) caps.set(t.name, caps.get(groups.get(t.name)!)!);
      const rankLayers: RankLayer[] = targets.map((t) => ({ name: t.name, hook: groups.get(t.name)!, cap: caps.get(t.name)! }));

      interface Hook {
        name: string;
        module: AnyModule;
        k: number;
        pca: IncrementalPCA;
        converged: boolean[];
        rows: Int32Array | null;
        handle: RemovableHandle | null;
        skipped: number;
      }
      const hooks = new Map<string, Hook>();
      for (const t of targets) {
        if (groups.get(t.name) !== t.name) continue;
        const k = caps.get(t.name)!;
        hooks.set(t.name, {
          name: t.name,
          module: t.module,
          k,
          pca: new IncrementalPCA({ nComponents: k, svd: opts.svd ?? 'lowrank', lowrankSeed: opts.lowrankSeed ?? 42 }),
          converged: new Array<boolean>(k).fill(false),
          rows: null,
          handle: null,
          skipped: 0,
        });
      }
      const svdHook = (h: Hook) => (_m: AnyModule, args: unknown[]) => {
        const x = prepFor(h.name)((args[0] as Tensor).data, h.rows, h.name);
        if (x.shape[0]! < h.k) {
          // PEFT skips (with a message) batches with fewer rows than components.
          h.skipped++;
          return;
        }
        const prev = h.pca.fitted ? h.pca.componentsData.slice() : null;
        h.pca.partialFit(x);
        if (prev) {
          const cur = h.pca.componentsData;
          const d = h.pca.nFeatures;
          for (let j = 0; j < h.k; j++) h.converged[j] = signedCosine(cur, prev, j, d) >= eva.tau;
        }
      };

      // --- 3-5. cycle, fit, redistribute, until every layer's allocated components converged
      let rankDist = new Map(targets.map((t) => [t.name, caps.get(t.name)!]));
      let batches = 0;
      for (;;) {
        const batch = batches === 0 ? first : (iter.next().value as B);
        const rows = batches === 0 ? firstRows : prepareModel(batch, eva);
        let allConverged = true;
        for (const h of hooks.values()) {
          const need = rankDist.get(h.name)!;
          const done = h.converged.slice(0, need).every(Boolean);
          if (done) {
            if (h.handle) {
              h.handle.remove();
              handles.splice(handles.indexOf(h.handle), 1);
              h.handle = null;
            }
          } else {
            allConverged = false;
            h.rows = rows;
            if (!h.handle) {
              h.handle = h.module.registerForwardPreHook(svdHook(h));
              handles.push(h.handle);
            }
          }
        }
        if (allConverged) break;
        if (batches >= maxBatches) {
          const open = [...hooks.values()].filter((h) => !h.converged.slice(0, rankDist.get(h.name)!).every(Boolean));
          const names = open.map((h) => {
            const members = targets.filter((t) => groups.get(t.name) === h.name).map((t) => t.name);
            const need = rankDist.get(h.name)!;
            const ok = h.converged.slice(0, need).filter(Boolean).length;
            return `${members.join('/')} (${ok}/${need} components converged${h.skipped ? `, ${h.skipped} batches skipped for too few rows` : ''})`;
          });
          throw new Error(`EVA: not converged after maxBatches=${maxBatches} batches (tau=${eva.tau}); unconverged layers: ${names.join(', ')}. Lower tau, raise maxBatches, or use larger batches.`);
        }
        forwardFn(model, batch);
        batches++;
        if (![...hooks.values()].every((h) => h.pca.fitted)) continue;
        const ratios: Record<string, Float64Array> = {};
        for (const h of hooks.values()) ratios[h.name] = h.pca.explainedVarianceRatio.toFloat64Array();
        rankDist = distributeRanks(rankLayers, ratios, rankBudget);
        opts.onBatch?.({
          batch: batches,
          convergedLayers: [...hooks.values()].filter((h) => h.converged.slice(0, rankDist.get(h.name)!).every(Boolean)).length,
          layers: hooks.size,
        });
      }
      removeAll();
      for (const h of hooks.values()) h.handle = null;

      // --- 6. A inits
      const stateDict: EvaStateDict = {};
      for (const t of targets) {
        const rank = rankDist.get(t.name)!;
        const h = hooks.get(groups.get(t.name)!)!;
        if (!h.converged.slice(0, rank).every(Boolean)) throw new Error(`EVA: internal error, layer '${t.name}' finished unconverged`);
        const d = h.pca.nFeatures;
        const a = h.pca.componentsData.slice(0, rank * d);
        if (eva.whiten) {
          const s = h.pca.singularValues.toFloat64Array();
          for (let i = 0; i < rank; i++) {
            const f = 1 / Math.sqrt(s[i]!);
            for (let j = 0; j < d; j++) a[i * d + j]! *= f;
          }
        }
        stateDict[t.name] = nd.NDArray.fromTyped(a, [rank, d]);
      }
      const explainedVarianceRatio = new Map<string, Float64Array>();
      for (const h of hooks.values()) explainedVarianceRatio.set(h.name, h.pca.explainedVarianceRatio.toFloat64Array());
      return {
        stateDict,
        ranks: rankDist,
        rankBudget,
        batches,
        groups,
        explainedVarianceRatio,
        seconds: (performance.now() - started) / 1000,
      };
    } finally {
      removeAll();
    }
  });
}

/**
 * PEFT's `get_eva_state_dict`: layer name → A init (rows = the layer's new rank).
 * @example const sd = getEvaStateDict(model, loader, { loraConfig: { targetModules: ['q_proj'], r: 8 } });
 */
export function getEvaStateDict<B = EvaBatch>(model: AnyModule, dataLoader: Iterable<B>, opts: EvaOptions<B> = {}): EvaStateDict {
  return computeEva(model, dataLoader, opts).stateDict;
}

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

/**
 * PEFT's `initialize_lora_eva_weights`: computes (or takes) the EVA state dict and
 * loads it into a model adapted with `applyLora(..., { init: 'eva' })`: new ranks,
 * A = principal components, B = 0, alphas adjusted, rank-0 adapters removed, and the
 * stored config's `rankPattern` / `alphaPattern` / `targetModules` rewritten so the
 * adapter exports with the right shapes.
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
  const result = opts.evaStateDict ? undefined : computeEva(model, opts.dataLoader!, opts);
  const sd = opts.evaStateDict ?? result!.stateDict;
  const eva = resolveEvaConfig({ ...(c.evaConfig ?? {}), ...(opts.evaConfig ?? {}) });
  const ranks = new Map<string, number>();
  const alphas = new Map<string, number>();
  const missing: string[] = [];
  const rankPattern: Record<string, number> = {};
  const alphaPattern: Record<string, number> = {};
  const kept: string[] = [];
  noGrad(() => {
    for (const [name, layer] of loraLayers(model)) {
      const origR = layer.r;
      const origAlpha = layer.alpha;
      const w = sd[name];
      if (w === undefined) {
        // not in the dict: default init (PEFT warns and does the same)
        initLoraLayer(layer, 'default');
        missing.push(name);
        ranks.set(name, layer.r);
        alphas.set(name, layer.alpha);
        kept.push(name);
        if (layer.r !== c.r) rankPattern[name] = layer.r;
        if (layer.alpha !== c.alpha) alphaPattern[name] = layer.alpha;
        continue;
      }
      const newRank = w.shape[0]!;
      ranks.set(name, newRank);
      if (newRank === 0) {
        model.setSubmodule(name, layer.base_layer);
        continue;
      }
      if (w.shape[1] !== layer.inFeatures) {
        throw new Error(`initializeLoraEvaWeights: state dict entry '${name}' has shape ${nd.shapeToString(w.shape)}, the layer has ${layer.inFeatures} inputs`);
      }
      const alpha = eva.adjustScalingFactors && newRank !== origR ? (origAlpha * newRank) / origR : origAlpha;
      if (newRank !== origR) layer.resize(newRank, alpha);
      else layer.alpha = alpha;
      layer.lora_A.weight.data = nd.cast(w, layer.lora_A.weight.dtype).contiguous();
      layer.lora_B.weight.data = nd.zeros(layer.lora_B.weight.shape, layer.lora_B.weight.dtype);
      layer.lora_A.weight.grad = null;
      layer.lora_B.weight.grad = null;
      layer.initMethod = 'eva';
      alphas.set(name, alpha);
      kept.push(name);
      if (newRank !== c.r) rankPattern[name] = newRank;
      if (alpha !== c.alpha) alphaPattern[name] = alpha;
    }
  });
  setLoraConfig(model, { ...c, targetModules: kept, rankPattern, alphaPattern, evaConfig: eva });
  if (missing.length) console.warn(`initializeLoraEvaWeights: no EVA state for ${missing.join(', ')}; they got the default init`);
  return { ranks, alphas, missing, eva: result };
}
