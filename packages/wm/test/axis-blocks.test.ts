import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { NDArray, Rng } from '@tsgrad/tensor';
import { blockRows, takeBlocks } from '../src/axis-blocks.ts';

/** A random shape with one axis of n * group entries, and the array. */
const arb = fc
  .record({
    before: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }),
    after: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }),
    n: fc.integer({ min: 1, max: 5 }),
    group: fc.integer({ min: 1, max: 3 }),
    seed: fc.integer({ min: 0, max: 1 << 20 }),
    float32: fc.boolean(),
  })
  .map(({ before, after, n, group, seed, float32 }) => {
    const shape = [...before, n * group, ...after];
    const size = shape.reduce((p, d) => p * d, 1);
    const data = Float64Array.from({ length: size }, (_, i) => i + 0.5);
    const w = float32 ? NDArray.fromTyped(Float32Array.from(data), shape, 'float32') : NDArray.fromTyped(data, shape, 'float64');
    return { w, axis: before.length, n, group, perm: new Rng(seed).permutation(n), shape };
  });

/** Entry of `w` at a multi-index, by strides of a contiguous layout. */
function at(w: NDArray, idx: number[]): number {
  let flat = 0;
  for (let i = 0; i < idx.length; i++) flat = flat * w.shape[i]! + idx[i]!;
  return w.toFloat64Array()[flat]!;
}

function* indices(shape: readonly number[]): Generator<number[]> {
  const idx = shape.map(() => 0);
  const size = shape.reduce((p, d) => p * d, 1);
  for (let f = 0; f < size; f++) {
    yield [...idx];
    for (let i = shape.length - 1; i >= 0; i--) {
      if (++idx[i]! < shape[i]!) break;
      idx[i] = 0;
    }
  }
}

test('takeBlocks: out[.., i*group + r, ..] = w[.., perm[i]*group + r, ..], dtype kept (property)', () => {
  fc.assert(
    fc.property(arb, ({ w, axis, group, perm, shape }) => {
      const out = takeBlocks(w, axis, perm, group);
      assert.equal(out.shape, shape);
      assert.is(out.dtype, w.dtype);
      for (const idx of indices(shape)) {
        const src = [...idx];
        const i = Math.floor(idx[axis]! / group);
        src[axis] = perm[i]! * group + (idx[axis]! % group);
        assert.is(at(out, idx), at(w, src));
      }
    }),
    { numRuns: 60, seed: 1 },
  );
});

test('blockRows: row i holds block i of the axis, in (before, offset, after) order, as float64 (property)', () => {
  fc.assert(
    fc.property(arb, ({ w, axis, n, group, shape }) => {
      const rows = blockRows(w, axis, group);
      const rest = w.size / n;
      assert.equal(rows.shape, [n, rest]);
      assert.is(rows.dtype, 'float64');
      const got = rows.toFloat64Array();
      const seen = new Array<number>(n).fill(0);
      // Walking w in (before, axis, after) order visits each block's entries in the row's order.
      const beforeSize = shape.slice(0, axis).reduce((p, d) => p * d, 1);
      for (let o = 0; o < beforeSize; o++) {
        for (const idx of indices(shape.slice(axis))) {
          const i = Math.floor(idx[0]! / group);
          const full = [...indicesOf(o, shape.slice(0, axis)), ...idx];
          assert.is(got[i * rest + seen[i]!]!, at(w, full));
          seen[i]!++;
        }
      }
    }),
    { numRuns: 60, seed: 2 },
  );
});

function indicesOf(flat: number, shape: readonly number[]): number[] {
  const out = shape.map(() => 0);
  for (let i = shape.length - 1; i >= 0; i--) {
    out[i] = flat % shape[i]!;
    flat = Math.floor(flat / shape[i]!);
  }
  return out;
}

test.run();
