export {
  linearSumAssignment,
  type CostMatrix,
  type DenseMatrix,
  type Duals,
  type LinearSumAssignmentOptions,
  type LinearSumAssignmentResult,
  type MatrixLike,
} from './lap.ts';
export {
  permutationSpec,
  permSizes,
  mlpPermutationSpec,
  stateDictOf,
  axisEntry,
  type StateDict,
  type Permutation,
  type AxisPerm,
  type PermAxis,
  type PermutationSpec,
  type HasStateDict,
} from './spec.ts';
export {
  applyPermutation,
  getPermutedParam,
  identityPermutation,
  randomPermutation,
  invertPermutation,
  composePermutations,
  clonePermutation,
  checkIsPermutation,
} from './permute.ts';
export { lerpStateDicts, meanStateDicts, l2Distance, innerProduct, cloneStateDict } from './state.ts';
export { weightMatching, type WeightMatchingOptions, type WeightMatchingResult } from './weight-matching.ts';
export {
  layerSVDs,
  singularValues,
  maxAbsSpectrumDiff,
  alignmentR,
  weightMatrixKeys,
  type LayerSVD,
  type AlignmentResult,
  type AlignmentVariant,
} from './spectrum.ts';
export { barriers, linspace01, type Barriers } from './barrier.ts';
export { gptPermutationSpec, type GptSpecOptions } from './gpt-spec.ts';
export { vggSpec, resnet20Spec } from './cnn-spec.ts';
export {
  resetBatchNormStats,
  channelStats,
  repairLayers,
  repair,
  correctedLerp,
  correctedInterpolation,
  type StatsBatch,
  type ChannelStats,
  type RepairOptions,
  type StatsCorrection,
} from './bn-reset.ts';
export {
  evaluate,
  withWeights,
  toBatches,
  crossEntropySums,
  type Net,
  type Batch,
  type ArrayBatch,
  type BatchLike,
  type LabelledBatchLike,
  type Evaluation,
  type HookHandle,
} from './model.ts';
export { checkInvariance, assertInvariance, type InvarianceResult } from './invariance.ts';
export { interpolate, curveBarriers, type InterpolationCurve, type InterpolateOptions, type BarrierSet } from './interpolate.ts';
export {
  activationMatching,
  mlpFeatureSources,
  type FeatureSource,
  type HookableNet,
  type ActivationMatchingOptions,
  type ActivationMatchingResult,
} from './activation-matching.ts';
export { steMatching, type SteOptions, type SteResult } from './ste.ts';
export { mergeMany, type MergeManyOptions, type MergeManyResult } from './merge-many.ts';
export { matchWithinHeads, applyWithinHeads, type WithinHeadPerms } from './gpt-within-heads.ts';
