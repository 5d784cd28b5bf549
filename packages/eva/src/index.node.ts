// `@tsgrad/eva` in Node (the "node" export condition): everything, adapter folders included.
export * from './index.ts';
export * from './node.ts';
