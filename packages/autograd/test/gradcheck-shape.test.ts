/**
 * Finite-difference checks of the shape ops (views and joins). Each op's output is
 * multiplied by a fixed random weight inside gradcheck's random cotangent anyway, so
 * a gradient routed to the wrong element shows up as a mismatch.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { cat, embedSlice, gradcheck, gradients, stack } from '../src/index.ts';
import { axisArb, checkViewed, f64, params, shapeArb, valuesArb, viewedArb, type Viewed } from './arbitraries.ts';

const RUNS = 40;

const inputOf = (opts: Parameters<typeof shapeArb>[0] = {}) => shapeArb(opts).chain((s) => fc.tuple(fc.constant(s), viewedArb(s)));

test('gradcheck: reshape to a random factorisation (with -1), from strided views', () => {
  const arb = inputOf({ maxDims: 3 }).chain(([s, x]) => {
    // the target: the input's non-1 sizes regrouped in a random order, plus size-1 axes
    const factors = s.filter((d) => d > 1);
    return fc.tuple(
      fc.constant(x),
      fc.shuffledSubarray(factors, { minLength: factors.length, maxLength: factors.length }),
      fc.array(fc.boolean(), { maxLength: 2 }),
      fc.boolean(),
      fc.boolean(),
    ).map(([xv, order, ones, merge, inferOne]) => {
      let target = [...order];
      if (merge && target.length >= 2) target = [target[0]! * target[1]!, ...target.slice(2)];
      for (const o of ones) target.splice(o ? 0 : target.length, 0, 1);
      if (inferOne && target.length > 0) target[target.length - 1] = -1;
      return [xv, target] as const;
    });
  });
  fc.assert(
    fc.property(arb, ([x, target]) => {
      const y = checkViewed((t) => t.reshape(target), [x]);
      // view() is the same op
      checkViewed((t) => t.view(target).mul(t.view(target)), [x]);
      return y;
    }),
    params(RUNS),
  );
});

test('gradcheck: flatten', () => {
  fc.assert(
    fc.property(inputOf({ minDims: 1, maxDims: 3 }), ([, x]) => checkViewed((t) => t.flatten(), [x])),
    params(15),
  );
});

test('gradcheck: transpose of two random axes', () => {
  const arb = inputOf({ minDims: 1, maxDims: 4 }).chain(([s, x]) => fc.tuple(fc.constant(x), axisArb(s.length), axisArb(s.length)));
  fc.assert(
    fc.property(arb, ([x, a, b]) => checkViewed((t) => t.transpose(a, b), [x])),
    params(RUNS),
  );
});

test('gradcheck: permute by a random permutation (and mT)', () => {
  const arb = inputOf({ minDims: 1, maxDims: 4 }).chain(([s, x]) => {
    const all = s.map((_, i) => i);
    return fc.tuple(fc.constant(x), fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length }), fc.boolean());
  });
  fc.assert(
    fc.property(arb, ([x, perm, negative]) => {
      const dims = negative ? perm.map((p) => p - perm.length) : perm;
      checkViewed((t) => t.permute(dims), [x]);
      if (perm.length >= 2) checkViewed((t) => t.mT, [x]);
      return true;
    }),
    params(RUNS),
  );
});

test('gradcheck: expand size-1 axes and new leading axes', () => {
  const arb = shapeArb({ maxDims: 3 }).chain((out) =>
    fc
      .tuple(
        fc.noBias(fc.integer({ min: 0, max: out.length })),
        fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
        fc.boolean(),
      )
      .chain(([drop, ones, useMinus1]) => {
        const src = out.slice(drop).map((d, i) => (ones[i + drop] ? 1 : d));
        // -1 keeps an existing size (only allowed on non-new axes)
        const target = out.map((d, i) => (useMinus1 && i >= drop && src[i - drop] === d ? -1 : d));
        return fc.tuple(viewedArb(src), fc.constant(target));
      }),
  );
  fc.assert(
    fc.property(arb, ([x, target]) => checkViewed((t) => t.expand(target), [x])),
    params(RUNS),
  );
});

test('gradcheck: unsqueeze at every position (negative included)', () => {
  const arb = inputOf({ maxDims: 3 }).chain(([s, x]) =>
    fc.tuple(fc.constant(x), fc.integer({ min: -(s.length + 1), max: s.length })),
  );
  fc.assert(
    fc.property(arb, ([x, axis]) => checkViewed((t) => t.unsqueeze(axis), [x])),
    params(RUNS),
  );
});

test('gradcheck: squeeze all, one axis, or a list of axes', () => {
  const arb = shapeArb({ maxDims: 4, minSide: 1, maxSide: 2 }).chain((s) =>
    fc.tuple(
      viewedArb(s),
      s.length === 0
        ? fc.constant<number | number[] | undefined>(undefined)
        : fc.oneof(fc.constant(undefined), axisArb(s.length), fc.subarray(s.map((_, i) => i))),
    ),
  );
  fc.assert(
    fc.property(arb, ([x, axes]) => checkViewed((t) => t.squeeze(axes), [x])),
    params(RUNS),
  );
});

test('gradcheck: slice with random start/end (negative, clamped) and step', () => {
  const arb = inputOf({ minDims: 1, maxDims: 3, maxSide: 5 }).chain(([s, x]) =>
    axisArb(s.length).chain((axis) => {
      const d = s[axis < 0 ? axis + s.length : axis]!;
      return fc.tuple(
        fc.constant(x),
        fc.constant(axis),
        fc.integer({ min: -d - 1, max: d }),
        fc.option(fc.integer({ min: -d - 1, max: d + 2 }), { nil: undefined }),
        fc.integer({ min: 1, max: 3 }),
      );
    }),
  );
  fc.assert(
    fc.property(arb, ([x, axis, start, end, step]) => checkViewed((t) => t.slice(axis, start, end, step), [x])),
    params(RUNS),
  );
});

test('gradcheck: narrow', () => {
  const arb = inputOf({ minDims: 1, maxDims: 3, maxSide: 4 }).chain(([s, x]) =>
    axisArb(s.length).chain((axis) => {
      const d = s[axis < 0 ? axis + s.length : axis]!;
      return fc
        .integer({ min: 0, max: d })
        .chain((start) => fc.tuple(fc.constant(x), fc.constant(axis), fc.constant(start), fc.integer({ min: 0, max: d - start }), fc.boolean()))
        .map(([xv, ax, st, len, neg]) => [xv, ax, neg && st > 0 ? st - d : st, len] as const);
    }),
  );
  fc.assert(
    fc.property(arb, ([x, axis, start, length]) => checkViewed((t) => t.narrow(axis, start, length), [x])),
    params(RUNS),
  );
});

test('gradcheck: embedSlice (the adjoint of slice) and slice of slice', () => {
  const g = f64([1, 2, 3, 4, 5, 6], [2, 3]);
  gradcheck((t) => embedSlice(t, [2, 8], 1, 1, 3), [g]);
  gradcheck((t) => t.slice(1, 1, undefined, 2).slice(0, 1).mul(t.slice(1, 0, 2).slice(0, 0, 1)), [f64([1, 2, 3, 4, 5, 6, 7, 8], [2, 4])]);
});

/** 2-4 inputs that agree except along `axis`, each strided or not. */
const catCase = shapeArb({ minDims: 1, maxDims: 3 }).chain((s) =>
  axisArb(s.length).chain((axis) =>
    fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 4 }).chain((sizes) => {
      const ax = axis < 0 ? axis + s.length : axis;
      return fc.tuple(fc.constant(axis), fc.tuple(...sizes.map((k) => viewedArb(s.map((d, i) => (i === ax ? k : d))))));
    }),
  ),
);

