import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MLP } from '@tsgrad/nn';
import { NDArray, Rng } from '@tsgrad/tensor';
import { applyPermutation, checkInvariance, mlpPermutationSpec, steMatching, toBatches, type Permutation } from '../src/index.ts';
import { randomInput } from './helpers.ts';

test('STE onStep reports each step\'s projected permutation: valid, and the last one is lastPerm', () => {
  const net = new MLP([6, 8, 8, 3], { seed: 5 });
  const a = net.stateDict({ clone: true });
  const b = new MLP([6, 8, 8, 3], { seed: 6 }).stateDict();
  const spec = mlpPermutationSpec(net);
  const rng = new Rng(7);
  const y = NDArray.fromTyped(Int32Array.from({ length: 64 }, () => rng.int(0, 3)), [64], 'int32');
  const seen: Permutation[] = [];
  const res = steMatching(spec, net, a, b, toBatches(randomInput(64, 6, 7), y, 16), {
    epochs: 2,
    lr: 1e-2,
    seed: 1,
    onStep: (s) => seen.push(Object.fromEntries(Object.entries(s.perm).map(([k, v]) => [k, v.slice()]))),
  });
  assert.is(seen.length, res.steps);
  for (const [k, v] of Object.entries(res.lastPerm)) assert.equal(Array.from(seen.at(-1)![k]!), Array.from(v));
  const bNet = new MLP([6, 8, 8, 3], { seed: 6 });
  for (const p of seen) {
    for (const v of Object.values(p)) assert.equal([...v].sort((x, z) => x - z), Array.from({ length: v.length }, (_, i) => i));
    assert.ok(checkInvariance(bNet, applyPermutation(spec, p, b), randomInput(5, 6, 1)).ok);
  }
});

test.run();
