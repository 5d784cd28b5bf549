/**
 * Paired, in-process timing of float32 products with the worker pool (two threads, forced
 * on: no size threshold, no back-off) against one thread, alternating product by product so
 * both see the same machine. Prints, per size, the medians and the median of the per-pair
 * ratios (one-thread time / pooled time: above 1, the pool helps). Use it at a quiet moment
 * to place the pool's size threshold (`PARALLEL_MIN_FLOPS_WASM`); on a busy machine the
 * worker gets no core of its own and every ratio drops below 1.
 *
 * Usage: npx tsx bench/pool-threshold.ts [m,k,n ...]   (default: the products of the bench's steps)
 */
import { matmul, matmulPoolOptions, matmulPoolReady, randn, setMatmulThreads, shutdownMatmulPool } from '@tsgrad/tensor';
import { median } from './lib/timing.ts';

const given = process.argv.slice(2).map((s) => s.split(',').map(Number) as [number, number, number]);
const sizes: [number, number, number][] =
  given.length > 0 ? given : [[256, 256, 256], [128, 784, 512], [128, 512, 784], [1024, 128, 512], [1024, 512, 128], [512, 512, 512], [1024, 1024, 1024]];

setMatmulThreads(2);
matmulPoolOptions.adaptive = false;
matmulPoolOptions.minFlopsWasm = 0;
if (!(await matmulPoolReady())) throw new Error('pool-threshold: the worker did not start');
for (const [m, k, n] of sizes) {
  const a = randn([m, k], { seed: 1 });
  const b = randn([k, n], { seed: 2 });
  const run = (threads: number) => {
    setMatmulThreads(threads);
    const t = performance.now();
    matmul(a, b);
    return performance.now() - t;
  };
  for (let i = 0; i < 3; i++) {
    run(2);
    run(1);
  }
  const reps = m * k * n > 5e8 ? 7 : 31;
  const two: number[] = [], one: number[] = [], ratio: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t2 = run(2);
    const t1 = run(1);
    two.push(t2);
    one.push(t1);
    ratio.push(t1 / t2);
  }
  const mflop = (2 * m * k * n) / 1e6;
  console.log(`${m}x${k}x${n} (${mflop.toFixed(0)} MFLOP): 2 threads ${median(two).toFixed(2)} ms, 1 thread ${median(one).toFixed(2)} ms, 1-thread/2-thread median ${median(ratio).toFixed(2)} (${Math.min(...ratio).toFixed(2)}-${Math.max(...ratio).toFixed(2)})`);
}
shutdownMatmulPool();
