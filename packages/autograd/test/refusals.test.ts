/**
 * The tensor layer's refusals reach autograd users unchanged (issue 10): int32 values and
 * sums that do not fit, negative indices, and non-integer sizes throw through `Tensor`.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { arange, tensor } from '../src/index.ts';

test('int32 tensors refuse values, ranges and sums outside int32', () => {
  assert.throws(() => tensor([3e9], { dtype: 'int32' }), /^array: value 3000000000 does not fit in int32/);
  assert.throws(() => arange(2 ** 31 - 1, 2 ** 31 + 1), /^arange: value 2147483648 does not fit in int32/);
  assert.throws(() => tensor([2 ** 30, 2 ** 30], { dtype: 'int32' }).sum(), /^sum: int32 result 2147483648 overflows/);
  assert.throws(() => tensor([1], { dtype: 'int32' }).add(3e9), /^add: value 3000000000 does not fit in int32/);
  assert.is(tensor([2 ** 30, 2 ** 30 - 1], { dtype: 'int32' }).sum().item(), 2 ** 31 - 1);
});

test('indexing and view ops refuse negative indices and fractional sizes', () => {
  const x = tensor([[1, 2, 3]], { requiresGrad: true });
  assert.throws(() => x.indexSelect(1, tensor([-1], { dtype: 'int32' })), /^indexSelect: index -1 is out of range for axis 1 of size 3/);
  assert.throws(() => x.gather(1, tensor([[-1]], { dtype: 'int32' })), /^gather: index -1 is out of range/);
  assert.throws(() => x.expand([-2, 3]), /^expand: invalid size in \[-2, 3\]/);
  assert.throws(() => x.expand([2.5, 3]), /^expand: invalid size/);
  assert.throws(() => x.narrow(1, 0, 1.5), /^narrow: start 0 and length 1.5 must be integers/);
});

test.run();
