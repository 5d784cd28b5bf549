/**
 * Truncated forward passes (`truncateForward`, the default): EVA ends each forward once every
 * attached hook has been fed. These tests check that this changes nothing EVA computes
 * (same bits as full passes), that it does skip the rest of the pass, and that errors and
 * layers called more than once per pass are handled.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import type { Tensor } from '@tsgrad/autograd';
import { Linear, MLP, Module, type AnyModule } from '@tsgrad/nn';
import * as nd from '@tsgrad/tensor';
import { computeEva, type EvaBatch, type EvaResult } from '../src/index.ts';
import { GPT_TARGETS, tinyGpt, tokenBatch } from './helpers.ts';

function batches(seed: number, n: number, b: number, d: number): EvaBatch[] {
  return Array.from({ length: n }, (_, i) => ({ input: nd.randn([b, d], { seed: seed * 101 + i }) }));
}

function sameResult(a: EvaResult, b: EvaResult): void {
  assert.is(a.batches, b.batches);
  assert.equal([...a.ranks], [...b.ranks]);
  assert.equal(Object.keys(a.stateDict), Object.keys(b.stateDict));
  for (const k of Object.keys(a.stateDict)) assert.equal(a.stateDict[k]!.toFloat64Array(), b.stateDict[k]!.toFloat64Array(), k);
  for (const [k, v] of a.explainedVarianceRatio) assert.equal(v, b.explainedVarianceRatio.get(k), k);
}

/** Counts the calls of every listed submodule. */
function countCalls(model: AnyModule, names: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  for (const n of names) model.getSubmodule(n).registerForwardPreHook(() => void counts[n]!++);
  return counts;
}

test('truncateForward: the same bits as full forward passes (random MLPs and dtypes)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 10_000 }),
      fc.array(fc.integer({ min: 6, max: 12 }), { minLength: 1, maxLength: 3 }),
      fc.constantFrom<'float32' | 'float64'>('float32', 'float64'),
      fc.constantFrom(0.9, 0.99),
      (seed, hidden, dtype, tau) => {
        const widths = [8, ...hidden, 3];
        const run = (truncateForward: boolean) =>
          computeEva(new MLP(widths, { seed }), batches(seed, 5, 20, 8), {
            loraConfig: { targetModules: 'layers\\.\\d+', r: 2 },
            evaConfig: { tau },
            dtype,
            truncateForward,
            maxBatches: 400,
          });
        sameResult(run(true), run(false));
      },
    ),
    { numRuns: 10 },
  );
});

test('truncateForward: the same bits on a GPT with shared q/k/v inputs and masked rows', () => {
  const loader = Array.from({ length: 6 }, (_, i) => {
    const input = tokenBatch(300 + i, 4, 8);
    const mask = nd.NDArray.fromTyped(Int32Array.from({ length: 32 }, (_, j) => (j % 8 < 6 ? 1 : 0)), [4, 8], 'int32');
    return { input, attentionMask: mask };
  });
  const run = (truncateForward: boolean) => computeEva(tinyGpt(3), loader, { loraConfig: { targetModules: GPT_TARGETS, r: 2 }, evaConfig: { tau: 0.99 }, truncateForward });
  sameResult(run(true), run(false));
});

test('truncateForward: layers after the last open target are not run (after the first pass)', () => {
  const data = batches(5, 6, 32, 8);
  const names = ['layers.0', 'layers.1', 'layers.2'];
  const full = new MLP([8, 16, 16, 3], { seed: 2 });
  const cut = new MLP([8, 16, 16, 3], { seed: 2 });
  const fullCalls = countCalls(full, names);
  const cutCalls = countCalls(cut, names);
  const opts = { loraConfig: { targetModules: ['layers.0', 'layers.1'], r: 2 }, evaConfig: { tau: 0.999 }, maxBatches: 400 };
  const a = computeEva(full, data, { ...opts, truncateForward: false });
  const b = computeEva(cut, data, opts);
  sameResult(a, b);
  // every full pass reaches the head (the equal-input pass and each batch); with truncation
  // only the equal-input pass and the first batch (which learns the calls per pass) do
  assert.ok(a.batches >= 3);
  assert.is(fullCalls['layers.2'], a.batches + 1);
  assert.is(cutCalls['layers.2'], 2);
  assert.is(cutCalls['layers.0'], fullCalls['layers.0']);
  assert.ok(cutCalls['layers.1']! <= fullCalls['layers.1']!);
  // no hook is left behind, and the model still runs whole
  const x = nd.randn([2, 8], { seed: 1 });
  assert.equal([...cut.call(x).shape], [2, 3]);
  assert.is(cutCalls['layers.2'], 3);
});

/** A target layer called twice in one forward pass (a tied block). */
class Twice extends Module<[Tensor], Tensor> {
  inner: Linear;
  head: Linear;
  constructor(seed: number) {
    super();
    this.inner = this.registerModule('inner', new Linear(6, 6, { seed }));
    this.head = this.registerModule('head', new Linear(6, 2, { seed: seed + 1 }));
  }
  override forward(x: Tensor): Tensor {
    return this.head.call(this.inner.call(this.inner.call(x).relu()).relu());
  }
}

test('truncateForward: a layer called twice per forward is fed on both calls, as without truncation', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1000 }), (seed) => {
      const data = batches(seed, 4, 16, 6);
      const run = (truncateForward: boolean) =>
        computeEva(new Twice(seed), data, { loraConfig: { targetModules: ['inner', 'head'], r: 2 }, evaConfig: { tau: 0.99 }, truncateForward, maxBatches: 400 });
      sameResult(run(true), run(false));
    }),
    { numRuns: 6 },
  );
});

test('truncateForward: a forwardFn that wraps errors still works; real errors still surface; bad values are refused', () => {
  const data = batches(9, 5, 20, 8);
  const opts = { loraConfig: { targetModules: 'layers\\.\\d+', r: 2 }, evaConfig: { tau: 0.95 }, maxBatches: 400 };
  const wrapping = (m: AnyModule, b: EvaBatch) => {
    try {
      return m.call(b.input as Tensor);
    } catch (err) {
      throw new Error(`my forward failed: ${(err as Error).message}`);
    }
  };
  sameResult(computeEva(new MLP([8, 10, 3], { seed: 4 }), data, { ...opts, forwardFn: wrapping }), computeEva(new MLP([8, 10, 3], { seed: 4 }), data, { ...opts, truncateForward: false }));
  const bad = [...data.slice(0, 3), { input: nd.NDArray.fromTyped(new Float32Array(160).fill(NaN), [20, 8]) }];
  assert.throws(() => computeEva(new MLP([8, 10, 3], { seed: 4 }), bad, { ...opts, evaConfig: { tau: 1 } }), /EVA: layer 'layers\.0'.*NaN or Infinity/);
  assert.throws(() => computeEva(new MLP([8, 10, 3], { seed: 4 }), data, { ...opts, truncateForward: 'yes' as unknown as boolean }), /EVA: truncateForward must be true or false, got "yes"/);
});

test.run();
