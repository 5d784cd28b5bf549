/**
 * NDArray views: strided reads, transpose/permute, reshape, slice, expand,
 * (un)squeeze, narrow, and which results alias their base.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { castScalar, NDArray, type DType } from '../src/index.ts';
import { ALL_DTYPES, layoutArb, makeView, params, randomArray, seedArb, shapeArb, viewArb, type Layout } from './arbitraries.ts';
import { assertArray, at, build, indices, values } from './reference.ts';

/** Storage shape of the base that `makeView(shape, layout, ...)` cuts from. */
function storedShape(shape: readonly number[], layout: Layout): number[] {
  const baseDims = shape.map((d, i) =>
    layout.expanded[i] ? 1 : layout.starts[i]! + (d > 0 ? (d - 1) * layout.steps[i]! + 1 : 0) + layout.slack[i]!,
  );
  return layout.perm.map((a) => baseDims[a]!);
}

/** The index into the stored base that view element `idx` reads. */
function storedIndex(idx: readonly number[], layout: Layout): number[] {
  const base = idx.map((v, i) => (layout.expanded[i] ? 0 : layout.starts[i]! + v * layout.steps[i]!));
  return layout.perm.map((a) => base[a]!);
}

const viewCase = fc.record({
  shape: shapeArb({ maxRank: 4, minSide: 0 }),
  seed: seedArb(),
  dtype: fc.constantFrom(...ALL_DTYPES),
}).chain((c) => layoutArb(c.shape.length).map((layout) => ({ ...c, layout })));

test('a strided view reads exactly the base elements its layout names', () => {
  fc.assert(
    fc.property(viewCase, ({ shape, seed, dtype, layout }) => {
      const v = makeView(shape, layout, seed, { dtype });
      const base = randomArray(storedShape(shape, layout), seed, { dtype }).toArray();
      const expected = build(shape, (idx) => at(base, storedIndex(idx, layout)));
      assertArray(v, expected, { shape, dtype });
      // toArray, get, toTyped and contiguous() all agree with the reference
      assert.equal(flatBool(v.toArray(), dtype), values(v));
      for (const idx of indices(shape)) assert.is(v.get(...idx), at(expected, idx));
      assert.equal(Array.from(v.toTyped()), values(v));
      assertArray(v.contiguous(), expected, { shape, dtype });
      assert.ok(v.contiguous().isContiguous());
    }),
    params(400),
  );
});

function flatBool(nested: unknown, dtype: DType): number[] {
  const flat = ([] as unknown[]).concat(nested as never).flat(Infinity) as (number | boolean)[];
  if (dtype === 'bool') assert.ok(flat.every((v) => typeof v === 'boolean'), 'bool arrays give booleans');
  return flat.map(Number);
}

test('views alias their base; contiguous() copies do not', () => {
  fc.assert(
    fc.property(viewCase, fc.nat(), ({ shape, seed, layout }, pick) => {
      const v = makeView(shape, layout, seed, { dtype: 'float64' });
      if (v.size === 0) return;
      const stored = storedShape(shape, layout);
      const base = NDArray.fromTyped(v.data, stored); // the base the view was cut from
      const all = indices(shape);
      const idx = all[pick % all.length]!;
      const sIdx = storedIndex(idx, layout);
      const before = v.toArray();
      const copy = v.contiguous();
      const isCopy = copy !== v;
      base.set(123.5, ...sIdx);
      // the view sees the write, at every element that reads that base element
      for (const j of all) {
        const same = storedIndex(j, layout).every((a, k) => a === sIdx[k]);
        assert.is(v.get(...j), same ? 123.5 : at(before, j));
      }
      if (isCopy) {
        assert.is.not(copy.data, v.data);
        assertArray(copy, before, { what: 'copy made before the write' });
        const after = v.toArray();
        copy.data.fill(-7);
        assert.equal(v.toArray(), after, 'mutating the copy leaves the view unchanged');
      } else {
        assert.ok(v.isContiguous() && v.offset === 0 && v.data.length === v.size, 'contiguous() only returns `this` for dense arrays');
      }
    }),
    params(400),
  );
});

