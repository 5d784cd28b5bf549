export {
  linearSumAssignment,
  type CostMatrix,
  type DenseMatrix,
  type Duals,
  type LinearSumAssignmentOptions,
  type LinearSumAssignmentResult,
  type MatrixLike,
} from './lap.ts';
