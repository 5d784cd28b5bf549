/**
 * Error messages: shape mismatches name the op and every shape, bad axes name the
 * op and the axis, ragged nested arrays and out-of-range indices are rejected.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import * as nd from '../src/index.ts';
import { broadcastShapesRef, params, shapeArb } from './arbitraries.ts';

const z = (shape: number[], dtype: nd.DType = 'float32') => nd.zeros(shape, dtype);
const sh = (s: readonly number[]) => `\\[${s.join(', ')}\\]`;
/** A regex for `op: ... [a] ... [b] ...`: the op first, then each shape in order. */
const names = (op: string, ...shapes: (readonly number[])[]) => new RegExp(`^${op}: .*${shapes.map(sh).join('.*')}`);

function throwsMatching(fn: () => unknown, re: RegExp): void {
  try {
    fn();
  } catch (e) {
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`expected an error matching ${re}`);
}

const BINARY = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'logicalAnd', 'logicalOr'] as const;

test('binary ops on incompatible shapes name the op and both shapes', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...BINARY),
      shapeArb({ minRank: 1, maxRank: 3, minSide: 0, maxSide: 4 }),
      shapeArb({ minRank: 1, maxRank: 3, minSide: 0, maxSide: 4 }),
      (op, a, b) => {
        if (broadcastShapesRef(a, b) !== null) {
          assert.equal(nd[op](z(a), z(b)).shape, broadcastShapesRef(a, b));
          return;
        }
        throwsMatching(() => nd[op](z(a), z(b)), names(op, a, b));
      },
    ),
    params(300),
  );
  throwsMatching(() => nd.add(z([2, 3]), z([4])), /^add: shapes \[2, 3\] and \[4\] cannot be broadcast together$/);
});

test('matmul errors name both shapes', () => {
  throwsMatching(() => nd.matmul(z([2, 3]), z([4, 5])), /^matmul: shapes \[2, 3\] and \[4, 5\] do not align \(3 != 4\)$/);
  throwsMatching(() => nd.matmul(z([3]), z([4])), names('matmul', [3], [4]));
  throwsMatching(() => nd.matmul(z([2, 2, 3]), z([3, 3, 1])), names('matmul', [2, 2, 3], [3, 3, 1]));
  throwsMatching(() => nd.matmul(z([]), z([3])), names('matmul', [], [3]));
});

test('joins, where, reshape and expand name their shapes', () => {
  throwsMatching(() => nd.cat([z([2, 3]), z([2, 4])], 0), names('cat', [2, 3], [2, 4]));
  throwsMatching(() => nd.cat([z([2, 3]), z([3])], 0), names('cat', [2, 3], [3]));
  throwsMatching(() => nd.cat([]), /^cat: /);
  throwsMatching(() => nd.stack([z([2, 3]), z([3, 2])]), names('stack', [2, 3], [3, 2]));
  throwsMatching(() => nd.where(z([2], 'bool'), z([3]), z([1])), names('where', [2], [3], [1]));
  throwsMatching(() => z([2, 3]).reshape([4, 2]), names('reshape', [2, 3], [4, 2]));
  throwsMatching(() => z([2, 3]).reshape([-1, 4]), names('reshape', [2, 3], [-1, 4]));
  throwsMatching(() => z([2, 3]).reshape([-1, -1]), /^reshape: only one -1/);
  throwsMatching(() => z([2, 3]).expand([4, 3, 2]), names('expand', [2, 3], [4, 3, 2]));
  throwsMatching(() => z([2, 3]).expand([3]), names('expand', [2, 3], [3]));
  throwsMatching(() => z([2, 3]).permute([0]), names('permute', [0], [2, 3]));
  throwsMatching(() => z([2, 3]).permute([1, 1]), /^permute: dims \[1, 1\] repeat an axis/);
  throwsMatching(() => nd.NDArray.fromTyped(new Float32Array(5), [2, 3]), /^fromTyped: 5 values cannot fill shape \[2, 3\]/);
  throwsMatching(() => nd.zeros([2, -1]), /^zeros: invalid shape \[2, -1\]/);
  throwsMatching(() => nd.rand([1.5]), /^rand: invalid shape \[1.5\]/);
});

test('bad axes name the op and the axis', () => {
  const x = z([2, 3]);
  const cases: [string, () => unknown][] = [
    ['sum', () => nd.sum(x, 2)],
    ['sum', () => nd.sum(x, -3)],
    ['prod', () => nd.prod(x, [0, 5])],
    ['mean', () => nd.mean(x, 7)],
    ['max', () => nd.max(x, 2)],
    ['min', () => nd.min(x, -3)],
    ['var', () => nd.variance(x, 4)],
    ['logsumexp', () => nd.logsumexp(x, 2)],
    ['argmax', () => nd.argmax(x, 2)],
    ['argmin', () => nd.argmin(x, -3)],
    ['softmax', () => nd.softmax(x, 2)],
    ['logSoftmax', () => nd.logSoftmax(x, -3)],
    ['transpose', () => x.transpose(0, 2)],
    ['permute', () => x.permute([0, 2])],
    ['slice', () => x.slice(2)],
    ['narrow', () => x.narrow(-3, 0, 1)],
    ['unsqueeze', () => x.unsqueeze(4)],
    ['squeeze', () => x.squeeze(2)],
    ['cat', () => nd.cat([x, x], 2)],
    ['stack', () => nd.stack([x, x], 4)],
    ['gather', () => nd.gather(x, 2, z([2, 3], 'int32'))],
    ['indexSelect', () => nd.indexSelect(x, 2, z([1], 'int32'))],
  ];
  for (const [op, fn] of cases) throwsMatching(fn, new RegExp(`^${op}: (axis -?\\d+ is out of range for a tensor with \\d+ dimension|dims)`));
  throwsMatching(() => nd.sum(x, [1, -1]), /^sum: repeated axis in \[1, -1\]/);
  throwsMatching(() => nd.sum(x, 0.5), /^sum: axis 0.5 is out of range/);
  throwsMatching(() => x.slice(0, 0, 2, 0), /^slice: step must be a positive integer, got 0/);
  throwsMatching(() => x.slice(0, 0, 2, -1), /^slice: step must be a positive integer, got -1/);
});

