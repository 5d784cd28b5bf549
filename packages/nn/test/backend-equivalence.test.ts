/**
 * A whole training step on every backend against the `js` reference: MLP forward,
 * cross-entropy, backward and an AdamW update, repeated for a few steps from the same
 * weights and batches. Differences stay at float32 rounding level. The primitive-level
 * properties live in packages/tensor/test/conformance.test.ts; this checks that they
 * compose into the same training trajectory.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Tensor } from '@tsgrad/autograd';
import * as nd from '@tsgrad/tensor';
// registers 'gpu' (it registers itself only when imported), so the loop below covers it
import '@tsgrad/tensor/gpu';
import { AdamW, crossEntropy, MLP } from '../src/index.ts';

interface Trajectory {
  losses: number[];
  params: Float64Array[];
  grads: Float64Array[];
}

/** Three AdamW steps of an MLP on fixed random data, on the given backend. */
function train(backend: string, seed: number, sizes: number[], batch: number): Trajectory {
  return nd.withBackend(backend, () => {
    const model = new MLP(sizes, { activation: 'relu', seed });
    const opt = new AdamW(model.parameters(), { lr: 1e-2, weightDecay: 0.1 });
    const x = new Tensor(nd.randn([batch, sizes[0]!], { seed: seed + 1 }));
    const y = new Tensor(nd.randint(0, sizes[sizes.length - 1]!, [batch], { seed: seed + 2 }));
    const losses: number[] = [];
    let grads: Float64Array[] = [];
    for (let step = 0; step < 3; step++) {
      const loss = crossEntropy(model.call(x), y);
      losses.push(loss.item());
      loss.backward();
      grads = model.parameters().map((p) => p.grad!.data.toFloat64Array());
      opt.step();
      opt.zeroGrad();
    }
    return { losses, params: model.parameters().map((p) => p.data.toFloat64Array()), grads };
  });
}

function maxRelDiff(a: Float64Array, b: Float64Array): number {
  let scale = 1e-3;
  for (const v of a) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / scale);
  return worst;
}

const others = nd.listBackends().filter((b) => b !== 'fast');
let available: string[] = [];
for (const name of others) {
  try {
    nd.withBackend(name, () => nd.add(nd.ones([2]), 1).toArray());
    available.push(name);
  } catch (err) {
    console.log(`backend-equivalence: skipping '${name}': ${(err as Error).message}`);
  }
}
if (process.env.TSGRAD_EQUIVALENCE_BACKENDS) available = process.env.TSGRAD_EQUIVALENCE_BACKENDS.split(',');

for (const name of available) {
  test(`${name}: three AdamW steps of an MLP follow the js trajectory`, () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 24 }),
        fc.integer({ min: 2, max: 7 }),
        (seed, batch, hidden, classes) => {
          const sizes = [9, hidden, hidden, classes];
          const ref = train('fast', seed, sizes, batch);
          const got = train(name, seed, sizes, batch);
          got.losses.forEach((l, i) => assert.ok(Math.abs(l - ref.losses[i]!) <= 1e-4 * (1 + Math.abs(ref.losses[i]!)), `loss at step ${i}: ${l} vs ${ref.losses[i]}`));
          got.grads.forEach((g, i) => assert.ok(maxRelDiff(ref.grads[i]!, g) < 1e-4, `gradient of parameter ${i} differs by ${maxRelDiff(ref.grads[i]!, g)}`));
          got.params.forEach((p, i) => assert.ok(maxRelDiff(ref.params[i]!, p) < 1e-4, `parameter ${i} differs by ${maxRelDiff(ref.params[i]!, p)}`));
        },
      ),
      { numRuns: 8, seed: 7 },
    );
  });
}

test('the js backend reproduces its own trajectory exactly (determinism)', () => {
  const a = train('fast', 3, [9, 16, 16, 4], 8);
  const b = train('fast', 3, [9, 16, 16, 4], 8);
  assert.equal(a.losses, b.losses);
  a.params.forEach((p, i) => assert.equal(Array.from(p), Array.from(b.params[i]!)));
});

test.run();
