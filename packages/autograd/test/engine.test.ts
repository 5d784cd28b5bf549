/**
 * The reverse-mode engine and Tensor.backward: accumulation, graph freeing, error
 * messages, gradient modes, detach, retainGrad, dtype handling and deep graphs.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as nd from '@tsgrad/tensor';
import { enableGrad, isGradEnabled, noGrad, runBackward, setGradEnabled, Tensor, tensor, zeros } from '../src/index.ts';
import { f64 } from './arbitraries.ts';

const values = (t: Tensor | null): number[] => {
  assert.ok(t, 'expected a gradient');
  return [...t.data.toFloat64Array()];
};

test('gradients accumulate into .grad across two backward calls (retainGraph)', () => {
  const x = f64([1, 2, 3], [3]);
  const y = x.mul(x).sum(); // dy/dx = 2x
  y.backward(undefined, { retainGraph: true });
  assert.equal(values(x.grad), [2, 4, 6]);
  y.backward();
  assert.equal(values(x.grad), [4, 8, 12]);
  // a fresh graph accumulates too, until .grad is reset by the user
  x.exp().sum().backward();
  assert.ok(Math.abs(values(x.grad)[0]! - (4 + Math.E)) < 1e-12);
  x.grad = null;
  x.sum().backward();
  assert.equal(values(x.grad), [1, 1, 1]);
});

test('backward on a non-scalar without gradOutput throws a clear error', () => {
  const x = f64([1, 2, 3, 4], [2, 2]);
  assert.throws(() => x.mul(2).backward(), (e: unknown) => e instanceof Error && /not a scalar/.test(e.message) && /\[2, 2\]/.test(e.message) && /gradOutput/.test(e.message));
  // with a gradOutput it is the VJP
  x.mul(2).backward(f64([1, 0, 0, 3], [2, 2], false));
  assert.equal(values(x.grad), [2, 0, 0, 6]);
  // a one-element non-0-d output counts as a scalar
  const z = f64([5], [1, 1]);
  z.mul(3).backward();
  assert.equal(values(z.grad), [3]);
});

test('backward with a gradOutput of the wrong shape names both shapes', () => {
  const x = f64([1, 2, 3], [3]);
  assert.throws(() => x.mul(2).backward(f64([1, 2], [2], false)), /gradOutput of shape \[2\] does not match output of shape \[3\]/);
});

test("a second backward without retainGraph throws 'second time'", () => {
  const x = f64([1, 2], [2]);
  const y = x.exp().sum();
  y.backward();
  assert.throws(() => y.backward(), /second time/);
  // the message tells the user what to do
  assert.throws(() => y.backward(), /retainGraph/);
  // retainGraph keeps every node's rule alive
  const z = x.exp().sum();
  z.backward(undefined, { retainGraph: true });
  assert.not.throws(() => z.backward(undefined, { retainGraph: true }));
  assert.not.throws(() => z.backward());
  assert.throws(() => z.backward(), /second time/);
});

test('a graph is freed only where the backward pass went', () => {
  const x = f64([1, 2], [2]);
  const h = x.tanh();
  const a = h.mul(2).sum();
  const b = h.mul(3).sum();
  a.backward();
  // h's rule was used (and freed) by a's pass, so b cannot go through it again
  assert.throws(() => b.backward(), /second time.*tanh/);
});

test('requiresGrad_ on an int32 (or bool) tensor throws', () => {
  const i = new Tensor(nd.NDArray.fromTyped(Int32Array.from([1, 2]), [2]));
  assert.throws(() => i.requiresGrad_(), (e: unknown) => e instanceof TypeError && /int32/.test(e.message));
  assert.throws(() => tensor([true, false], { requiresGrad: true }), /floating point/);
  assert.throws(() => tensor([1, 2], { dtype: 'int32', requiresGrad: true }), /floating point/);
  // switching it off is always allowed
  assert.not.throws(() => i.requiresGrad_(false));
});

test('requiresGrad_ on a non-leaf throws; detach() first', () => {
  const x = f64([1], [1]);
  const y = x.mul(2);
  assert.throws(() => y.requiresGrad_(false), /only leaf tensors/);
  assert.not.throws(() => y.detach().requiresGrad_(true));
});

test('backward on a tensor computed inside noGrad throws saying it does not require grad', () => {
  const x = f64([1, 2], [2]);
  const y = noGrad(() => x.mul(x).sum());
  assert.is(y.requiresGrad, false);
  assert.throws(() => y.backward(), /does not require grad/);
  // the same for a tensor that never needed a gradient
  assert.throws(() => f64([1], [1], false).sum().backward(), /does not require grad/);
});

test('noGrad records nothing; enableGrad inside it records; the mode is restored, even on throw', () => {
  const x = f64([1, 2], [2]);
  assert.ok(isGradEnabled());
  const y = noGrad(() => {
    assert.not.ok(isGradEnabled());
    const inner = enableGrad(() => x.mul(3));
    assert.ok(inner.requiresGrad && inner.node?.op === 'mul');
    assert.not.ok(isGradEnabled());
    return x.exp().mul(2);
  });
  assert.ok(isGradEnabled());
  assert.is(y.node, null);
  assert.is(y.requiresGrad, false);
  assert.ok(y.isLeaf);
  assert.throws(() => noGrad(() => {
    throw new Error('boom');
  }), /boom/);
  assert.ok(isGradEnabled(), 'noGrad restores the mode after an exception');
  setGradEnabled(false, () => assert.not.ok(isGradEnabled()));
  assert.ok(isGradEnabled());
});

test('detach() cuts the graph and shares storage', () => {
  const x = f64([1, 2, 3], [3]);
  const d = x.mul(2).detach();
  assert.is(d.requiresGrad, false);
  assert.is(d.node, null);
  const y = x.mul(d).sum(); // d is a constant: dy/dx = d = 2x, not 4x
  y.backward();
  assert.equal(values(x.grad), [2, 4, 6]);
  const e = x.detach();
  assert.is(e.data.data, x.data.data, 'detach shares storage');
  assert.is(x.detach().mul(3).requiresGrad, false);
});

test('retainGrad keeps .grad on an intermediate; other intermediates keep none', () => {
  const x = f64([1, 2], [2]);
  const h = x.mul(3).retainGrad();
  const k = h.exp();
  const y = k.mul(f64([1, 10], [2], false)).sum();
  y.backward();
  assert.ok(h.retainsGrad);
  const hv = [3, 6];
  assert.ok(values(h.grad).every((g, i) => Math.abs(g - [1, 10][i]! * Math.exp(hv[i]!)) < 1e-9));
  assert.is(k.grad, null);
  assert.ok(values(x.grad).every((g, i) => Math.abs(g - 3 * [1, 10][i]! * Math.exp(hv[i]!)) < 1e-9));
  // the root itself, when retained, gets the seed
  const r = f64([2], [1]).mul(4).retainGrad();
  r.backward();
  assert.equal(values(r.grad), [1]);
});

test('a leaf used several times receives the sum of its uses (diamond graph)', () => {
  const x = f64([2], [1]);
  const a = x.mul(3);
  const b = x.mul(x);
  const y = a.add(b).mul(a).sum(); // (3x + x^2) 3x = 9x^2 + 3x^3 -> 18x + 9x^2
  y.backward();
  assert.equal(values(x.grad), [18 * 2 + 9 * 4]);
});

test('a long chain (20,000 adds) backpropagates without stack overflow', () => {
  const x = f64([1, 2], [2]);
  let y = x;
  for (let i = 0; i < 20000; i++) y = y.add(1);
  y.sum().backward();
  assert.equal(values(x.grad), [1, 1]);
  // and a long chain of muls whose gradient is known: d/dx (x * 1.0001^n)
  const z = f64([1], [1]);
  let w = z;
  for (let i = 0; i < 20000; i++) w = w.mul(1.0001);
  w.sum().backward();
  assert.ok(Math.abs(values(z.grad)[0]! - 1.0001 ** 20000) < 1e-6 * 1.0001 ** 20000);
});

test('gradients are cast back to each input dtype (mixed float32 / float64)', () => {
  const a = tensor([1, 2], { dtype: 'float32', requiresGrad: true });
  const b = tensor([3, 4], { dtype: 'float64', requiresGrad: true });
  const y = a.mul(b);
  assert.is(y.dtype, 'float64');
  y.sum().backward();
  assert.is(a.grad!.dtype, 'float32');
  assert.is(b.grad!.dtype, 'float64');
  assert.equal(values(a.grad), [3, 4]);
  assert.equal(values(b.grad), [1, 2]);
  // through to(): float64 -> float32 -> float64
  const c = f64([1.5, 2.5], [2]);
  c.to('float32').mul(2).to('float64').sum().backward();
  assert.is(c.grad!.dtype, 'float64');
  assert.equal(values(c.grad), [2, 2]);
});

test('int and bool operands never receive gradients, and ops with them still differentiate', () => {
  const x = f64([1, 2, 3], [3]);
  const k = new Tensor(nd.NDArray.fromTyped(Int32Array.from([2, 0, -1]), [3]));
  const y = x.mul(k).sum();
  y.backward();
  assert.equal(values(x.grad), [2, 0, -1]);
  assert.is(k.grad, null);
  // comparisons are not differentiable: no graph
  assert.is(x.gt(1).requiresGrad, false);
  assert.is(x.argmax().requiresGrad, false);
});

test('backward with createGraph false stores detached gradients', () => {
  const x = f64([1, 2], [2]);
  x.pow(2).sum().backward();
  assert.is(x.grad!.requiresGrad, false);
  assert.is(x.grad!.node, null);
  // even when the gradOutput itself requires grad and add passes it through unchanged
  const v = f64([1, 1], [2]);
  const y = f64([1, 2], [2]);
  y.add(1).backward(v);
  assert.is(y.grad!.requiresGrad, false);
  assert.is.not(y.grad, v);
});

test('casting to int32 or bool is not differentiable: the result does not require grad', () => {
  const x = f64([1.7, -2.2], [2]);
  const i = x.to('int32');
  assert.is(i.dtype, 'int32');
  assert.is(i.requiresGrad, false);
  assert.is(x.to('bool').requiresGrad, false);
  assert.throws(() => i.mul(2).sum().backward(), /does not require grad/);
  // used as a constant factor: d/dx (x * trunc(x)) = trunc(x) away from integers
  x.mul(i).sum().backward();
  assert.equal(values(x.grad), [1, -2]);
});

test('runBackward with several roots sums their contributions', () => {
  const x = f64([1, 2], [2]);
  const a = x.mul(2).sum();
  const b = x.mul(x).sum();
  runBackward([a, b], undefined);
  assert.equal(values(x.grad), [2 + 2, 2 + 4]);
});

test('runBackward with inputs returns gradients (also of intermediates) and leaves .grad alone', () => {
  const x = f64([1, 2], [2]);
  const h = x.mul(x);
  const y = h.mul(3).sum();
  const [gh, gx] = runBackward([y], undefined, {}, [h, x]);
  assert.equal(values(gh!), [3, 3]);
  assert.equal(values(gx!), [6, 12]);
  assert.is(x.grad, null);
  assert.is(h.grad, null);
});

test('the engine reports a rule that returns a gradient of the wrong shape', () => {
  // a hand-built node with a broken rule, the way ops record theirs
  const x = f64([1, 2, 3], [3]);
  const out = new Tensor(nd.copy(x.data));
  out.attach({ op: 'broken', inputs: [x], backward: () => [zeros([2], { dtype: 'float64' })] });
  assert.throws(() => out.sum().backward(), /'broken' produced a gradient of shape \[2\] for an input of shape \[3\]/);
});

test('a leaf that requires grad but is not used keeps .grad null', () => {
  const x = f64([1, 2], [2]);
  const unused = f64([5, 6], [2]);
  const c = f64([5, 6], [2], false);
  x.mul(c).sum().backward();
  assert.equal(values(x.grad), [5, 6]);
  assert.is(unused.grad, null);
  assert.is(c.grad, null);
});

test.run();