test('ragged or malformed nested arrays are rejected', () => {
  throwsMatching(() => nd.array([[1, 2], [3]]), /^array: ragged nested array \(expected length 2 at depth 1 for shape \[2, 2\]\)/);
  throwsMatching(() => nd.array([[1, 2], [3, 4, 5]]), /^array: ragged/);
  throwsMatching(() => nd.array([[[1]], [2]]), /^array: ragged/);
  throwsMatching(() => nd.array([[1, 2], 3] as never), /^array: ragged/);
  throwsMatching(() => nd.array([1, [2]] as never), /^array: expected a number or boolean at depth 1, got an array/);
  throwsMatching(() => nd.array([1, 'x'] as never), /^array: expected a number or boolean at depth 1, got string/);
  fc.assert(
    fc.property(shapeArb({ minRank: 1, maxRank: 3 }), fc.nat(), fc.boolean(), (shape, pick, longer) => {
      // make one innermost row one element longer or shorter
      const rows: number[][] = [];
      const build = (depth: number): unknown => {
        if (depth === shape.length - 1) {
          const row = new Array<number>(shape[depth]!).fill(1);
          rows.push(row);
          return row;
        }
        return Array.from({ length: shape[depth]! }, () => build(depth + 1));
      };
      const nested = build(0);
      const row = rows[pick % rows.length]!;
      if (longer) row.push(1);
      else if (row.length > 0) row.pop();
      else row.push(1);
      if (rows.length === 1) return; // a single row is never ragged
      assert.throws(() => nd.array(nested as never), /^array: /);
    }),
    params(100),
  );
});

test('out-of-range indices are rejected with the index and the size', () => {
  const x = nd.array([[1, 2, 3], [4, 5, 6]], 'float64');
  throwsMatching(() => nd.gather(x, 1, nd.array([[0], [3]], 'int32')), /^gather: index 3 is out of range for axis 1 of size 3/);
  throwsMatching(() => nd.gather(x, 1, nd.array([[-4], [0]], 'int32')), /^gather: index -4 is out of range/);
  assert.equal(nd.gather(x, 1, nd.array([[0, 1, 2, 0]], 'int32')).toArray(), [[1, 2, 3, 1]], 'the index may be longer along the axis');
  throwsMatching(() => nd.gather(x, 1, nd.array([[0], [0], [0]], 'int32')), names('gather', [3, 1], [2, 3]));
  throwsMatching(() => nd.scatterAdd(x, 0, nd.array([[2, 0, 0]], 'int32'), x), /^scatterAdd: index 2 is out of range for axis 0 of size 2/);
  throwsMatching(() => nd.indexSelect(x, 0, nd.array([2], 'int32')), /^indexSelect: index 2 is out of range for axis 0 of size 2/);
  throwsMatching(() => nd.indexSelect(x, 1, nd.array([-4], 'int32')), /^indexSelect: index -4 is out of range for axis 1 of size 3/);
  throwsMatching(() => nd.indexAdd(x, 0, nd.array([5], 'int32'), z([1, 3], 'float64')), /^indexAdd: index 5 is out of range/);
  throwsMatching(() => nd.indexAdd(x, 0, nd.array([0], 'int32'), z([2, 3], 'float64')), names('indexAdd', [2, 3], [1, 3]));
  throwsMatching(() => nd.oneHot(nd.array([0, 3], 'int32'), 3), /^oneHot: class 3 is out of range for 3 classes/);
  throwsMatching(() => nd.oneHot(nd.array([-1], 'int32'), 3), /^oneHot: class -1 is out of range/);
  throwsMatching(() => nd.gather(x, 1, nd.array([[0]], 'float32')), /^gather: index must be an int32 array, got float32/);
  throwsMatching(() => x.get(0, 3), /^get: index 3 out of range for axis 1 of size 3/);
  throwsMatching(() => x.get(0), /^get: index of length 1 for a tensor of shape \[2, 3\]/);
  throwsMatching(() => x.narrow(1, 2, 2), /^narrow: \[2, 2\+2\) is out of range for axis 1 of size 3/);
  throwsMatching(() => nd.randint(3, 3, [2]), /^randint: need high > low, got \[3, 3\)/);
  throwsMatching(() => nd.arange(0, 1, 0), /^arange: step must not be 0/);
  // nothing was written by the failed in-place kernels
  assert.equal(x.toArray(), [[1, 2, 3], [4, 5, 6]]);
});

test.run();
