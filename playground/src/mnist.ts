/**
 * The MNIST subset the page trains on: the build (../build.ts) takes a seeded, stratified
 * split from @tsgrad/nn's `loadMnist` in Node and writes the pixels as bytes, so the page
 * fetches ~2 MB instead of the `mnist` package's 40 MB of JSON.
 */
import { NDArray, Rng } from '@tsgrad/tensor';
import { Tensor } from '@tsgrad/autograd';
import { MLP, Adam, crossEntropy, accuracy } from '@tsgrad/nn';
import { noGrad } from '@tsgrad/autograd';

export interface Split {
  images: NDArray; // float32 [N, 784] in [0, 1]
  labels: NDArray; // int32 [N]
}

export interface MnistSubset {
  train: Split;
  test: Split;
}

/** Layout of data/mnist-subset.bin: train pixels, test pixels, train labels, test labels (bytes). */
export interface MnistMeta {
  train: number;
  test: number;
  seed: number;
}

export function decodeSubset(meta: MnistMeta, bytes: Uint8Array): MnistSubset {
  const px = 784;
  const expected = (meta.train + meta.test) * (px + 1);
  if (bytes.length !== expected) throw new Error(`mnist subset: expected ${expected} bytes for ${meta.train} + ${meta.test} digits, got ${bytes.length}`);
  const split = (n: number, pixelStart: number, labelStart: number): Split => ({
    images: NDArray.fromTyped(Float32Array.from(bytes.subarray(pixelStart, pixelStart + n * px), (v) => v / 255), [n, px], 'float32'),
    labels: NDArray.fromTyped(Int32Array.from(bytes.subarray(labelStart, labelStart + n)), [n], 'int32'),
  });
  const testPixels = meta.train * px;
  const labels = (meta.train + meta.test) * px;
  return { train: split(meta.train, 0, labels), test: split(meta.test, testPixels, labels + meta.train) };
}

let loading: Promise<MnistSubset> | undefined;

/** Fetches the subset once per page. */
export function loadSubset(): Promise<MnistSubset> {
  loading ??= (async () => {
    const meta = (await (await fetch('data/mnist-subset.json')).json()) as MnistMeta;
    const bytes = new Uint8Array(await (await fetch('data/mnist-subset.bin')).arrayBuffer());
    return decodeSubset(meta, bytes);
  })();
  return loading;
}

/** Rows `ids` of a split, as one batch. */
export function batchOf(split: Split, ids: Int32Array): { x: Tensor; y: NDArray } {
  const src = split.images.toTyped() as Float32Array;
  const lab = split.labels.toTyped() as Int32Array;
  const x = new Float32Array(ids.length * 784);
  const y = new Int32Array(ids.length);
  ids.forEach((id, r) => {
    x.set(src.subarray(id * 784, (id + 1) * 784), r * 784);
    y[r] = lab[id]!;
  });
  return { x: new Tensor(NDArray.fromTyped(x, [ids.length, 784], 'float32')), y: NDArray.fromTyped(y, [ids.length], 'int32') };
}

/** An MLP with its optimiser and a seeded stream of shuffled minibatches. */
export class Trainer {
  readonly model: MLP;
  readonly opt: Adam;
  private readonly rng: Rng;
  private order: Int32Array = new Int32Array(0);
  private cursor = 0;
  step = 0;

  constructor(
    readonly data: MnistSubset,
    readonly opts: { hidden: number[]; lr: number; batchSize: number; seed: number },
  ) {
    this.model = new MLP([784, ...opts.hidden, 10], { seed: opts.seed });
    this.opt = new Adam(this.model.parameters(), { lr: opts.lr });
    this.rng = new Rng(opts.seed + 1000);
  }

  /** One SGD step on the next minibatch; returns its loss and accuracy. */
  trainStep(): { loss: number; acc: number } {
    const n = this.data.train.labels.shape[0]!;
    if (this.cursor + this.opts.batchSize > this.order.length) {
      this.order = this.rng.permutation(n);
      this.cursor = 0;
    }
    const { x, y } = batchOf(this.data.train, this.order.subarray(this.cursor, this.cursor + this.opts.batchSize));
    this.cursor += this.opts.batchSize;
    const logits = this.model.call(x);
    const loss = crossEntropy(logits, y);
    this.opt.zeroGrad();
    loss.backward();
    this.opt.step();
    this.step++;
    return { loss: loss.item(), acc: accuracy(logits.detach(), y) };
  }

  /** Loss and accuracy on the held-out digits. */
  evaluate(split: Split = this.data.test): { loss: number; acc: number } {
    return noGrad(() => {
      const logits = this.model.call(new Tensor(split.images));
      return { loss: crossEntropy(logits, split.labels).item(), acc: accuracy(logits, split.labels) };
    });
  }
}
