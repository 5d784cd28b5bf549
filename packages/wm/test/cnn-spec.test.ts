/**
 * The VGG and ResNet20 specs: random permutations leave the outputs unchanged (eval mode, with
 * non-trivial BatchNorm statistics so a forgotten buffer would show), broken specs are caught,
 * and weight matching recovers a planted permutation exactly on both models.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { noGrad, Tensor } from '@tsgrad/autograd';
import { BatchNormBase, ResNet20, VGG, type Module } from '@tsgrad/nn';
import { NDArray, Rng } from '@tsgrad/tensor';
import {
  applyPermutation,
  checkInvariance,
  invertPermutation,
  l2Distance,
  permutationSpec,
  randomPermutation,
  resnet20Spec,
  vggSpec,
  weightMatching,
  type AxisPerm,
  type PermutationSpec,
  type StateDict,
} from '../src/index.ts';

/**
 * Random norm weights and biases, then running statistics measured on `input` (so eval-mode
 * BatchNorm really normalises and every layer's permutation shows in the output).
 */
function scrambleNorms(net: Module, seed: number, input: NDArray): StateDict {
  const rng = new Rng(seed);
  const sd = net.stateDict({ clone: true });
  for (const [k, v] of Object.entries(sd)) {
    if (v.ndim !== 1 || k.includes('running') || k.startsWith('classifier') || k.startsWith('fc')) continue;
    const draw = k.endsWith('weight') ? () => 1 + 0.5 * rng.normal() : () => 0.2 * rng.normal();
    sd[k] = NDArray.fromTyped(Float32Array.from({ length: v.size }, draw), v.shape);
  }
  net.loadStateDict(sd);
  for (const m of net.modules()) {
    if (m instanceof BatchNormBase) {
      m.momentum = null;
      m.resetRunningStats();
    }
  }
  noGrad(() => net.train().call(new Tensor(input)));
  for (const m of net.modules()) if (m instanceof BatchNormBase) m.momentum = 0.1;
  return net.stateDict({ clone: true });
}

function images(n: number, c: number, size: number, seed: number): NDArray {
  const rng = new Rng(seed);
  return NDArray.fromTyped(Float32Array.from({ length: n * c * size * size }, () => rng.normal()), [n, c, size, size]);
}

const models: [string, () => Module, () => NDArray][] = [
  ['VGG batch', () => new VGG({ width: 0.5, inChannels: 1, inputSize: 12, norm: 'batch', seed: 1 }), () => images(3, 1, 12, 0)],
  ['VGG layer', () => new VGG({ cfg: [1, 'M', 2, 2, 'M', 4], width: 0.5, norm: 'layer', seed: 2 }), () => images(3, 3, 8, 1)],
  ['VGG none', () => new VGG({ cfg: [1, 'M', 2, 'M', 4], norm: 'none', inChannels: 1, inputSize: 8, seed: 3 }), () => images(3, 1, 8, 2)],
  ['ResNet20 batch', () => new ResNet20({ width: 0.5, inChannels: 1, seed: 4 }), () => images(3, 1, 8, 3)],
  ['ResNet20 layer', () => new ResNet20({ width: 0.5, norm: 'layer', blocksPerStage: 2, seed: 5 }), () => images(2, 3, 8, 4)],
];
const specOf = (name: string, net: Module): PermutationSpec => (name.startsWith('VGG') ? vggSpec(net) : resnet20Spec(net));

test('spec layout: VGG-11 has one permutation per conv; ResNet20 one per stage plus one per block', () => {
  const vgg = new VGG({ inChannels: 1, inputSize: 28, seed: 0 });
  const v = vggSpec(vgg);
  assert.equal(Object.keys(v.permToAxes), [0, 4, 8, 11, 15, 18, 22, 25].map((i) => `P_features.${i}`));
  assert.equal(v.axesToPerm['features.4.weight'], ['P_features.4', 'P_features.0', null, null]);
  assert.equal(v.axesToPerm['features.5.running_var'], ['P_features.4']);
  assert.equal(v.axesToPerm['classifier.weight'], [null, 'P_features.25']);
  assert.is(v.axesToPerm['features.1.num_batches_tracked'], undefined);

  const r = resnet20Spec(new ResNet20({ seed: 0 }));
  const ids = Object.keys(r.permToAxes).sort();
  assert.equal(ids, ['P_layer1', 'P_layer1.0', 'P_layer1.1', 'P_layer1.2', 'P_layer2', 'P_layer2.0', 'P_layer2.1', 'P_layer2.2', 'P_layer3', 'P_layer3.0', 'P_layer3.1', 'P_layer3.2']);
  assert.equal(r.axesToPerm['layer2.0.conv1.weight'], ['P_layer2.0', 'P_layer1', null, null]);
  assert.equal(r.axesToPerm['layer2.0.downsample.0.weight'], ['P_layer2', 'P_layer1', null, null]);
  assert.equal(r.axesToPerm['layer2.2.bn2.running_mean'], ['P_layer2']);
  assert.equal(r.axesToPerm['bn1.bias'], ['P_layer1']);
  assert.equal(r.axesToPerm['fc.weight'], [null, 'P_layer3']);
  // the residual stream of stage 2: both convs' outputs of every block and the projection
  assert.is(r.permToAxes['P_layer2']!.filter((a) => a.axis === 0 && a.key.endsWith('.weight') && a.key.includes('conv2')).length, 3);
});

