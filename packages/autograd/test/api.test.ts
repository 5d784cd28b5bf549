/**
 * The functional API (grad, valueAndGrad, gradients) and the public Tensor surface:
 * creation options, reading values, and that transformations leave inputs alone.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  arange,
  constant,
  eye,
  full,
  grad,
  gradients,
  ones,
  rand,
  randn,
  Tensor,
  tensor,
  valueAndGrad,
  zeros,
  zerosLike,
} from '../src/index.ts';
import { f64, maxAbsDiff, params, valuesArb } from './arbitraries.ts';

const values = (t: Tensor): number[] => [...t.data.toFloat64Array()];

test('grad(f) returns a Tensor for one input and an array for several', () => {
  const g1 = grad((x: Tensor) => x.pow(3).sum())(f64([2], [1], false));
  assert.instance(g1, Tensor);
  assert.equal(values(g1), [12]);
  const g2 = grad((x: Tensor, y: Tensor) => x.mul(y).sum())(f64([2, 3], [2], false), f64([5, 7], [2], false));
  assert.ok(Array.isArray(g2));
  const [gx, gy] = g2 as Tensor[];
  assert.equal(values(gx!), [5, 7]);
  assert.equal(values(gy!), [2, 3]);
});

test('grad(f) does not touch .grad or requiresGrad of its inputs', () => {
  const x = f64([1, 2], [2], false);
  const w = f64([3, 4], [2]); // a leaf that requires grad already
  const before = values(x);
  const [gx, gw] = grad((a: Tensor, b: Tensor) => a.mul(b).exp().sum())(x, w) as Tensor[];
  assert.is(x.grad, null);
  assert.is(w.grad, null);
  assert.is(x.requiresGrad, false);
  assert.is(w.requiresGrad, true);
  assert.equal(values(x), before);
  assert.ok(maxAbsDiff(values(gx!), [3 * Math.exp(3), 4 * Math.exp(8)]) < 1e-9);
  assert.ok(maxAbsDiff(values(gw!), [1 * Math.exp(3), 2 * Math.exp(8)]) < 1e-9);
});

test('valueAndGrad returns the value and one gradient per input', () => {
  const f = (x: Tensor, y: Tensor) => x.mul(x).add(y.mul(3)).sum();
  const [value, [gx, gy]] = valueAndGrad(f)(f64([1, 2], [2], false), f64([4], [1], false));
  assert.is(value.item(), 1 + 4 + 12 * 2);
  assert.is(value.requiresGrad, false, 'the value of a non-nested call is detached');
  assert.equal(values(gx!), [2, 4]);
  // y broadcast over two elements: gradient 3 * 2
  assert.equal(values(gy!), [6]);
});

test('grad/valueAndGrad agree with backward() on random inputs', () => {
  fc.assert(
    fc.property(valuesArb(4, -2, 2), valuesArb(4, -2, 2), (av, bv) => {
      const f = (a: Tensor, b: Tensor) => a.reshape([2, 2]).matmul(b.reshape([2, 2])).tanh().sum();
      const [ga, gb] = grad(f)(f64(av, [4], false), f64(bv, [4], false)) as Tensor[];
      const a = f64(av, [4]);
      const b = f64(bv, [4]);
      f(a, b).backward();
      assert.equal(values(ga!), values(a.grad!));
      assert.equal(values(gb!), values(b.grad!));
      return true;
    }),
    params(20),
  );
});

test('grad requires a scalar output', () => {
  assert.throws(() => grad((x: Tensor) => x.mul(2))(f64([1, 2], [2], false)), /scalar.*\[2\]/);
});

test('unused inputs get zero gradients from grad and gradients', () => {
  const [gx, gy, gz] = grad((x: Tensor, _y: Tensor, z: Tensor) => x.sum().add(z.mul(0).sum()))(
    f64([1, 2], [2], false),
    f64([3, 4, 5], [3], false),
    f64([6], [1], false),
  ) as Tensor[];
  assert.equal(values(gx!), [1, 1]);
  assert.equal(values(gy!), [0, 0, 0]);
  assert.equal(gy!.shape, [3]);
  assert.equal(values(gz!), [0]);
  // an output that depends on no input at all
  const gc = grad((_x: Tensor) => f64([7], [1], false).sum())(f64([1, 2], [2], false));
  assert.equal(values(gc), [0, 0]);
  const a = f64([1], [1]);
  const b = f64([2, 3], [2]);
  const [ga, gb] = gradients(a.mul(2).sum(), [a, b]);
  assert.equal(values(ga!), [2]);
  assert.equal(values(gb!), [0, 0]);
  assert.is(gb!.dtype, 'float64');
  // output that does not require grad: all zeros
  const [gn] = gradients(f64([1], [1], false).sum(), [a]);
  assert.equal(values(gn!), [0]);
});

test('gradients with gradOutput is the vector-Jacobian product', () => {
  const x = f64([1, 2, 3], [3]);
  const [g] = gradients(x.pow(2), [x], { gradOutput: f64([1, 0, -1], [3], false) });
  assert.equal(values(g!), [2, 0, -6]);
  assert.is(x.grad, null);
});

test('gradients with retainGraph can be called twice on one graph', () => {
  const x = f64([1, 2], [2]);
  const y = x.exp().sum();
  const [g1] = gradients(y, [x], { retainGraph: true });
  const [g2] = gradients(y, [x]);
  assert.equal(values(g1!), values(g2!));
  assert.throws(() => gradients(y, [x]), /second time/);
});

test('creation options: dtype and requiresGrad', () => {
  assert.is(zeros([2, 3]).dtype, 'float32');
  assert.ok(ones([2], { dtype: 'float64', requiresGrad: true }).requiresGrad);
  assert.equal(full([2], 1.5, { dtype: 'float64' }).toArray(), [1.5, 1.5]);
  assert.equal(zerosLike(f64([1, 2], [2])).dtype, 'float64');
  assert.is(zerosLike(f64([1, 2], [2])).requiresGrad, false);
  assert.equal(eye(2, 2, { dtype: 'float64' }).toArray(), [[1, 0], [0, 1]]);
  assert.equal(arange(0, 3).toArray(), [0, 1, 2]);
  assert.equal(values(randn([3], { seed: 1, dtype: 'float64' })), values(randn([3], { seed: 1, dtype: 'float64' })));
  assert.ok(values(rand([5], { seed: 2 })).every((v) => v >= 0 && v < 1));
  const t = tensor([[1, 2], [3, 4]], { dtype: 'float64', requiresGrad: true });
  assert.equal(t.shape, [2, 2]);
  assert.is(t.ndim, 2);
  assert.is(t.size, 4);
  assert.is(t.numel(), 4);
  assert.ok(t.isLeaf);
  assert.is(t.toString(), 'Tensor([[1., 2.],\n        [3., 4.]], dtype=float64, shape=[2, 2], requiresGrad=true)');
  assert.is(constant(t.data).requiresGrad, false);
  assert.is(tensor(3.5, { dtype: 'float64' }).item(), 3.5);
  assert.throws(() => t.item(), /4 elements/);
});

test('ops on tensors that do not require grad record no graph', () => {
  const a = f64([1, 2], [2], false);
  const y = a.mul(2).exp().sum();
  assert.is(y.requiresGrad, false);
  assert.is(y.node, null);
  const w = f64([1, 2], [2]);
  const z = a.mul(w);
  assert.ok(z.requiresGrad);
  assert.is(z.node!.op, 'mul');
  assert.is(z.isLeaf, false);
});

test('clone and contiguous: same values, new tensor in the graph (contiguous is a no-op when dense)', () => {
  const x = f64([1, 2, 3, 4, 5, 6], [2, 3]);
  const c = x.clone();
  assert.is.not(c, x);
  assert.is.not(c.data.data, x.data.data);
  assert.equal(c.toArray(), x.toArray());
  assert.is(x.contiguous(), x);
  const t = x.mT;
  assert.not.ok(t.data.isContiguous());
  const tc = t.contiguous();
  assert.ok(tc.data.isContiguous());
  assert.equal(tc.toArray(), [[1, 4], [2, 5], [3, 6]]);
  tc.mul(f64([1, 2, 3, 4, 5, 6], [3, 2], false)).sum().backward();
  assert.equal(x.grad!.toArray(), [[1, 3, 5], [2, 4, 6]]);
});

test.run();
