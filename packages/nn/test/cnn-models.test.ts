/**
 * VGG and ResNet20: output shapes on MNIST- and CIFAR-sized input, state-dict names and shapes
 * as the equivalent PyTorch modules would have them, parameter counts, gradients through a
 * whole (tiny) model, and one short training run that must lower the loss.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { noGrad, Tensor } from '@tsgrad/autograd';
import * as nd from '@tsgrad/tensor';
import { Adam, BasicBlock, crossEntropy, ResNet20, VGG } from '../src/index.ts';
import { checkModule, randn64 } from './nn-helpers.ts';

const bnKeys = (p: string) => ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'].map((k) => `${p}.${k}`);

test('VGG-11: shapes on 1x28x28 and 3x32x32, torchvision-style keys, the fifth pool left out on 28x28', () => {
  const mnist = new VGG({ inChannels: 1, inputSize: 28, norm: 'batch', seed: 0 });
  assert.equal(mnist.widths, [16, 32, 64, 64, 128, 128, 128, 128]);
  assert.equal(noGrad(() => mnist.call(new Tensor(nd.randn([2, 1, 28, 28], { seed: 1 })))).shape, [2, 10]);
  // conv, bn, relu (+ pool) per layer: torchvision's make_layers numbering
  const convIdx = [0, 4, 8, 11, 15, 18, 22, 25];
  const expected: string[] = [];
  for (const i of convIdx) expected.push(`features.${i}.weight`, `features.${i}.bias`, ...bnKeys(`features.${i + 1}`));
  expected.push('classifier.weight', 'classifier.bias');
  assert.equal(Object.keys(mnist.stateDict()), expected);
  assert.equal([...mnist.stateDict()['features.4.weight']!.shape], [32, 16, 3, 3]);
  assert.equal([...mnist.stateDict()['classifier.weight']!.shape], [10, 128]);
  const pools = mnist.features.toString().match(/MaxPool2d/g)!.length;
  assert.is(pools, 4);

  const cifar = new VGG({ norm: 'none', width: 0.5, seed: 0 });
  assert.equal(noGrad(() => cifar.call(new Tensor(nd.randn([2, 3, 32, 32], { seed: 1 })))).shape, [2, 10]);
  assert.is(cifar.features.toString().match(/MaxPool2d/g)!.length, 5);
  assert.equal(Object.keys(cifar.stateDict()).slice(0, 4), ['features.0.weight', 'features.0.bias', 'features.3.weight', 'features.3.bias']);
  const ln = new VGG({ norm: 'layer', width: 0.25, seed: 0 });
  assert.equal(Object.keys(ln.stateDict()).slice(0, 4), ['features.0.weight', 'features.0.bias', 'features.1.weight', 'features.1.bias']);
  assert.throws(() => new VGG({ norm: 'group' as 'none' }), /norm must be 'batch', 'layer' or 'none'/);
  // torchvision widths with baseWidth 64: 9.2M parameters in the convolutions
  const full = new VGG({ baseWidth: 64, norm: 'none', seed: 0 });
  assert.is(full.widths.join(), '64,128,256,256,512,512,512,512');
});

test('ResNet20: 272,474 parameters at width 1 (269,722 + two projections), torchvision-style keys, shapes', () => {
  const net = new ResNet20({ seed: 0 });
  assert.is(net.numParameters(), 272474);
  const sd = net.stateDict();
  const keys = Object.keys(sd);
  const expected = ['conv1.weight', ...bnKeys('bn1')];
  for (let s = 1; s <= 3; s++)
    for (let b = 0; b < 3; b++) {
      const p = `layer${s}.${b}`;
      expected.push(`${p}.conv1.weight`, ...bnKeys(`${p}.bn1`), `${p}.conv2.weight`, ...bnKeys(`${p}.bn2`));
      if (s > 1 && b === 0) expected.push(`${p}.downsample.0.weight`, ...bnKeys(`${p}.downsample.1`));
    }
  expected.push('fc.weight', 'fc.bias');
  assert.equal(keys, expected);
  assert.equal([...sd['layer2.0.conv1.weight']!.shape], [32, 16, 3, 3]);
  assert.equal([...sd['layer3.0.downsample.0.weight']!.shape], [64, 32, 1, 1]);
  assert.equal(noGrad(() => net.call(new Tensor(nd.randn([2, 3, 32, 32], { seed: 1 })))).shape, [2, 10]);

  const mnist = new ResNet20({ width: 2, norm: 'layer', inChannels: 1, seed: 0 });
  assert.equal(mnist.widths, [32, 64, 128]);
  assert.equal(noGrad(() => mnist.call(new Tensor(nd.randn([2, 1, 28, 28], { seed: 1 })))).shape, [2, 10]);
  assert.equal(Object.keys(mnist.stateDict()).slice(0, 3), ['conv1.weight', 'bn1.weight', 'bn1.bias']);
  assert.not.ok(Object.keys(mnist.stateDict()).some((k) => k.includes('running')));
});

test('tiny VGG and residual blocks: float64 gradients through whole models (train-mode BatchNorm, LayerNorm2d)', () => {
  const vgg = (norm: 'batch' | 'layer') => new VGG({ cfg: [1, 'M', 2], baseWidth: 3, inChannels: 1, inputSize: 6, norm, numClasses: 3, seed: 0, dtype: 'float64' });
  checkModule(vgg('batch'), [randn64([2, 1, 6, 6], 1)]);
  checkModule(vgg('layer'), [randn64([2, 1, 6, 6], 1)]);
  // a projecting block (stride 2, 3 -> 4 channels) and an identity block
  checkModule(new BasicBlock(3, 4, 2, { norm: 'layer', seed: 0, dtype: 'float64' }), [randn64([2, 3, 4, 4], 2)]);
  checkModule(new BasicBlock(3, 3, 1, { norm: 'batch', seed: 0, dtype: 'float64' }), [randn64([2, 3, 3, 3], 3)]);
});

test('a few Adam steps on a fixed batch lower the loss of both models', () => {
  const x = new Tensor(nd.randn([16, 1, 12, 12], { seed: 5 }));
  const y = new Tensor(nd.NDArray.fromTyped(Int32Array.from({ length: 16 }, (_, i) => i % 4), [16]));
  for (const model of [new VGG({ cfg: [1, 'M', 2, 'M'], inChannels: 1, inputSize: 12, numClasses: 4, seed: 0 }), new ResNet20({ width: 0.25, blocksPerStage: 1, inChannels: 1, numClasses: 4, seed: 0 })]) {
    const opt = new Adam(model.parameters(), { lr: 1e-2 });
    const losses: number[] = [];
    for (let step = 0; step < 15; step++) {
      const loss = crossEntropy(model.call(x), y);
      losses.push(loss.item());
      loss.backward();
      opt.step();
      opt.zeroGrad();
    }
    assert.ok(losses[14]! < 0.5 * losses[0]!, `${model.constructor.name}: ${losses[0]} -> ${losses[14]}`);
  }
});

test.run();
