// `@tsgrad/nn/node`: what needs Node's file system (re-exports only). In Node the main entry
// `@tsgrad/nn` exports these too (index.node.ts); a browser bundle gets index.ts without them.
export { saveSafetensors, loadSafetensors, inspectSafetensors } from './node/safetensors-file.ts';
export { loadMnist, mnistDigits } from './node/mnist.ts';
export { loadMnistOfficial, mnistOfficialRaw, type MnistOfficialOptions } from './node/mnist-official.ts';
export { loadCorpus } from './node/corpus.ts';
