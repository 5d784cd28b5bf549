/**
 * What the tensor layer refuses instead of returning a wrong number (issue 10): int32
 * values and results outside the int32 range, negative or out-of-range indices for
 * gather / scatterAdd / indexSelect / indexAdd, and non-integer sizes, starts and
 * indices for expand / narrow / slice / get.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import * as nd from '../src/index.ts';
import { params } from './arbitraries.ts';
import { values } from './reference.ts';

const I32_MAX = 2 ** 31 - 1;
const I32_MIN = -(2 ** 31);
const fitsI32 = (v: number) => v >= I32_MIN && v <= I32_MAX;

function throwsMatching(fn: () => unknown, re: RegExp): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, RangeError);
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`expected a RangeError matching ${re}`);
}

// ------------------------------------------------------------ int32 creation

test('int32 creation refuses values outside the int32 range (array, full, set, scalar)', () => {
  throwsMatching(() => nd.array([3e9], 'int32'), /^array: value 3000000000 does not fit in int32/);
  throwsMatching(() => nd.array([1, -2147483649], 'int32'), /^array: value -2147483649 does not fit/);
  throwsMatching(() => nd.array(new Float64Array([1, 2 ** 31]), 'int32'), /^array: value 2147483648/);
  throwsMatching(() => nd.array([NaN], 'int32'), /^array: value NaN does not fit in int32/);
  throwsMatching(() => nd.array([Infinity], 'int32'), /^array: value Infinity/);
  throwsMatching(() => nd.full([2], 2 ** 40, 'int32'), /^full: value 1099511627776/);
  throwsMatching(() => nd.zeros([2], 'int32').set(2 ** 31, 0), /^set: value 2147483648/);
  throwsMatching(() => nd.scalar(-3e9, 'int32'), /^scalar: value -3000000000/);
  // the edges themselves and fractions (truncated toward 0, as torch) are fine
  assert.equal(nd.array([I32_MIN, I32_MAX, 2.9, -2.9], 'int32').toArray(), [I32_MIN, I32_MAX, 2, -2]);
  assert.equal(nd.array([2147483647.5], 'int32').toArray(), [I32_MAX]);
});

test('int32 creation: every integer is stored exactly or refused (property)', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.integer(), fc.double({ min: -1e12, max: 1e12, noNaN: true })), { minLength: 1, maxLength: 6 }), (vs) => {
      const ok = vs.every((v) => fitsI32(Math.trunc(v)));
      if (!ok) {
        throwsMatching(() => nd.array(vs, 'int32'), /^array: value .* does not fit in int32/);
        return;
      }
      assert.equal(nd.array(vs, 'int32').toArray(), vs.map((v) => Math.trunc(v) + 0));
    }),
    params(300),
  );
});

test('arange refuses an int32 range that leaves int32, and non-finite bounds', () => {
  throwsMatching(() => nd.arange(2 ** 31 - 2, 2 ** 31 + 2), /^arange: value 2147483649 does not fit in int32/);
  throwsMatching(() => nd.arange(3e9, 3e9 + 2), /^arange: value 3000000000/);
  throwsMatching(() => nd.arange(-(2 ** 31) - 1, 0, 2 ** 30), /^arange: value -2147483649/);
  throwsMatching(() => nd.arange(Infinity), /^arange: start 0, end Infinity and step 1 must be finite/);
  throwsMatching(() => nd.arange(0, NaN), /^arange: .* must be finite/);
  assert.equal(nd.arange(I32_MAX - 2, I32_MAX).toArray(), [I32_MAX - 2, I32_MAX - 1]);
  assert.equal(nd.arange(2 ** 31 - 2, 2 ** 31 + 2, 1, 'float64').toArray(), [2 ** 31 - 2, 2 ** 31 - 1, 2 ** 31, 2 ** 31 + 1]);
});

test('linspace and randint refuse int32 ranges that do not fit', () => {
  throwsMatching(() => nd.linspace(0, 3e9, 3, 'int32'), /^linspace: value 3000000000 does not fit in int32/);
  throwsMatching(() => nd.randint(0, 3e9, [2], { seed: 0 }), /^randint: need integer bounds within the int32 range/);
  throwsMatching(() => nd.randint(0, 2.5, [2], { seed: 0 }), /^randint: need integer bounds/);
  assert.equal(nd.linspace(0, 4, 3, 'int32').toArray(), [0, 2, 4]);
  assert.ok(values(nd.randint(I32_MIN, 2 ** 31, [50], { seed: 1 })).every(fitsI32));
});

// ------------------------------------------------------------ int32 arithmetic

test('int32 add/sub/mul/neg/abs/square refuse results outside int32 (PyTorch wraps; we throw)', () => {
  const big = nd.array([I32_MAX, 1], 'int32');
  throwsMatching(() => nd.add(big, 1), /^add: int32 result 2147483648 overflows/);
  throwsMatching(() => nd.add(nd.array([1], 'int32'), 3e9), /^add: value 3000000000 does not fit in int32/);
  throwsMatching(() => nd.sub(nd.array([I32_MIN], 'int32'), 1), /^sub: int32 result -2147483649 overflows/);
  throwsMatching(() => nd.mul(nd.array([65536], 'int32'), nd.array([65536], 'int32')), /^mul: int32 result 4294967296/);
  throwsMatching(() => nd.pow(nd.array([2], 'int32'), 31), /^pow: int32 result 2147483648/);
  throwsMatching(() => nd.pow(nd.array([2], 'int32'), -1), /^pow: integers to negative integer powers are not allowed/);
  throwsMatching(() => nd.neg(nd.array([I32_MIN], 'int32')), /^neg: int32 result 2147483648/);
  throwsMatching(() => nd.abs(nd.array([I32_MIN], 'int32')), /^abs: int32 result 2147483648/);
  throwsMatching(() => nd.square(nd.array([46341], 'int32')), /^square: int32 result 2147488281/);
  // in range: exact, and still int32
  const r = nd.add(nd.array([I32_MAX - 1, I32_MIN], 'int32'), 1);
  assert.is(r.dtype, 'int32');
  assert.equal(r.toArray(), [I32_MAX, I32_MIN + 1]);
  assert.equal(nd.pow(nd.array([-2, 3], 'int32'), 3).toArray(), [-8, 27]);
  // comparing with a number no int32 holds stays exact
  assert.equal(nd.lt(nd.array([5], 'int32'), 3e9).toArray(), [true]);
  assert.equal(nd.eq(nd.array([-2147483648], 'int32'), -2147483649).toArray(), [false]);
});

test('int32 add/sub/mul: the exact result or a RangeError, never a wrapped value (property)', () => {
  const i32 = fc.integer({ min: I32_MIN, max: I32_MAX });
  fc.assert(
    fc.property(fc.constantFrom('add', 'sub', 'mul') as fc.Arbitrary<'add' | 'sub' | 'mul'>, fc.array(fc.tuple(i32, i32), { minLength: 1, maxLength: 5 }), (op, pairs) => {
      const a = nd.array(pairs.map((p) => p[0]), 'int32');
      const b = nd.array(pairs.map((p) => p[1]), 'int32');
      const exact = pairs.map(([x, y]) => (op === 'add' ? x + y : op === 'sub' ? x - y : x * y));
      if (exact.every(fitsI32)) assert.equal(values(nd[op](a, b)), exact.map((v) => v + 0));
      else throwsMatching(() => nd[op](a, b), new RegExp(`^${op}: int32 result .* overflows the int32 range`));
    }),
    params(300),
  );
});

test('int32 and bool sum/prod accumulate exactly and refuse results outside int32', () => {
  throwsMatching(() => nd.sum(nd.array([I32_MAX, 1], 'int32')), /^sum: int32 result 2147483648 overflows/);
  throwsMatching(() => nd.sum(nd.full([3, 2], 2 ** 30, 'int32'), 1), /^sum: int32 result 2147483648/);
  throwsMatching(() => nd.prod(nd.array([65536, 65536], 'int32')), /^prod: int32 result 4294967296/);
  // partial sums may leave int32 as long as the result fits
  const s = nd.sum(nd.array([I32_MAX, 1, -2], 'int32'));
  assert.is(s.dtype, 'int32');
  assert.is(s.item(), I32_MAX - 1);
  assert.equal(nd.sum(nd.array([[I32_MAX, -1], [I32_MIN, 1]], 'int32'), 1).toArray(), [I32_MAX - 1, I32_MIN + 1]);
  assert.is(nd.sum(nd.array([true, true, false])).item(), 2);
  assert.is(nd.sum(nd.array([true, true, false])).dtype, 'int32');
  // a product that overflowed float64 before meeting a 0 is still 0
  const huge = nd.cat([nd.full([40], I32_MAX, 'int32'), nd.zeros([1], 'int32')]);
  assert.is(nd.prod(huge).item(), 0);
});

test('int32 sum equals the exact sum or throws (property)', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: I32_MIN, max: I32_MAX }), { minLength: 1, maxLength: 8 }), (vs) => {
      const exact = vs.reduce((a, b) => a + b, 0);
      const x = nd.array(vs, 'int32');
      if (fitsI32(exact)) assert.is(nd.sum(x).item(), exact);
      else throwsMatching(() => nd.sum(x), /^sum: int32 result .* overflows/);
    }),
    params(300),
  );
});

// ------------------------------------------------------------ indices

const x23 = () => nd.array([[1, 2, 3], [4, 5, 6]], 'float64');

test('gather / scatterAdd / indexSelect / indexAdd refuse negative indices (as torch.gather and torch.index_select)', () => {
  const x = x23();
  throwsMatching(() => nd.gather(x, 1, nd.array([[-1], [0]], 'int32')), /^gather: index -1 is out of range for axis 1 of size 3 \(negative indices are not counted from the end\)/);
  throwsMatching(() => nd.scatterAdd(x, 1, nd.array([[0], [-1]], 'int32'), x), /^scatterAdd: index -1 is out of range for axis 1 of size 3/);
  throwsMatching(() => nd.indexSelect(x, 0, nd.array([0, -1], 'int32')), /^indexSelect: index -1 is out of range for axis 0 of size 2/);
  throwsMatching(() => nd.indexAdd(x, 0, nd.array([-2], 'int32'), nd.zeros([1, 3], 'float64')), /^indexAdd: index -2 is out of range for axis 0 of size 2/);
  throwsMatching(() => nd.indexSelect(x, 1, nd.array([3], 'int32')), /^indexSelect: index 3 is out of range for axis 1 of size 3$/);
  assert.equal(x.toArray(), [[1, 2, 3], [4, 5, 6]], 'inputs untouched');
});

test('an index with any entry outside [0, size) is refused by every index op; others succeed (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 4 }), fc.array(fc.integer({ min: -6, max: 6 }), { minLength: 1, maxLength: 6 }), (size, ids) => {
      const x = nd.arange(size * 2, undefined, 1, 'float64').reshape([2, size]);
      const idx = nd.array(ids, 'int32');
      const legal = ids.every((j) => j >= 0 && j < size);
      const calls = [
        () => nd.indexSelect(x, 1, idx),
        () => nd.indexAdd(x, 1, idx, nd.zeros([2, ids.length], 'float64')),
        () => nd.gather(x, 1, nd.stack([idx, idx])),
        () => nd.scatterAdd(x, 1, nd.stack([idx, idx]), nd.ones([2, ids.length], 'float64')),
      ];
      for (const call of calls) {
        if (legal) call();
        else throwsMatching(call, new RegExp(`index -?\\d+ is out of range for axis 1 of size ${size}`));
      }
    }),
    params(200),
  );
});

// ------------------------------------------------------------ sizes and positions

test('expand refuses negative (other than -1) and non-integer sizes', () => {
  const x = nd.zeros([1, 3]);
  throwsMatching(() => x.expand([-2, 3]), /^expand: invalid size in \[-2, 3\]/);
  throwsMatching(() => x.expand([2.5, 3]), /^expand: invalid size in \[2.5, 3\]/);
  throwsMatching(() => x.expand([4, 1, 3].map((d, i) => (i === 0 ? NaN : d))), /^expand: invalid size/);
  throwsMatching(() => x.expand([-3, 2, 3]), /^expand: invalid size/);
  assert.equal(x.expand([2, -1]).shape, [2, 3]);
  assert.equal(x.expand([0, 3]).shape, [0, 3]);
});

test('narrow, slice and get refuse fractional starts, lengths and indices', () => {
  const x = nd.arange(6).reshape([2, 3]);
  throwsMatching(() => x.narrow(1, 0, 1.5), /^narrow: start 0 and length 1.5 must be integers/);
  throwsMatching(() => x.narrow(1, 0.5, 1), /^narrow: start 0.5 and length 1 must be integers/);
  throwsMatching(() => x.narrow(1, NaN, 1), /^narrow: start NaN/);
  throwsMatching(() => x.slice(1, 0.5, 2), /^slice: start 0.5 and end 2 must be integers/);
  throwsMatching(() => x.slice(1, 0, 1.5), /^slice: start 0 and end 1.5 must be integers/);
  throwsMatching(() => x.get(0, 1.5), /^get: index 1.5 for axis 1 is not an integer/);
  throwsMatching(() => x.get(0.5, 1), /^get: index 0.5 for axis 0 is not an integer/);
  throwsMatching(() => x.set(1, NaN, 0), /^get: index NaN for axis 0 is not an integer/);
  assert.is(x.get(1, -1), 5);
  assert.equal(x.narrow(1, -2, 2).toArray(), [[1, 2], [4, 5]]);
});

test('narrow with any non-integer start or length throws; integers give the slice (property)', () => {
  fc.assert(
    fc.property(fc.oneof(fc.integer({ min: -4, max: 4 }), fc.double({ min: -4, max: 4 })), fc.oneof(fc.integer({ min: 0, max: 4 }), fc.double({ min: 0, max: 4 })), (start, length) => {
      const x = nd.arange(4);
      const ints = Number.isInteger(start) && Number.isInteger(length);
      if (!ints) throwsMatching(() => x.narrow(0, start, length), /^narrow: start .* must be integers/);
      else {
        const s = start < 0 ? start + 4 : start;
        if (s < 0 || s + length > 4) throwsMatching(() => x.narrow(0, start, length), /^narrow: .* out of range/);
        else assert.equal(x.narrow(0, start, length).toArray(), [0, 1, 2, 3].slice(s, s + length));
      }
    }),
    params(300),
  );
});

test('im2col/col2im refuse a window whose lists have the wrong lengths, naming the window', () => {
  const x = nd.zeros([1, 1, 4, 4]);
  const win = { kernel: [3, 3], stride: [1, 1], dilation: [1, 1], padding: [1, 1, 1, 1] } as const;
  throwsMatching(() => nd.im2col(x, { ...win, padding: [1, 1] as unknown as [number, number, number, number] }), /^im2col: invalid window .*padding \[1, 1\]/);
  throwsMatching(() => nd.im2col(x, { ...win, kernel: [3] as unknown as [number, number] }), /^im2col: invalid window \(kernel \[3\]/);
  throwsMatching(() => nd.col2im(nd.zeros([1, 1, 3, 3, 4, 4]), 4, 4, { ...win, stride: [1, 1, 1] as unknown as [number, number] }), /^col2im: invalid window/);
  assert.equal(nd.im2col(x, win).shape, [1, 1, 3, 3, 4, 4]);
});

test('conv2d and its gradients refuse mismatched shapes, dtypes and windows, naming the op and the shapes', () => {
  const win = { kernel: [3, 3], stride: [1, 1], dilation: [1, 1], padding: [1, 1, 1, 1] } as const;
  const [x, w, g] = [nd.zeros([2, 4, 5, 5]), nd.zeros([6, 2, 3, 3]), nd.zeros([2, 6, 5, 5])];
  assert.throws(() => nd.conv2d(x, w, win), /^conv2d: the weight must be \[Cout, C \/ groups, 3, 3\] .*input \[2, 4, 5, 5\], weight \[6, 2, 3, 3\], groups 1/);
  assert.equal(nd.conv2d(x, w, win, 2).shape, [2, 6, 5, 5]);
  assert.throws(() => nd.conv2d(x, w, win, 2, nd.zeros([5])), /^conv2d: bias must be a \[6\] float32 array; got float32 \[5\]/);
  assert.throws(() => nd.conv2d(x, nd.zeros([6, 2, 3, 3], 'float64'), win, 2), /^conv2d: expected float arrays of one dtype, got input float32, weight float64/);
  assert.throws(() => nd.conv2d(x, w, { ...win, padding: [0, 0, 0, 0], dilation: [3, 3] }, 2), /^conv2d: a kernel \[3, 3\] window .* over 5 x 5 gives -1 x -1 outputs/);
  throwsMatching(() => nd.conv2d(x, w, { ...win, stride: [0, 1] }, 2), /^conv2d: invalid window/);
  assert.throws(() => nd.conv2dInputGrad(nd.zeros([2, 6, 4, 5]), w, win, 2, [5, 5]), /^conv2dInputGrad: .* gives 5 x 5 outputs; got grad \[2, 6, 4, 5\]/);
  assert.equal(nd.conv2dInputGrad(g, w, win, 2, [5, 5]).shape, [2, 4, 5, 5]);
  assert.throws(() => nd.conv2dWeightGrad(x, nd.zeros([3, 6, 5, 5]), win, 2), /^conv2dWeightGrad: input and grad need the same batch .*input \[2, 4, 5, 5\], grad \[3, 6, 5, 5\]/);
  assert.equal(nd.conv2dWeightGrad(x, g, win, 2).shape, [6, 2, 3, 3]);
});

test.run();
