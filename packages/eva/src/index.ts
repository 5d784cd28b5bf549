export * from './config.ts';
export * from './peft-config.ts';
export * from './patterns.ts';
export * from './incremental-pca.ts';
export * from './rank-distribution.ts';
export * from './lora-linear.ts';
export * from './inits.ts';
export * from './apply-lora.ts';
export type { EvaStateDict, EvaBatch, PrepareLayerInputsFn, EvaOptions, EvaResult } from './eva/types.ts';
export { defaultPrepareModelInputs, defaultPrepareLayerInputs } from './eva/inputs.ts';
export { computeEva, getEvaStateDict } from './eva/compute.ts';
export { initializeLoraEvaWeights, checkEvaStateDict, type EvaInitResult } from './eva/load.ts';
export * from './peft-io.ts'; // the adapter files' contents; folders on disk: ./node.ts
