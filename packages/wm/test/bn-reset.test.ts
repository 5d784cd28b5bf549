/**
 * Statistics correction after interpolation: resetting BatchNorm statistics gives the plain
 * average of the per-batch statistics, restores everything else and survives failures; REPAIR
 * makes every repaired layer's channel statistics equal the interpolated targets.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { noGrad, Tensor } from '@tsgrad/autograd';
import { BatchNorm2d, Conv2d, Dropout, ResNet20, Sequential, VGG } from '@tsgrad/nn';
import { NDArray, Rng } from '@tsgrad/tensor';
import {
  channelStats,
  correctedInterpolation,
  correctedLerp,
  lerpStateDicts,
  repair,
  repairLayers,
  resetBatchNormStats,
  toBatches,
  type StateDict,
} from '../src/index.ts';
import { maxAbsDiff } from './helpers.ts';

function images(n: number, c: number, size: number, seed: number, shift = 0): NDArray {
  const rng = new Rng(seed);
  return NDArray.fromTyped(Float32Array.from({ length: n * c * size * size }, () => shift + rng.normal()), [n, c, size, size]);
}

const batches = [0, 1, 2].map((s) => images(4, 1, 6, s, 0.5 * s));

test('resetBatchNormStats: running stats become the average of per-batch mean and unbiased variance; the rest is restored', () => {
  const conv = new Conv2d(1, 3, 3, { seed: 0 });
  const net = new Sequential(conv, new BatchNorm2d(3, { momentum: 0.3 }), new Dropout(0.5, { seed: 0 }));
  const bn = net.get(1) as BatchNorm2d;
  bn.running_mean!.data.data.set([9, 9, 9]); // stale statistics
  net.eval();
  const weights = conv.weight.data.toFloat64Array();
  assert.is(resetBatchNormStats(net, batches), 1);
  const mean = [0, 0, 0];
  const variance = [0, 0, 0];
  for (const x of batches) {
    const y = noGrad(() => conv.call(new Tensor(x))).data.contiguous();
    const per = y.size / 3 / 4;
    for (let c = 0; c < 3; c++) {
      const v: number[] = [];
      for (let n = 0; n < 4; n++) for (let i = 0; i < per; i++) v.push(y.data[(n * 3 + c) * per + i]!);
      const m = v.reduce((a, b) => a + b) / v.length;
      mean[c]! += m / 3;
      variance[c]! += v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1) / 3;
    }
  }
  assert.ok(maxAbsDiff(bn.running_mean!.data, NDArray.fromTyped(Float64Array.from(mean), [3])) < 1e-5);
  assert.ok(maxAbsDiff(bn.running_var!.data, NDArray.fromTyped(Float64Array.from(variance), [3])) < 1e-5);
  assert.is(bn.num_batches_tracked!.data.data[0], 3);
  assert.is(bn.momentum, 0.3);
  assert.not.ok(net.training || bn.training || net.get(2).training);
  assert.equal(conv.weight.data.toFloat64Array(), weights);
  // the Dropout stayed in eval mode during the reset: resetting again gives the same numbers
  const first = bn.running_var!.data.toFloat64Array();
  resetBatchNormStats(net, batches);
  assert.equal(bn.running_var!.data.toFloat64Array(), first);
});

test('resetBatchNormStats: no batches or a failing forward leave the statistics as they were; no BatchNorm is 0', () => {
  const net = new Sequential(new Conv2d(1, 3, 3, { seed: 0 }), new BatchNorm2d(3));
  resetBatchNormStats(net, batches);
  const before = net.stateDict({ clone: true });
  assert.throws(() => resetBatchNormStats(net, []), /no batches/);
  assert.throws(() => resetBatchNormStats(net, [batches[0]!, images(2, 2, 6, 9)]), /Conv2d: expected input/);
  for (const [k, v] of Object.entries(net.stateDict())) assert.equal(v.toFloat64Array(), before[k]!.toFloat64Array(), k);
  assert.ok(net.training);
  assert.is(resetBatchNormStats(new VGG({ norm: 'layer', width: 0.25, seed: 0 }), batches), 0);
});

/** A second model: A's weights moved by noise, so A and B differ but are both sensible. */
function pair(make: () => VGG | ResNet20, seed: number): { net: VGG | ResNet20; a: StateDict; b: StateDict } {
  const net = make();
  resetBatchNormStats(net, batches);
  const a = net.stateDict({ clone: true });
  const rng = new Rng(seed);
  const b: StateDict = {};
  for (const [k, v] of Object.entries(a)) {
    b[k] = v.dtype === 'float32' ? NDArray.fromTyped(Float32Array.from(v.toFloat64Array(), (x) => x + 0.3 * rng.normal() * (Math.abs(x) + 0.05)), v.shape) : v;
  }
  return { net, a, b };
}

