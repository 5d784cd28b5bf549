// `@tsgrad/nn` in Node (the "node" export condition): everything, file I/O included.
export * from './index.ts';
export * from './node.ts';