test('invariance: random permutations of every spec leave eval-mode outputs unchanged (5 models x 4 seeds)', () => {
  for (const [name, make, input] of models) {
    const net = make();
    const sd = scrambleNorms(net, 7, input());
    const spec = specOf(name, net);
    for (let seed = 0; seed < 4; seed++) {
      const r = checkInvariance(net, applyPermutation(spec, randomPermutation(spec, sd, seed), sd), input());
      assert.ok(r.ok, `${name} seed ${seed}: outputs moved by ${r.maxAbsDiff} (scale ${r.scale})`);
    }
    assert.ok(net.training, 'checkInvariance restores training mode');
  }
});

/** A copy of `spec` with some entries replaced (null removes the key). */
function edit(spec: PermutationSpec, changes: Record<string, AxisPerm[] | null>): PermutationSpec {
  const axes: Record<string, AxisPerm[]> = {};
  for (const [k, v] of Object.entries(spec.axesToPerm)) if (changes[k] !== null) axes[k] = changes[k] ?? [...v];
  return permutationSpec(axes);
}

test('broken specs are caught by the invariance check: a forgotten running_var, an unshared shortcut', () => {
  const vgg = new VGG({ width: 0.5, inChannels: 1, inputSize: 12, seed: 1 });
  const sd = scrambleNorms(vgg, 8, images(3, 1, 12, 0));
  const bad = edit(vggSpec(vgg), { 'features.5.running_var': null });
  const r1 = checkInvariance(vgg, applyPermutation(bad, randomPermutation(bad, sd, 0), sd), images(3, 1, 12, 0));
  assert.not.ok(r1.ok);

  const res = new ResNet20({ width: 0.5, inChannels: 1, seed: 4 });
  const rsd = scrambleNorms(res, 9, images(3, 1, 8, 3));
  const spec = resnet20Spec(res);
  const own: Record<string, AxisPerm[]> = { 'layer2.0.downsample.0.weight': ['P_own', 'P_layer1', null, null] };
  for (const e of ['weight', 'bias', 'running_mean', 'running_var']) own[`layer2.0.downsample.1.${e}`] = ['P_own'];
  const unshared = edit(spec, own);
  assert.not.ok(checkInvariance(res, applyPermutation(unshared, randomPermutation(unshared, rsd, 0), rsd), images(3, 1, 8, 3)).ok);
});

test('weight matching recovers a planted permutation exactly on VGG and ResNet20', () => {
  for (const [name, make, input] of [models[0]!, models[3]!, models[4]!]) {
    const net = make();
    const a = scrambleNorms(net, 11, input());
    const spec = specOf(name, net);
    const planted = randomPermutation(spec, a, 12);
    const b = applyPermutation(spec, planted, a);
    assert.ok(l2Distance(a, b) > 1, `${name}: the planted permutation moves the weights`);
    const res = weightMatching(spec, a, b, { seed: 0 });
    const want = invertPermutation(planted);
    for (const id of Object.keys(want)) assert.equal(Array.from(res.perm[id]!), Array.from(want[id]!), `${name} ${id}`);
    assert.is(l2Distance(a, applyPermutation(spec, res.perm, b)), 0);
  }
});

test('specs reject state dicts they do not describe, naming the keys', () => {
  const res = new ResNet20({ width: 0.25, seed: 0 });
  assert.throws(() => vggSpec(res), /vggSpec: found no convolution/);
  assert.throws(() => resnet20Spec(new VGG({ width: 0.25, seed: 0 })), /resnet20Spec: expected 'conv1.weight'/);
  const sd = { ...res.stateDict(), 'extra.weight': NDArray.fromTyped(new Float32Array(2), [2]) };
  assert.throws(() => resnet20Spec(sd), /resnet20Spec: parameters the spec does not know: extra.weight/);
});

test.run();
