// Re-exports only.
export { type Dataset, type BatchDataset, TensorDataset, takeRows } from './dataset.ts';
export { DataLoader, defaultCollate, epochSeed, type DataLoaderOptions, type DefaultBatch } from './dataloader.ts';
export { loadMnist, mnistDigits, MNIST_COUNTS, MNIST_PIXELS, type MnistOptions, type MnistSplit } from './mnist.ts';
export { loadCorpus, CORPORA, type CorpusName, type CorpusInfo } from './corpus.ts';
export { CharTokenizer, type CharTokenizerOptions, type UnknownCharPolicy } from './tokenizer.ts';
export { TextDataset, nextTokenBatches, splitTokens, type TokenPair } from './text-dataset.ts';
