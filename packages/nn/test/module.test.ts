/**
 * Module: registration and dotted names, tree walking, replacement by name, hooks,
 * modes, state dicts (round trip, strict errors naming keys, non-strict reports).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Tensor, tensor, zeros } from '@tsgrad/autograd';
import * as nd from '@tsgrad/tensor';
import { Dropout, functionalCall, GPT, Identity, Linear, MLP, Module, ReLU, Sequential } from '../src/index.ts';
import { maxAbsDiff, values } from './nn-helpers.ts';

class Scale extends Module {
  weight: Tensor;
  running: Tensor;
  scratch: Tensor;
  inner: Linear;
  constructor() {
    super();
    this.weight = this.registerParameter('weight', zeros([3], { requiresGrad: true }));
    this.running = this.registerBuffer('running', zeros([3]));
    this.scratch = this.registerBuffer('scratch', zeros([2]), { persistent: false });
    this.inner = this.registerModule('inner', new Linear(3, 3, { seed: 1 }));
  }
  override forward(x: Tensor): Tensor {
    return this.inner.call(x).mul(this.weight);
  }
}

test('parameters, buffers and children get dotted names in registration order', () => {
  const outer = new Sequential(new Scale(), new ReLU(), new Linear(3, 2, { seed: 2 }));
  assert.equal([...outer.namedParameters()].map(([n]) => n), ['0.weight', '0.inner.weight', '0.inner.bias', '2.weight', '2.bias']);
  assert.equal([...outer.namedBuffers()].map(([n]) => n), ['0.running', '0.scratch']);
  assert.equal([...outer.namedModules()].map(([n]) => n), ['', '0', '0.inner', '1', '2']);
  assert.equal([...outer.namedChildren()].map(([n]) => n), ['0', '1', '2']);
  assert.is(outer.parameters().length, 5);
  assert.is(outer.numParameters(), 3 + 9 + 3 + 6 + 2);
  // the non-persistent buffer is not saved
  assert.equal(Object.keys(outer.stateDict()), ['0.weight', '0.running', '0.inner.weight', '0.inner.bias', '2.weight', '2.bias']);
});

test('registering a name twice or a dotted name is an error', () => {
  const m = new Scale();
  assert.throws(() => m.registerParameter('weight', zeros([1])), /already registered as a parameter/);
  assert.throws(() => m.registerModule('a.b', new ReLU()), /contain no '\.'/);
});

test('MLP names are layers.<i>.weight / bias with PyTorch shapes', () => {
  const mlp = new MLP([784, 512, 512, 10], { seed: 0 });
  assert.equal(
    [...mlp.namedParameters()].map(([n, p]) => `${n}:${p.shape.join('x')}`),
    ['layers.0.weight:512x784', 'layers.0.bias:512', 'layers.1.weight:512x512', 'layers.1.bias:512', 'layers.2.weight:10x512', 'layers.2.bias:10'],
  );
});

test('tied parameters are listed once but saved under every name', () => {
  const gpt = new GPT({ vocabSize: 7, contextLength: 4, dModel: 8, nHeads: 2, nLayers: 1, tieWeights: true, seed: 0 });
  const names = [...gpt.namedParameters()].map(([n]) => n);
  assert.ok(names.includes('tok_emb.weight'));
  assert.not.ok(names.includes('lm_head.weight'));
  const sd = gpt.stateDict();
  assert.is(sd['lm_head.weight'], sd['tok_emb.weight']);
});

test('getSubmodule / setSubmodule replace a child and the parent uses the new one', () => {
  const gpt = new GPT({ vocabSize: 5, contextLength: 4, dModel: 8, nHeads: 2, nLayers: 2, seed: 0 });
  const q = gpt.getSubmodule('blocks.1.attn.q_proj');
  assert.instance(q, Linear);
  assert.is(q, gpt.blocks.get(1).attn.q_proj);
  let calls = 0;
  class Wrapper extends Module {
    base: Linear;
    constructor(base: Linear) {
      super();
      this.base = this.registerModule('base', base);
    }
    override forward(x: Tensor): Tensor {
      calls++;
      return this.base.call(x);
    }
  }
  gpt.setSubmodule('blocks.1.attn.q_proj', new Wrapper(q as Linear));
  assert.ok([...gpt.namedParameters()].some(([n]) => n === 'blocks.1.attn.q_proj.base.weight'));
  gpt.call(new Tensor(nd.NDArray.fromTyped(new Int32Array([1, 2, 3]), [1, 3], 'int32')));
  assert.is(calls, 1);
  assert.throws(() => gpt.getSubmodule('blocks.7.attn'), /'blocks' \(ModuleList\) has no submodule '7'/);
  assert.throws(() => gpt.setSubmodule('blocks.0.attn.nope', new Identity()), /has no submodule 'nope'/);
});

test('forward pre-hooks see (and may replace) inputs; hooks may replace outputs; remove() works', () => {
  const lin = new Linear(2, 2, { seed: 3 });
  const seen: number[][] = [];
  const h1 = lin.registerForwardPreHook((_m, [x]) => {
    seen.push(values(x));
  });
  const x = tensor([[1, 2]]);
  const y = lin.call(x);
  assert.equal(seen, [[1, 2]]);
  const h2 = lin.registerForwardPreHook(() => [tensor([[0, 0]])]);
  const h3 = lin.registerForwardHook((_m, _args, out) => out.mul(2));
  const y0 = lin.call(x);
  assert.ok(maxAbsDiff(values(y0), values(lin.bias!.mul(2))) < 1e-7);
  h1.remove();
  h2.remove();
  h3.remove();
  assert.equal(values(lin.call(x)), values(y));
  assert.is(seen.length, 2);
  // containers call children through call(), so hooks fire inside an MLP
  const mlp = new MLP([2, 3, 1], { seed: 0 });
  let fired = 0;
  mlp.layers.get(1).registerForwardPreHook(() => void fired++);
  mlp.call(tensor([[1, 2]]));
  assert.is(fired, 1);
});

test('train()/eval() set the flag on the whole tree; Dropout is the identity in eval', () => {
  const net = new Sequential(new Linear(4, 4, { seed: 0 }), new Dropout(0.5, { seed: 1 }));
  assert.ok([...net.modules()].every((m) => m.training));
  net.eval();
  assert.ok([...net.modules()].every((m) => !m.training));
  const x = tensor([[1, 2, 3, 4]]);
  assert.equal(values(net.call(x)), values(net.get(0).call(x)));
  net.train();
  assert.ok(net.get(1).training);
});

test('apply visits children before parents; zeroGrad sets grads to null', () => {
  const net = new Sequential(new Linear(2, 2, { seed: 0 }), new Sequential(new ReLU()));
  const order: string[] = [];
  net.apply((m) => order.push(m.constructor.name));
  assert.equal(order, ['Linear', 'ReLU', 'Sequential', 'Sequential']);
  net.call(tensor([[1, 2]])).sum().backward();
  assert.ok(net.parameters().every((p) => p.grad !== null));
  net.zeroGrad();
  assert.ok(net.parameters().every((p) => p.grad === null));
});

test('loadStateDict(stateDict()) round-trips into a differently seeded model (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 1000 }), fc.boolean(), (s1, s2, clone) => {
      const a = new GPT({ vocabSize: 6, contextLength: 4, dModel: 8, nHeads: 2, nLayers: 1, seed: s1 });
      const b = new GPT({ vocabSize: 6, contextLength: 4, dModel: 8, nHeads: 2, nLayers: 1, seed: s2 });
      const before = b.parameters();
      const res = b.loadStateDict(a.stateDict({ clone }));
      assert.equal(res, { missingKeys: [], unexpectedKeys: [], mismatchedKeys: [] });
      // values are copied into the existing tensors (optimizers keep their references)
      assert.ok(b.parameters().every((p, i) => p === before[i]));
      const sa = a.stateDict();
      const sb = b.stateDict();
      for (const k of Object.keys(sa)) assert.equal(values(sb[k]!), values(sa[k]!), k);
      return true;
    }),
    { numRuns: 10 },
  );
});

test('stateDict shares storage unless clone is asked for', () => {
  const lin = new Linear(2, 2, { seed: 0 });
  const live = lin.stateDict();
  const snap = lin.stateDict({ clone: true });
  lin.weight.data.data[0] = 42;
  assert.is(live.weight!.data[0], 42);
  assert.is.not(snap.weight!.data[0], 42);
});

test('strict loading names missing, unexpected and mis-shaped keys and loads nothing', () => {
  const mlp = new MLP([3, 4, 2], { seed: 0 });
  const original = values(mlp.layers.get(0).weight);
  const sd = new MLP([3, 5, 2], { seed: 1 }).stateDict({ clone: true });
  delete sd['layers.1.bias'];
  sd['extra.weight'] = nd.zeros([1]);
  sd['layers.0.bias'] = nd.zeros([4]);
  let message = '';
  try {
    mlp.loadStateDict(sd);
  } catch (e) {
    message = (e as Error).message;
  }
  assert.match(message, /missing keys: layers\.1\.bias/);
  assert.match(message, /unexpected keys: extra\.weight/);
  assert.match(message, /size mismatch for layers\.0\.weight: checkpoint has \[5, 3\], model has \[4, 3\]/);
  assert.match(message, /size mismatch for layers\.1\.weight/);
  assert.equal(values(mlp.layers.get(0).weight), original, 'nothing was loaded');
  assert.equal(values(mlp.layers.get(0).bias!).some((v) => v !== 0), true, 'bias untouched');
  // non-strict: loads what fits, reports the rest
  const res = mlp.loadStateDict(sd, { strict: false });
  assert.equal(res.missingKeys, ['layers.1.bias']);
  assert.equal(res.unexpectedKeys, ['extra.weight']);
  assert.equal(res.mismatchedKeys.map((m) => m.key), ['layers.0.weight', 'layers.1.weight']);
  assert.equal(values(mlp.layers.get(0).bias!), [0, 0, 0, 0]);
});

test('loadStateDict casts dtypes and accepts Tensors', () => {
  const lin = new Linear(2, 1, { seed: 0 });
  lin.loadStateDict({ weight: tensor([[0.5, 0.25]], { dtype: 'float64' }), bias: nd.array([1], 'float64') });
  assert.equal(values(lin.weight), [0.5, 0.25]);
  assert.is(lin.weight.dtype, 'float32');
});

test('functionalCall swaps parameters temporarily; to() converts dtypes in place', () => {
  const lin = new Linear(2, 1, { seed: 0, bias: false });
  const w = lin.weight;
  const y = functionalCall(lin, { weight: tensor([[1, 1]]) }, () => lin.call(tensor([[2, 3]])));
  assert.equal(values(y), [5]);
  assert.is(lin.weight, w);
  lin.to('float64');
  assert.is(lin.weight, w);
  assert.is(lin.weight.dtype, 'float64');
  assert.throws(() => lin.getParameter('bias'), /no parameter 'bias'/);
});

test('toString prints the tree', () => {
  const s = new MLP([4, 3, 2], { seed: 0 }).toString();
  assert.match(s, /MLP\(\[4, 3, 2\], activation='relu'/);
  assert.match(s, /\(0\): Linear\(inFeatures=4, outFeatures=3, bias=true\)/);
});

test.run();
