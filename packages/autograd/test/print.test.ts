/** Printing a Tensor and reading its values (issue 11 item 4). */
import { inspect } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { noGrad, tensor } from '../src/index.ts';

test('String(t) and console.log(t) show values, dtype, shape and the autograd state', () => {
  const w = tensor([[1, 2], [3, 4]], { requiresGrad: true });
  assert.is(String(w), 'Tensor([[1., 2.],\n        [3., 4.]], dtype=float32, shape=[2, 2], requiresGrad=true)');
  const y = w.mul(0.5).sum();
  assert.is(String(y), 'Tensor(5., dtype=float32, shape=[], gradFn=<sum>)');
  assert.is(inspect(y), String(y));
  assert.is(String(noGrad(() => w.mul(2))), 'Tensor([[2., 4.],\n        [6., 8.]], dtype=float32, shape=[2, 2])');
  y.backward();
  assert.is(String(w.grad), 'Tensor([[0.5000, 0.5000],\n        [0.5000, 0.5000]], dtype=float32, shape=[2, 2])');
});

test('toArray / tolist take the nested type; item() works on one element only', () => {
  const t = tensor([[1, 2], [3, 4]], { dtype: 'float64' });
  const v: number = t.toArray<number[][]>()[0]![1]!;
  assert.is(v, 2);
  assert.equal(t.tolist<number[][]>(), [[1, 2], [3, 4]]);
  assert.is(t.sum().item(), 10);
  assert.is(t.sum().tolist<number>(), 10);
  assert.throws(() => t.item(), /item: tensor of shape \[2, 2\] has 4 elements, not 1/);
});

test.run();