test('REPAIR: every repaired layer of the result has the interpolated channel statistics (VGG without norm, ResNet20 with BatchNorm and LayerNorm)', () => {
  const cases = [
    () => new VGG({ cfg: [1, 'M', 2, 4], norm: 'none', inChannels: 1, inputSize: 6, seed: 1 }),
    () => new ResNet20({ width: 0.25, blocksPerStage: 1, inChannels: 1, seed: 2 }),
    () => new ResNet20({ width: 0.25, blocksPerStage: 1, norm: 'layer', inChannels: 1, seed: 3 }),
  ];
  for (const make of cases) {
    const { net, a, b } = pair(make, 5);
    const layers = repairLayers(net);
    assert.ok(layers.length >= 3);
    const lambda = 0.4;
    const fixed = repair(net, a, b, lambda, batches);
    const sA = channelStats(net, layers, batches); // net still holds A: repair restored it
    assert.equal(net.stateDict()[Object.keys(a)[0]!]!.toFloat64Array(), a[Object.keys(a)[0]!]!.toFloat64Array());
    net.loadStateDict(b);
    const sB = channelStats(net, layers, batches);
    net.loadStateDict(fixed);
    const sFixed = channelStats(net, layers, batches);
    net.loadStateDict(lerpStateDicts(lambda, a, b));
    resetBatchNormStats(net, batches);
    const sPlain = channelStats(net, layers, batches);
    let plainGap = 0;
    for (const name of layers) {
      const t = (x: Float64Array, y: Float64Array) => NDArray.fromTyped(x.map((v, i) => (1 - lambda) * v + lambda * y[i]!), [x.length]);
      const f = sFixed.get(name)!;
      const meanGap = maxAbsDiff(NDArray.fromTyped(f.mean, [f.mean.length]), t(sA.get(name)!.mean, sB.get(name)!.mean));
      const stdGap = maxAbsDiff(NDArray.fromTyped(f.std, [f.std.length]), t(sA.get(name)!.std, sB.get(name)!.std));
      assert.ok(meanGap < 1e-4 && stdGap < 1e-4, `${net.constructor.name} ${name}: mean gap ${meanGap}, std gap ${stdGap}`);
      plainGap = Math.max(plainGap, maxAbsDiff(NDArray.fromTyped(sPlain.get(name)!.std, [f.std.length]), t(sA.get(name)!.std, sB.get(name)!.std)));
    }
    assert.ok(plainGap > 1e-2, `${net.constructor.name}: without REPAIR the statistics are off (${plainGap})`);
  }
});

test('correctedLerp and correctedInterpolation: reset equals resetting by hand; the net is restored; curve endpoints', () => {
  const { net, a, b } = pair(() => new VGG({ cfg: [1, 'M', 2], inChannels: 1, inputSize: 6, seed: 4 }), 6);
  const mid = correctedLerp(net, a, b, 0.5, batches, 'reset');
  const first = Object.keys(a)[0]!;
  assert.equal(net.stateDict()[first]!.toFloat64Array(), a[first]!.toFloat64Array());
  net.loadStateDict(lerpStateDicts(0.5, a, b));
  resetBatchNormStats(net, batches);
  for (const [k, v] of Object.entries(net.stateDict())) assert.equal(v.toFloat64Array(), mid[k]!.toFloat64Array(), k);
  assert.equal(correctedLerp(net, a, b, 0.5, batches, 'none')['features.1.running_var']!.toFloat64Array(), lerpStateDicts(0.5, a, b)['features.1.running_var']!.toFloat64Array());
  assert.throws(() => correctedLerp(net, a, b, 0.5, batches, 'other' as 'none'), /method must be/);

  const labels = NDArray.fromTyped(Int32Array.from({ length: 12 }, (_, i) => i % 10), [12], 'int32');
  const data = toBatches(NDArray.fromTyped(Float32Array.from(batches.flatMap((x) => Array.from(x.data))), [12, 1, 6, 6]), labels, 4);
  const curve = correctedInterpolation(net, a, b, { train: data, test: data, stats: batches, method: 'repair', lambdas: [0, 0.5, 1] });
  assert.is(curve.testLoss.length, 3);
  assert.ok(curve.testLoss.every(Number.isFinite));
  assert.ok(typeof curve.barrier.loss.test.maxMinusMean === 'number');
});

test.run();
