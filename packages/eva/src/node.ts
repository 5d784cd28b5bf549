// `@tsgrad/eva/node`: adapters as folders on disk (re-exports only). In Node the main entry
// `@tsgrad/eva` exports these too (index.node.ts); a browser bundle gets index.ts without them.
export { saveAdapter, readAdapterConfig, loadAdapter } from './node/peft-files.ts';
