/**
 * The row walker `stridedRows` (strided.ts), which every strided loop builds on: its
 * rows visit exactly the storage index `offset + sum idx[d] * strides[d]` of every
 * element in row-major order, for any shape, strides and offset, including layouts
 * whose storage indices pass 2^31 (they used to wrap in an Int32Array).
 */
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NDArray } from '../src/index.ts';
import { stridedRows, type Layout } from '../src/strided.ts';

const SEED = Number(process.env.TSGRAD_FC_SEED ?? 20_240_611);

/** Storage index of every element, row-major, by the closed form (the reference). */
function closedForm(shape: readonly number[], layout: Layout): number[] {
  let idx: number[][] = [[]];
  for (const d of shape) idx = idx.flatMap((prefix) => Array.from({ length: d }, (_, i) => [...prefix, i]));
  if (shape.some((d) => d === 0)) return [];
  return idx.map((ix) => ix.reduce((p, v, d) => p + v * layout.strides[d]!, layout.offset));
}

/** The storage index of every element as the rows of `stridedRows` list them. */
function walked(shape: readonly number[], layouts: readonly Layout[]): number[][] {
  const { length, count, step, start } = stridedRows(shape, layouts);
  return layouts.map((_, k) => {
    const out: number[] = [];
    for (let r = 0; r < count; r++) for (let j = 0; j < length; j++) out.push(start[k]![r]! + j * step[k]!);
    return out;
  });
}

const shapeArb = fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 0, maxLength: 4 });
/** Strides from 0 (broadcast) and small (dense-ish, so axes merge) up to 2^40. */
const strideArb = fc.oneof(fc.constantFrom(0, 1, 2, 3, 4, 12), fc.integer({ min: 0, max: 2 ** 40 }));
const offsetArb = fc.oneof(fc.constantFrom(0, 7), fc.integer({ min: 0, max: 2 ** 40 }));
const layoutArb = (rank: number) => fc.record({ strides: fc.array(strideArb, { minLength: rank, maxLength: rank }), offset: offsetArb });

test('stridedRows visits the storage index of every element in row-major order, for any strides and offsets', () => {
  fc.assert(
    fc.property(
      shapeArb.chain((shape) => fc.tuple(fc.constant(shape), fc.array(layoutArb(shape.length), { minLength: 1, maxLength: 3 }))),
      ([shape, layouts]) => {
        const rows = walked(shape, layouts);
        layouts.forEach((layout, k) => assert.equal(rows[k], closedForm(shape, layout), `operand ${k}`));
      },
    ),
    { numRuns: 300, seed: SEED },
  );
});

test('row starts past 2^31 elements do not wrap (a [3, 2^30] bool view reads row 2 at 2^31)', () => {
  // the layout of a dense [3, 2^30] array; its third row starts at 2^31, which an Int32Array stores as -2^31
  const { start, count, length } = stridedRows([3, 2], [{ strides: [2 ** 30, 1], offset: 0 }]);
  assert.is(count, 3);
  assert.is(length, 2);
  assert.equal([...start[0]!], [0, 2 ** 30, 2 ** 31]);
  // a scalar at storage index 2^32 + 5, and a row ending past 2^32
  assert.equal([...stridedRows([], [{ strides: [], offset: 2 ** 32 + 5 }]).start[0]!], [2 ** 32 + 5]);
  assert.equal([...stridedRows([2, 1, 3], [{ strides: [2 ** 32, 9, 1], offset: 2 ** 31 }]).start[0]!], [2 ** 31, 2 ** 31 + 2 ** 32]);
});

test('small layouts keep int32 row starts (the hot loops index storage with small integers)', () => {
  const x = NDArray.zeros([4, 5, 6]).permute([2, 0, 1]);
  assert.instance(stridedRows(x.shape, [x]).start[0], Int32Array);
});

test('forEachIndex walks the same positions, on an expanded and strided view', () => {
  const base = NDArray.fromTyped(Float32Array.from({ length: 24 }, (_, i) => i), [2, 3, 4]);
  const v = base.permute([2, 0, 1]).slice(0, 1, 4, 2).unsqueeze(1).expand([2, 3, 2, 3]);
  const seen: [number, number][] = [];
  v.forEachIndex((p, i) => seen.push([p, i]));
  const want = closedForm(v.shape, v);
  assert.equal(
    seen,
    want.map((p, i) => [p, i]),
  );
});

test.run();