test('a non-contiguous view really is copied by contiguous()', () => {
  const base = randomArray([3, 4], 1, { dtype: 'float32' });
  for (const v of [base.transpose(0, 1), base.slice(1, 0, 4, 2), base.slice(0, 1), base.narrow(1, 1, 2), base.slice(0, 0, 1).expand([5, 4])]) {
    const c = v.contiguous();
    assert.is.not(c.data, base.data);
    assert.equal(c.toArray(), v.toArray());
    c.data.fill(9);
    assert.not.equal(v.toArray(), c.toArray());
  }
  // slicing, permuting, expanding and reshaping a contiguous array are views
  for (const v of [base.transpose(0, 1), base.slice(1, 1, 3), base.unsqueeze(0).expand([2, 3, 4]), base.reshape([4, 3]), base.squeeze(), base.unsqueeze(2)]) {
    assert.is(v.data, base.data);
  }
});

test('transpose twice is the identity; transpose matches a nested-array reference', () => {
  fc.assert(
    fc.property(
      shapeArb({ minRank: 1, maxRank: 4, minSide: 0 }).chain((s) =>
        fc.tuple(viewArb(s), fc.integer({ min: -s.length, max: s.length - 1 }), fc.integer({ min: -s.length, max: s.length - 1 })),
      ),
      ([x, d0, d1]) => {
        const n = x.ndim;
        const a = (d0 + n) % n;
        const b = (d1 + n) % n;
        const t = x.transpose(d0, d1);
        const shape = [...x.shape];
        [shape[a], shape[b]] = [shape[b]!, shape[a]!];
        const nested = x.toArray();
        assertArray(t, build(shape, (idx) => {
          const src = [...idx];
          [src[a], src[b]] = [src[b]!, src[a]!];
          return at(nested, src);
        }), { shape });
        const tt = t.transpose(d0, d1);
        assert.equal(tt.shape, x.shape);
        assert.equal(tt.strides, x.strides);
        assert.equal(tt.toArray(), nested);
        assert.is(t.data, x.data, 'transpose is a view');
      },
    ),
    params(400),
  );
});

test('permute then the inverse permutation is the identity', () => {
  fc.assert(
    fc.property(
      shapeArb({ maxRank: 4, minSide: 0 }).chain((s) =>
        fc.tuple(
          viewArb(s),
          fc.shuffledSubarray(s.map((_, i) => i), { minLength: s.length, maxLength: s.length }),
          fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }),
        ),
      ),
      ([x, perm, negate]) => {
        const n = x.ndim;
        const dims = perm.map((p, i) => (negate[i] ? p - n : p));
        const p = x.permute(dims);
        const nested = x.toArray();
        assertArray(p, build(perm.map((a) => x.shape[a]!), (idx) => {
          const src = new Array<number>(n);
          perm.forEach((a, j) => (src[a] = idx[j]!));
          return at(nested, src);
        }));
        const inverse = new Array<number>(n);
        perm.forEach((a, j) => (inverse[a] = j));
        const back = p.permute(inverse);
        assert.equal(back.shape, x.shape);
        assert.equal(back.toArray(), nested);
      },
    ),
    params(400),
  );
});

/** A shape with the same number of elements as `size`, built from arbitrary choices. */
function reshapeTarget(size: number, choices: number[], minusOne: number | null): number[] {
  const out: number[] = [];
  let rest = size;
  for (const c of choices) {
    if (rest === 0) {
      out.push(c % 3);
      continue;
    }
    const divisors = Array.from({ length: rest }, (_, i) => i + 1).filter((d) => rest % d === 0);
    const d = divisors[c % divisors.length]!;
    out.push(d);
    rest /= d;
  }
  if (rest !== 1 || out.length === 0) out.push(rest);
  if (size === 0 && !out.includes(0)) out.push(0);
  if (minusOne !== null && size > 0) out[minusOne % out.length] = -1;
  return out;
}

