/**
 * Printing (format.ts): PyTorch-style layout, one number format per array, summaries
 * with `...` over 1000 elements; and the typed `toArray` / `tolist` / `item` readers
 * (issue 11 item 4).
 */
import { inspect } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { arange, array, formatValues, NDArray, randn, scalar, zeros } from '../src/index.ts';
import { params, shapeArb } from './arbitraries.ts';

test('small arrays print like PyTorch, with dtype and shape', () => {
  assert.is(String(array([[1, 2], [3, 4]])), 'NDArray([[1., 2.],\n         [3., 4.]], dtype=float32, shape=[2, 2])');
  assert.is(String(array([1.5, -2.25], 'float64')), 'NDArray([ 1.5000, -2.2500], dtype=float64, shape=[2])');
  assert.is(String(array([1, 20, 3], 'int32')), 'NDArray([ 1, 20,  3], dtype=int32, shape=[3])');
  assert.is(String(array([true, false])), 'NDArray([ true, false], dtype=bool, shape=[2])');
  assert.is(String(scalar(0.5)), 'NDArray(0.5000, dtype=float32, shape=[])');
  assert.is(String(zeros([0, 3])), 'NDArray([], dtype=float32, shape=[0, 3])');
  assert.is(String(array([1e-5, 1, 1000], 'float64')), 'NDArray([1.0000e-05, 1.0000e+00, 1.0000e+03], dtype=float64, shape=[3])');
  assert.is(String(array([NaN, Infinity, -1.5])), 'NDArray([    nan,     inf, -1.5000], dtype=float32, shape=[3])');
  // blocks of a 3-D array are set apart by a blank line
  assert.is(formatValues(arange(0, 8, 1, 'int32').reshape([2, 2, 2]), 0), '[[[0, 1],\n  [2, 3]],\n\n [[4, 5],\n  [6, 7]]]');
});

test('console.log (util.inspect) shows the same text as String()', () => {
  const x = randn([3, 4], { seed: 3 });
  assert.is(inspect(x), String(x));
  assert.is(inspect({ x: array([1, 2]) }), '{ x: NDArray([1., 2.], dtype=float32, shape=[2]) }');
});

/** The numbers in a printed array, in order (`...` skipped). */
const numbersIn = (text: string): number[] => (text.match(/-?\d+(\.\d*)?(e[+-]\d+)?/g) ?? []).map(Number);

test('up to 1000 elements every value is printed, in row-major order, to 4 decimals', () => {
  fc.assert(
    fc.property(shapeArb({ maxRank: 4, maxSide: 6 }), fc.integer({ min: 0, max: 1000 }), (shape, seed) => {
      const x = randn(shape, { seed, dtype: 'float64' });
      const text = formatValues(x, 0);
      assert.not.ok(text.includes('...'));
      const printed = numbersIn(text);
      const flat = [...x.toFloat64Array()];
      assert.is(printed.length, flat.length);
      printed.forEach((v, i) => assert.ok(Math.abs(v - flat[i]!) <= 5e-5 * Math.max(1, Math.abs(flat[i]!)), `${v} vs ${flat[i]}`));
      return true;
    }),
    params(60),
  );
});

test('over 1000 elements each long axis keeps its first and last 3 entries around ...', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 3 }), (shape) => {
      const size = shape.reduce((a, b) => a * b, 1);
      const x = arange(0, size, 1, 'int32').reshape(shape);
      const printed = numbersIn(formatValues(x, 0));
      const kept = shape.map((n) => (size > 1000 && n > 6 ? [0, 1, 2, n - 3, n - 2, n - 1] : Array.from({ length: n }, (_, i) => i)));
      // the flat indices of the kept corners, in row-major order
      let expected = [0];
      shape.forEach((n, d) => {
        const stride = shape.slice(d + 1).reduce((a, b) => a * b, 1);
        expected = expected.flatMap((base) => kept[d]!.map((i) => base + i * stride));
      });
      assert.equal(printed, expected);
      assert.is(formatValues(x, 0).includes('...'), size > 1000 && shape.some((n) => n > 6));
      return true;
    }),
    params(80),
  );
});

test('long rows wrap within 80 characters, aligned under the first value', () => {
  const text = String(arange(0, 30, 1, 'float64'));
  const lines = text.split('\n');
  assert.ok(lines.length > 1);
  for (const line of lines) assert.ok(line.length <= 80 + ', dtype=float64, shape=[30])'.length, line);
  for (const line of lines.slice(1)) assert.ok(line.startsWith(' '.repeat('NDArray(['.length)), line);
});

test('toArray / tolist take the nested type to index; item() names the shape', () => {
  const x = array([[1, 2], [3, 4]]);
  const rows = x.toArray<number[][]>();
  const v: number = rows[1]![0]!;
  assert.is(v, 3);
  assert.equal(x.tolist<number[][]>(), [[1, 2], [3, 4]]);
  const s: number = scalar(2.5).tolist<number>();
  assert.is(s, 2.5, 'a 0-d array lists as a number, as in PyTorch');
  assert.is(array([[7]]).item(), 7);
  assert.throws(() => x.item(), /item: tensor of shape \[2, 2\] has 4 elements, not 1/);
  assert.instance(x, NDArray);
});

test.run();
