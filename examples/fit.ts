/**
 * `pnpm example fit`: the smallest end-to-end use of autograd — a 1-32-1 tanh network
 * fitted to sin(3x) with hand-written gradient descent, no nn package involved.
 */
import { randn, tensor, noGrad, type Tensor } from '@tsgrad/autograd';

/** Fits y = sin(3x) with a 1-32-1 tanh network by plain gradient descent. */
function demo(): void {
  const n = 128;
  const xs = Array.from({ length: n }, (_, i) => -1 + (2 * i) / (n - 1));
  const x = tensor(xs.map((v) => [v]));
  const y = tensor(xs.map((v) => [Math.sin(3 * v)]));
  const params = {
    w1: randn([1, 32], { seed: 1, std: 1, requiresGrad: true }),
    b1: randn([32], { seed: 2, std: 0.1, requiresGrad: true }),
    w2: randn([32, 1], { seed: 3, std: 0.2, requiresGrad: true }),
    b2: randn([1], { seed: 4, std: 0.1, requiresGrad: true }),
  };
  const forward = (inp: Tensor) => inp.matmul(params.w1).add(params.b1).tanh().matmul(params.w2).add(params.b2);
  const lr = 0.1;
  const started = Date.now();
  for (let step = 0; step <= 2000; step++) {
    const loss = forward(x).sub(y).pow(2).mean();
    for (const p of Object.values(params)) p.grad = null;
    loss.backward();
    noGrad(() => {
      for (const p of Object.values(params)) p.data = p.sub(p.grad!.mul(lr)).data;
    });
    if (step % 250 === 0) console.log(`step ${String(step).padStart(4)}  mse ${loss.item().toFixed(5)}`);
  }
  console.log(`fitted sin(3x) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

demo();