test('reshape of a strided view equals reshape of its contiguous copy', () => {
  fc.assert(
    fc.property(
      shapeArb({ maxRank: 4, minSide: 0 }).chain((s) =>
        fc.tuple(viewArb(s), fc.array(fc.nat(), { maxLength: 4 }), fc.option(fc.nat(), { nil: null })),
      ),
      ([x, choices, minusOne]) => {
        const target = reshapeTarget(x.size, choices, minusOne);
        const r = x.reshape(target);
        const expected = x.contiguous().reshape(target);
        assert.equal(r.shape, expected.shape);
        assert.equal(r.toArray(), expected.toArray());
        // row-major order of elements is kept
        assert.equal(values(r), values(x));
        if (x.isContiguous()) assert.is(r.data, x.data, 'reshaping a contiguous array is a view');
        if (r.data === x.data && r.size > 0) {
          // a view must really alias: write through it and read back from x
          const k = r.size - 1;
          const last = indices(r.shape)[k]!;
          r.set(77, ...last);
          assert.is(values(x)[k], castScalar(77, x.dtype));
        }
      },
    ),
    params(400),
  );
});

test('reshape keeps known view cases as views', () => {
  const base = randomArray([4, 6], 3, { dtype: 'float64' });
  // splitting a strided axis, merging leading axes of a sliced array, adding size-1 axes
  const cases: [NDArray, number[]][] = [
    [base.slice(1, 0, 6, 2), [2, 2, 3]],
    [base.slice(0, 1, 3), [12]],
    [base.transpose(0, 1), [6, 1, 4, 1]],
    [base.unsqueeze(0).expand([3, 4, 6]), [3, 24]],
  ];
  for (const [v, shape] of cases) {
    const r = v.reshape(shape);
    assert.is(r.data, base.data, `reshape of [${v.shape}] to [${shape}] should be a view`);
    assert.equal(values(r), values(v));
  }
  // but merging axes of a transpose must copy
  assert.is.not(base.transpose(0, 1).reshape([24]).data, base.data);
});

/** Python's slice semantics for step > 0, written independently of NDArray.slice. */
function pySlice(d: number, start: number | undefined, end: number | undefined, step: number): number[] {
  const norm = (v: number | undefined, dflt: number) => {
    if (v === undefined) return dflt;
    if (v < 0) return Math.max(v + d, 0);
    return Math.min(v, d);
  };
  const out: number[] = [];
  for (let i = norm(start, 0); i < norm(end, d); i += step) out.push(i);
  return out;
}

test('slice with steps and negative bounds matches Python slicing of nested arrays', () => {
  const bound = fc.option(fc.integer({ min: -6, max: 6 }), { nil: undefined });
  fc.assert(
    fc.property(
      shapeArb({ minRank: 1, maxRank: 3, minSide: 0, maxSide: 5 }).chain((s) =>
        fc.tuple(viewArb(s), fc.integer({ min: -s.length, max: s.length - 1 }), bound, bound, fc.integer({ min: 1, max: 3 })),
      ),
      ([x, axis, start, end, step]) => {
        const ax = axis < 0 ? axis + x.ndim : axis;
        const picked = pySlice(x.shape[ax]!, start, end, step);
        const s = x.slice(axis, start, end, step);
        const shape = [...x.shape];
        shape[ax] = picked.length;
        const nested = x.toArray();
        assertArray(s, build(shape, (idx) => at(nested, idx.map((v, i) => (i === ax ? picked[v]! : v)))), { shape });
        assert.is(s.data, x.data, 'slice is a view');
      },
    ),
    params(400),
  );
});

test('narrow equals the matching slice; out-of-range narrow throws', () => {
  fc.assert(
    fc.property(
      shapeArb({ minRank: 1, maxRank: 3, minSide: 0, maxSide: 5 }).chain((s) =>
        fc.tuple(viewArb(s), fc.integer({ min: 0, max: s.length - 1 }), fc.nat(), fc.nat()),
      ),
      ([x, axis, a, b]) => {
        const d = x.shape[axis]!;
        const start = a % (d + 1);
        const length = b % (d - start + 1);
        const n = x.narrow(axis, start, length);
        assert.equal(n.toArray(), x.slice(axis, start, start + length).toArray());
        assert.is(n.shape[axis], length);
        if (start > 0) assert.equal(x.narrow(axis, start - d, length).toArray(), n.toArray(), 'negative start');
        assert.throws(() => x.narrow(axis, start, d - start + 1), /narrow/);
      },
    ),
    params(400),
  );
});

