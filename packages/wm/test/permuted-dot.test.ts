import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { NDArray, Rng } from '@tsgrad/tensor';
import { getPermutedParam } from '../src/permute.ts';
import { permutedDot } from '../src/permuted-dot.ts';
import { permutationSpec, type AxisPerm, type Permutation } from '../src/spec.ts';

/**
 * A parameter of 1-4 axes, each unpermuted, permuted, or permuted in blocks; A and B of its shape
 * with random values (float32 or float64), A sometimes a transposed (strided) view.
 */
const arb = fc
  .record({
    axes: fc.array(
      fc.record({ kind: fc.constantFrom('none', 'perm', 'block'), n: fc.integer({ min: 1, max: 4 }), group: fc.integer({ min: 2, max: 3 }) }),
      { minLength: 1, maxLength: 4 },
    ),
    seed: fc.integer({ min: 0, max: 1 << 20 }),
    float32: fc.boolean(),
    transposedA: fc.boolean(),
  })
  .map(({ axes, seed, float32, transposedA }) => {
    const rng = new Rng(seed);
    const entries: AxisPerm[] = [];
    const perm: Permutation = {};
    const shape: number[] = [];
    axes.forEach((ax, k) => {
      if (ax.kind === 'none') {
        entries.push(null);
        shape.push(ax.n);
      } else if (ax.kind === 'perm') {
        entries.push(`P${k}`);
        perm[`P${k}`] = rng.permutation(ax.n);
        shape.push(ax.n);
      } else {
        entries.push({ id: `P${k}`, group: ax.group });
        perm[`P${k}`] = rng.permutation(ax.n);
        shape.push(ax.n * ax.group);
      }
    });
    const size = shape.reduce((p, d) => p * d, 1);
    const make = (): NDArray => {
      const data = Float64Array.from({ length: size }, () => rng.normal());
      return float32 ? NDArray.fromTyped(Float32Array.from(data), shape, 'float32') : NDArray.fromTyped(data, shape, 'float64');
    };
    let a = make();
    const b = make();
    if (transposedA && shape.length >= 2) {
      // the same logical A, stored transposed: exercises the stride tables
      const order = shape.map((_, i) => shape.length - 1 - i);
      a = a.permute(order).contiguous().permute(order);
    }
    return { entries, perm, a, b };
  });

test('permutedDot gives the same bits as the sum over A times the materialised pi(B)', () => {
  fc.assert(
    fc.property(arb, ({ entries, perm, a, b }) => {
      const spec = permutationSpec({ w: entries });
      const wa = a.toFloat64Array();
      const wb = getPermutedParam(spec, perm, 'w', { w: b }).toFloat64Array();
      let expected = 0;
      for (let i = 0; i < wa.length; i++) expected += wa[i]! * wb[i]!;
      assert.is(permutedDot(entries, perm, a, b), expected);
    }),
    { numRuns: 200 },
  );
});

test('permutedDot refuses a permutation the axes name but the map lacks', () => {
  const a = NDArray.fromTyped(Float64Array.from([1, 2]), [2], 'float64');
  assert.throws(() => permutedDot(['P0'], {}, a, a), /no permutation 'P0'/);
});

test.run();