test('gradcheck: cat of several inputs (empty pieces included) along a random axis', () => {
  fc.assert(
    fc.property(catCase, ([axis, xs]) => checkViewed((...ts) => cat(ts, axis), xs)),
    params(RUNS),
  );
});

test('gradcheck: stack along every position', () => {
  const arb = shapeArb({ maxDims: 3 }).chain((s) =>
    fc.tuple(
      fc.integer({ min: -(s.length + 1), max: s.length }),
      fc.integer({ min: 1, max: 3 }).chain((k) => fc.tuple(...Array.from({ length: k }, () => viewedArb(s)))),
    ),
  );
  fc.assert(
    fc.property(arb, ([axis, xs]) => checkViewed((...ts) => stack(ts, axis), xs as Viewed[])),
    params(RUNS),
  );
});

test('cat: an input that does not require grad gets no gradient, the others do', () => {
  const a = f64([1, 2], [2]);
  const b = f64([3], [1], false);
  const c = f64([4, 5, 6], [3]);
  const [ga, gc] = gradients(cat([a, b, c]).mul(f64([1, 2, 3, 4, 5, 6], [6], false)).sum(), [a, c]);
  assert.equal([...ga!.data.toFloat64Array()], [1, 2]);
  assert.equal([...gc!.data.toFloat64Array()], [4, 5, 6]);
  assert.is(b.grad, null);
});

test('gradcheck: shape ops composed on one tensor (views of views)', () => {
  fc.assert(
    fc.property(
      fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })).chain(([a, b, c]) =>
        fc.tuple(fc.constant([a, b, c]), valuesArb(a * b * c)),
      ),
      ([[a, b, c], vals]) => {
        const x = f64(vals, [a, b, c]);
        return gradcheck(
          (t) => t.permute([2, 0, 1]).unsqueeze(1).expand([c, 2, a, b]).slice(1, 1).reshape([c, a * b]).transpose(0, 1).sum(1),
          [x],
        );
      },
    ),
    params(15),
  );
});

test.run();
