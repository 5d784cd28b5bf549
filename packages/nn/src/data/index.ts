// Re-exports only.
export { type Dataset, type BatchDataset, TensorDataset, InputTargetDataset, takeRows } from './dataset.ts';
export {
  toBatch,
  asBatches,
  checkedBatches,
  toBatches,
  batchArray,
  batchTensor,
  describeValue,
  type Batch,
  type ArrayBatch,
  type BatchValue,
  type BatchLike,
  type LabelledBatch,
  type LabelledBatchLike,
} from './batch.ts';
export { DataLoader, defaultCollate, epochSeed, type DataLoaderOptions, type DefaultBatch } from './dataloader.ts';
export { splitMnist, parseMnistDigit, MNIST_COUNTS, MNIST_PIXELS, type MnistOptions, type MnistSplit, type MnistDatasetInfo } from './mnist.ts';
export { splitMnistOfficial, parseMnistOfficial, MNIST_OFFICIAL_SIZES, type MnistOfficialSplitOptions, type MnistOfficialFiles, type MnistOfficialReader, type MnistOfficialFileName, type MnistRawSet } from './mnist-official.ts';
export { parseIdx, parseIdxImages, parseIdxLabels, IdxError, IDX_LABELS_MAGIC, IDX_IMAGES_MAGIC, type IdxArray } from './idx.ts';
export { corpusText, CORPORA, type CorpusName, type CorpusInfo } from './corpus.ts';
export { CharTokenizer, type CharTokenizerOptions, type UnknownCharPolicy } from './tokenizer.ts';
export { TextDataset, nextTokenBatches, splitTokens, type TokenPair } from './text-dataset.ts';
