/**
 * In-place ops (sub_, add_, mul_, div_, fill_, zero_, copy_) and the storage version
 * check that keeps them from silently corrupting a gradient (issue 11 item 5).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import * as nd from '@tsgrad/tensor';
import { noGrad, randn, Tensor, tensor } from '../src/index.ts';
import { f64, params, valuesArb } from './arbitraries.ts';

const values = (t: Tensor): number[] => [...t.data.toFloat64Array()];
const VERSION_ERROR = /a tensor needed for gradient computation was modified by an in-place operation: .*saved at version 0, now 1/;

test('in-place ops compute what the out-of-place ops do, on contiguous and strided targets', () => {
  fc.assert(
    fc.property(valuesArb(6, -3, 3), valuesArb(3, 0.5, 3), fc.boolean(), (av, bv, strided) => {
      const make = () => (strided ? f64(av, [3, 2], false).transpose(0, 1) : f64(av, [2, 3], false));
      const b = f64(bv, [3], false); // broadcast over the rows
      const expect = (fn: (x: Tensor) => Tensor) => values(fn(make()));
      for (const [name, inPlace, outOfPlace] of [
        ['sub_', (x: Tensor) => x.sub_(b), (x: Tensor) => x.sub(b)],
        ['add_', (x: Tensor) => x.add_(b), (x: Tensor) => x.add(b)],
        ['mul_', (x: Tensor) => x.mul_(b), (x: Tensor) => x.mul(b)],
        ['div_', (x: Tensor) => x.div_(b), (x: Tensor) => x.div(b)],
        ['mul_ scalar', (x: Tensor) => x.mul_(0.5), (x: Tensor) => x.mul(0.5)],
      ] as const) {
        const x = make();
        const storage = x.data.data;
        const out = inPlace(x);
        assert.is(out, x, `${name} returns the tensor itself`);
        assert.is(x.data.data, storage, `${name} writes into the same storage`);
        assert.equal(values(x), expect(outOfPlace), name);
        assert.is(x.version, 1, `${name} bumps the version once`);
      }
      return true;
    }),
    params(30),
  );
});

test('fill_, zero_ and copy_ write through views into the shared storage', () => {
  const base = tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'float64' });
  const row = base.slice(0, 1, 2); // second row, a view
  row.fill_(7);
  assert.equal(base.toArray(), [[1, 2, 3], [7, 7, 7]]);
  assert.is(base.version, 1, 'views share the version of their storage');
  base.slice(1, 0, 1).zero_();
  assert.equal(base.toArray(), [[0, 2, 3], [0, 7, 7]]);
  base.copy_(tensor([9, 8, 7], { dtype: 'float32' }));
  assert.equal(base.toArray(), [[9, 8, 7], [9, 8, 7]]);
  const sq = tensor([[1, 2], [3, 4]]);
  sq.copy_(sq.transpose(0, 1)); // the source aliases the target
  assert.equal(sq.toArray(), [[1, 3], [2, 4]]);
  const ints = tensor([1, 2, 3], { dtype: 'int32' });
  ints.copy_(nd.array([1.9, -2.9, 3.2], 'float64'));
  assert.equal(ints.toArray(), [1, -2, 3], 'copy_ casts like a store into int32');
  assert.is(ints.version, 1);
});

test('in-place ops reject what they cannot do, naming the op and the shapes', () => {
  const x = tensor([1, 2, 3]);
  assert.throws(() => x.add_(tensor([1, 2])), /add_/);
  assert.throws(() => x.add_(tensor([[1, 2, 3], [4, 5, 6]])), /add_: an operand of shape \[2, 3\] cannot be broadcast to the tensor's shape \[3\]/);
  assert.throws(() => tensor([1, 2], { dtype: 'int32' }).mul_(0.5), /mul_: the result has dtype float32 and cannot be written into a tensor of dtype int32/);
  assert.throws(() => tensor([1]).expand([3]).fill_(0), /fill_: .*expanded view/);
  assert.equal(x.toArray(), [1, 2, 3], 'a failed in-place op leaves the values alone');
  assert.is(x.version, 0, 'and the version');
});

test('in-place ops on tensors that require grad run only under noGrad, as in PyTorch', () => {
  const w = tensor([1, 2], { requiresGrad: true });
  assert.throws(() => w.sub_(1), /sub_: a leaf tensor that requires grad cannot be changed in place while gradients are recorded; wrap the update in noGrad/);
  const y = w.mul(2);
  assert.throws(() => y.add_(1), /add_: in-place ops on a tensor computed by a recorded op \('mul'\) are not supported/);
  const c = tensor([0, 0]);
  assert.throws(() => c.add_(w), /add_: the operand requires grad/);
  assert.equal(w.toArray(), [1, 2]);
  noGrad(() => w.sub_(1));
  assert.equal(w.toArray(), [0, 1]);
  assert.ok(w.requiresGrad && w.isLeaf, 'still a leaf parameter');
});

test('backward raises when a saved input was changed in place after the forward', () => {
  const x = tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
  const a = tensor([4, 5, 6], { dtype: 'float64' });
  const loss = x.mul(a).sum(); // mul's derivative for x reads a
  a.add_(1);
  assert.throws(() => loss.backward(), VERSION_ERROR);
  assert.throws(() => loss.backward(), /input 1 of 'mul' \(float64, \[3\]\)/);
  assert.is(x.grad, null, 'no gradient was written');
});

test('backward raises when a parameter is stepped between forward and backward', () => {
  const w = tensor([0.5, -1], { dtype: 'float64', requiresGrad: true });
  const loss = w.tanh().sum();
  noGrad(() => w.sub_(0.1));
  assert.throws(() => loss.backward(), VERSION_ERROR);
});

test('backward raises when an output its derivative reuses was changed in place', () => {
  const x = tensor([0.1, 0.2], { dtype: 'float64', requiresGrad: true });
  const y = x.exp(); // exp's derivative multiplies by its output
  const loss = y.sum();
  noGrad(() => y.mul_(2));
  assert.throws(() => loss.backward(), VERSION_ERROR);
});

test('without in-place changes backward is unaffected, and changes after backward are allowed', () => {
  fc.assert(
    fc.property(valuesArb(3, -2, 2), valuesArb(3, -2, 2), (xv, av) => {
      const x = f64(xv, [3]);
      const a = f64(av, [3], false);
      const loss = x.mul(a).tanh().sum();
      loss.backward();
      const expected = xv.map((xi, i) => av[i]! * (1 - Math.tanh(xi * av[i]!) ** 2));
      values(x.grad!).forEach((g, i) => assert.ok(Math.abs(g - expected[i]!) < 1e-12));
      noGrad(() => x.sub_(x.grad!.mul(0.1))); // the graph is gone: nothing left to check
      return true;
    }),
    params(20),
  );
});

test('a hand-written SGD loop with sub_ under noGrad fits a linear model', () => {
  // y = X w* with w* = [2, -3]; plain gradient descent on the mean squared error
  const X = randn([64, 2], { seed: 1, dtype: 'float64' });
  const target = X.matmul(tensor([[2], [-3]], { dtype: 'float64' }));
  const w = tensor([[0], [0]], { dtype: 'float64', requiresGrad: true });
  const mse = () => X.matmul(w).sub(target).square().mean();
  const first = mse().item();
  for (let step = 0; step < 200; step++) {
    const loss = mse();
    w.grad = null;
    loss.backward();
    noGrad(() => w.sub_(w.grad!.mul(0.1)));
  }
  assert.ok(mse().item() < first * 1e-6, `loss ${first} -> ${mse().item()}`);
  const [w0, w1] = values(w);
  assert.ok(Math.abs(w0! - 2) < 1e-3 && Math.abs(w1! + 3) < 1e-3, `w = ${values(w)}`);
  assert.is(w.version, 200, 'one in-place write per step');
});

test.run();
