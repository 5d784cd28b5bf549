/**
 * `pnpm example step`: times one training step (forward, cross-entropy, backward,
 * Adam update, zeroGrad) of the 784-512-512-10 ReLU MLP at batch 128 on random data,
 * after a warm-up, and prints the median and the fastest of `--steps N` (default 20).
 */
import { Tensor } from '@tsgrad/autograd';
import * as nd from '@tsgrad/tensor';
import { Adam, crossEntropy, MLP } from '@tsgrad/nn';

const at = process.argv.indexOf('--steps');
const steps = at >= 0 ? Number(process.argv[at + 1]) : 20;
const batch = 128;
const model = new MLP([784, 512, 512, 10], { seed: 0 });
const x = new Tensor(nd.rand([batch, 784], { seed: 1 }));
const y = new Tensor(nd.randint(0, 10, [batch], { seed: 2 }));
const opt = new Adam(model.parameters());
const step = () => {
  crossEntropy(model.call(x), y).backward();
  opt.step();
  opt.zeroGrad();
};
for (let i = 0; i < 5; i++) step();
const times: number[] = [];
for (let i = 0; i < steps; i++) {
  const t0 = performance.now();
  step();
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
const flops = 6 * batch * model.numParameters(); // forward 2, backward 4 flops per weight and example
console.log(
  `784-512-512-10 MLP, batch 128, backend ${nd.getBackend().name}: median ${times[steps >> 1]!.toFixed(1)} ms/step, ` +
    `fastest ${times[0]!.toFixed(1)} ms (${(flops / times[0]! / 1e6).toFixed(2)} GFLOP/s on the matmuls)`,
);
