/**
 * The types EVA's phases share: the batch shape the defaults understand, the options, the
 * result, and one target layer as the phases see it.
 */
import type { Tensor } from '@tsgrad/autograd';
import type { AnyModule } from '@tsgrad/nn';
import type * as nd from '@tsgrad/tensor';
import type { EvaConfig, LoraConfig } from '../config.ts';

/** Layer name → the EVA init of its A (rows = its new rank, 0 rows = drop the adapter). PEFT's `eva_state_dict`. */
export type EvaStateDict = Record<string, nd.NDArray>;

/**
 * The batch shape the defaults understand: nn's `Batch` (`input` for the model, optional
 * masks [B, T] or [B]); `[input, target]` pairs from a DataLoader are accepted too.
 */
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
  /**
   * Precision of the incremental PCA's SVDs. `'float32'` (the default when `svd` is
   * `'lowrank'` and every parameter of the model is float32): the update matrix is
   * float32 and its randomized SVD goes through one float32 Gram matrix on the backend's
   * matmul (`svdLowRankGram`), with a float64 fallback for a fit it cannot resolve.
   * `'float64'` (the default otherwise, and the only choice with `svd: 'exact'`): every
   * SVD in float64, the reference path. Means, variances and ratios are float64 either way.
   */
  dtype?: 'float32' | 'float64';
  /**
   * Reproduce PEFT's whitening of layers that share an input (default false). PEFT divides
   * the shared PCA's components in place (`u /= sqrt(s)` on a view), once per group member,
   * and every member's A is a view of that storage: with whitening, row i of each member
   * of a q/k/v group ends up divided by sqrt(s_i) to the power n_i, where n_i is the number
   * of members whose rank exceeds i (3 for q/k/v at equal ranks). tsgrad divides once.
   * Only matters with `whiten` and shared inputs.
   */
  peftCompatibleWhitening?: boolean;
  /**
   * End each forward pass as soon as every target layer still being analysed has seen its
   * input (default true): the rest of the pass cannot change EVA's result, and once only
   * early layers are open it is most of the cost. The layers' calls per forward pass are
   * learned from a full pass; pass false for a model whose layers run a varying number of
   * times per batch, or a `forwardFn` with side effects that must run on every batch.
   */
  truncateForward?: boolean;
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
  /** Hook layer name → singular values of its components (what whitening divides by, square-rooted). */
  singularValues: Map<string, Float64Array>;
  /** Hook layer name → explained variance ratios of its components. */
  explainedVarianceRatio: Map<string, Float64Array>;
  /** Target layers whose inputs had zero variance over every row seen (EVA warns: they get rank 0). */
  zeroVarianceLayers: string[];
  /** Wall time in seconds. */
  seconds: number;
  /** The precision the incremental PCAs ran in (the `dtype` option, resolved). */
  dtype: 'float32' | 'float64';
  /** Incremental-PCA fits over all layers, and how many of them fell back from float32 to float64. */
  fits: { total: number; float64Fallbacks: number };
}

/** One layer EVA analyses. */
export interface EvaTarget {
  name: string;
  module: AnyModule;
  inFeatures: number;
  /** Its rank before EVA: the LoraLinear's `r`, or the config's for a plain Linear. */
  r: number;
}
