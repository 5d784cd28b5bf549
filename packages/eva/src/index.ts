export * from './config.ts';
export * from './patterns.ts';
export * from './incremental-pca.ts';
export * from './rank-distribution.ts';
export * from './lora-linear.ts';
export * from './inits.ts';
export * from './apply-lora.ts';
export * from './eva.ts';
