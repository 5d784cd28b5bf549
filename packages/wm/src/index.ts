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
} from './spectrum.ts';
export { barriers, linspace01, type Barriers } from './barrier.ts';