test('unsqueeze inserts a size-1 axis; squeeze removes size-1 axes only', () => {
  fc.assert(
    fc.property(
      shapeArb({ maxRank: 4, minSide: 0 }).chain((s) => fc.tuple(viewArb(s), fc.integer({ min: -s.length - 1, max: s.length }), fc.integer({ min: 0, max: 4 }))),
      ([x, axis, sq]) => {
        const n = x.ndim;
        const u = x.unsqueeze(axis);
        const ax = axis < 0 ? axis + n + 1 : axis;
        const shape = [...x.shape];
        shape.splice(ax, 0, 1);
        assert.equal(u.shape, shape);
        assert.equal(values(u), values(x));
        assert.equal(u.squeeze(ax).toArray(), x.toArray());
        assert.equal(u.squeeze(ax - n - 1).toArray(), x.toArray(), 'negative squeeze axis');
        // squeeze() drops every size-1 axis, squeeze(a) only axis a and only if it is 1
        assert.equal(x.squeeze().shape, x.shape.filter((d) => d !== 1));
        assert.equal(values(x.squeeze()), values(x));
        if (n > 0) {
          const a = sq % n;
          assert.equal(x.squeeze(a).shape, x.shape.filter((d, i) => i !== a || d !== 1));
        }
        // unsqueeze of a view is still a view of the same storage
        assert.is(u.data, x.data);
      },
    ),
    params(400),
  );
});

test('expand broadcasts size-1 axes and adds leading axes (stride 0, no copy)', () => {
  fc.assert(
    fc.property(
      shapeArb({ maxRank: 3 }).chain((s) =>
        fc.tuple(fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }), fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 2 })).chain(
          ([ones, lead]) => fc.tuple(viewArb(s.map((d, i) => (ones[i] ? 1 : d))), fc.constant(s), fc.constant(lead)),
        ),
      ),
      ([x, full, lead]) => {
        const target = [...lead, ...full];
        const e = x.expand(target);
        assert.equal(e.shape, target);
        assert.is(e.data, x.data);
        const nested = x.toArray();
        assertArray(e, build(target, (idx) => at(nested, idx.slice(lead.length).map((v, i) => (x.shape[i] === 1 ? 0 : v)))));
        // -1 keeps an existing size
        assert.equal(x.expand([...lead, ...x.shape.map(() => -1)]).shape, [...lead, ...x.shape]);
      },
    ),
    params(100),
  );
});

test('0-d arrays, item, get/set with negative indices, astype', () => {
  const s = NDArray.fromTyped(new Float64Array([2.5]), []);
  assert.is(s.ndim, 0);
  assert.is(s.size, 1);
  assert.is(s.item(), 2.5);
  assert.is(s.toArray(), 2.5);
  assert.equal(s.reshape([1, 1]).shape, [1, 1]);
  assert.is(s.reshape([1, 1]).reshape([]).item(), 2.5);
  const x = randomArray([2, 3], 5, { dtype: 'int32', low: -9, high: 9 });
  x.set(42, -1, -2);
  assert.is(x.get(1, 1), 42);
  assert.is(x.transpose(0, 1).get(-2, -1), 42);
  x.set(2.9, 0, 0);
  assert.is(x.get(0, 0), 2, 'set rounds to the dtype');
  assert.is(x.slice(1, 1).slice(0, 1).narrow(1, 0, 1).item(), 42, 'item of a one-element view');
  assert.throws(() => x.get(2, 0), /get: index 2 out of range for axis 0 of size 2/);
  assert.throws(() => x.item(), /item: tensor of shape \[2, 3\] has 6 elements/);
});

test('astype converts every element like storing it into the new dtype', () => {
  fc.assert(
    fc.property(
      shapeArb({ minSide: 0 }).chain((s) => fc.tuple(viewArb(s, { dtype: 'float64', low: -1e10, high: 1e10, specials: 0.2 }), fc.constantFrom(...ALL_DTYPES))),
      ([x, dtype]) => {
        const y = x.astype(dtype);
        const ref = values(x).map((v) => (dtype === 'int32' ? castScalar(Math.trunc(v), 'int32') : castScalar(v, dtype)));
        assertArray(y, ref, { dtype, shape: x.shape });
        assert.ok(y.isContiguous());
        assert.is.not(y.data, x.data);
      },
    ),
    params(100),
  );
});

test.run();
