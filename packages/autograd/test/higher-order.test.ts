/**
 * Higher-order gradients: gradgradcheck (Hessian-vector products of <c, f> against
 * finite differences of gradients) for the derivative rules, an explicit
 * Hessian-vector product test, and grad(grad(f)) against closed forms.
 *
 * Linear ops (shape, indexing) have a constant first derivative, so they are checked
 * composed with a square: the second derivative of sum(L(x)^2) is 2 L^T L, which
 * differentiates L's backward rule itself.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { cat, gradgradcheck, grad, gradients, indexAdd, scatterAdd, stack, Tensor, valueAndGrad, where } from '../src/index.ts';
import {
  awayFromZeroArb,
  axisArb,
  broadcastPairArb,
  checkViewed,
  distinctValuesArb,
  f64,
  indexArb,
  layoutArb,
  maskArb,
  maxAbsDiff,
  params,
  shapeArb,
  sizeOf,
  valuesArb,
  viewedArb,
  viewedFromViewValues,
} from './arbitraries.ts';

const RUNS = 25;
const second = { secondOrder: true } as const;

type Values = (n: number) => fc.Arbitrary<number[]>;

function unary2(name: string, f: (x: Tensor) => Tensor, values: Values = (n) => valuesArb(n)): void {
  test(`gradgradcheck: ${name}`, () => {
    fc.assert(
      fc.property(shapeArb({ maxDims: 3 }).chain((s) => viewedArb(s, values)), (x) => checkViewed(f, [x], second)),
      params(RUNS),
    );
  });
}

function binary2(name: string, f: (a: Tensor, b: Tensor) => Tensor, va: Values = (n) => valuesArb(n), vb: Values = va): void {
  test(`gradgradcheck: ${name} on broadcasting pairs`, () => {
    fc.assert(
      fc.property(
        broadcastPairArb().chain(([sa, sb]) => fc.tuple(viewedArb(sa, va), viewedArb(sb, vb))),
        ([a, b]) => checkViewed(f, [a, b], second),
      ),
      params(RUNS),
    );
  });
}

// ------------------------------------------------------------------ the required ones

test('gradgradcheck: matmul (all rank combinations) and through a nonlinearity', () => {
  const shapes = fc
    .tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 2 }))
    .chain(([m, k, n, b]) =>
      fc.constantFrom<[number[], number[]]>([[k], [k]], [[k], [k, n]], [[m, k], [k]], [[m, k], [k, n]], [[b, m, k], [k, n]], [[b, 1, m, k], [b, k, n]]),
    );
  fc.assert(
    fc.property(
      shapes.chain(([sa, sb]) => fc.tuple(viewedArb(sa), viewedArb(sb))),
      ([a, b]) => {
        checkViewed((x, y) => x.matmul(y), [a, b], second);
        checkViewed((x, y) => x.matmul(y).tanh(), [a, b], second);
        return true;
      },
    ),
    params(RUNS),
  );
});

binary2('mul', (a, b) => a.mul(b));
unary2('mul (x * x, one tensor twice)', (x) => x.mul(x).mul(x));
unary2('exp', (x) => x.exp());
unary2('tanh', (x) => x.tanh(), (n) => valuesArb(n, -3, 3));

test('gradgradcheck: softmax and logSoftmax along a random axis', () => {
  fc.assert(
    fc.property(
      shapeArb({ minDims: 1, maxDims: 3 }).chain((s) => fc.tuple(viewedArb(s, (n) => valuesArb(n, -3, 3)), axisArb(s.length))),
      ([x, axis]) => {
        checkViewed((t) => t.softmax(axis), [x], second);
        checkViewed((t) => t.logSoftmax(axis), [x], second);
        return true;
      },
    ),
    params(RUNS),
  );
});

test('gradgradcheck (the standalone function) on softmax, matmul and mul', () => {
  const x = f64([0.3, -1.2, 2.0, 0.1, 0.5, -0.7], [2, 3]);
  const w = f64([1, -2, 0.5, 0.3, 0.2, 1.1], [3, 2]);
  assert.ok(gradgradcheck((t) => t.softmax(1), [x]));
  assert.ok(gradgradcheck((a, b) => a.matmul(b), [x, w]));
  assert.ok(gradgradcheck((a, b) => a.mul(b.mT), [x, w]));
});

// ------------------------------------------------------------------ the other smooth rules

binary2('add / sub combined with mul', (a, b) => a.add(b).mul(a.sub(b)));
binary2('div', (a, b) => a.div(b), (n) => valuesArb(n), (n) => awayFromZeroArb(n, 0.5, 2));
binary2('pow (positive base)', (a, b) => a.pow(b), (n) => valuesArb(n, 0.3, 2), (n) => valuesArb(n, -2, 2));
unary2('log', (x) => x.log(), (n) => valuesArb(n, 0.3, 3));
unary2('sqrt', (x) => x.sqrt(), (n) => valuesArb(n, 0.3, 3));
unary2('sigmoid', (x) => x.sigmoid(), (n) => valuesArb(n, -4, 4));
unary2("gelu('none')", (x) => x.gelu('none'), (n) => valuesArb(n, -3, 3));
unary2("gelu('tanh')", (x) => x.gelu('tanh'), (n) => valuesArb(n, -3, 3));
unary2('erf', (x) => x.erf(), (n) => valuesArb(n, -2, 2));
unary2('sin', (x) => x.sin(), (n) => valuesArb(n, -4, 4));
unary2('cos', (x) => x.cos(), (n) => valuesArb(n, -4, 4));
unary2('neg, abs and relu times a square (piecewise, away from 0)', (x) => x.neg().abs().mul(x).add(x.relu().mul(x)), (n) => awayFromZeroArb(n));
unary2("to('float64') / clone / contiguous", (x) => x.to('float64').clone().contiguous().mul(x));

test('gradgradcheck: reductions (sum, mean, var, logsumexp) over random axes', () => {
  fc.assert(
    fc.property(
      shapeArb({ minDims: 1, maxDims: 3 }).chain((s) => fc.tuple(viewedArb(s, (n) => valuesArb(n, -2, 2)), axisArb(s.length), fc.boolean())),
      ([x, axis, keepdim]) => {
        checkViewed((t) => t.sum(axis, keepdim).pow(2), [x], second);
        checkViewed((t) => t.mean(axis, keepdim).exp(), [x], second);
        checkViewed((t) => t.var(axis, { unbiased: false, keepdim }), [x], second);
        checkViewed((t) => t.logsumexp(axis, keepdim), [x], second);
        return true;
      },
    ),
    params(RUNS),
  );
});

test('gradgradcheck: max and min over an axis (distinct values, no ties)', () => {
  const arb = shapeArb({ minDims: 1, maxDims: 3 }).chain((s) =>
    fc.tuple(fc.constant(s), distinctValuesArb(sizeOf(s)), layoutArb, axisArb(s.length), fc.boolean()),
  );
  fc.assert(
    fc.property(arb, ([s, vals, layout, axis, keepdim]) =>
      checkViewed((t) => t.max(axis, keepdim).mul(t.min(axis, keepdim)).mul(t.sum()), [viewedFromViewValues(s, vals, layout)], second),
    ),
    params(RUNS),
  );
});

test('gradgradcheck: maximum / minimum (a on a grid, b on the grid shifted by half a step: no ties)', () => {
  const arb = broadcastPairArb().chain(([sa, sb]) =>
    fc.tuple(fc.constant(sa), fc.constant(sb), distinctValuesArb(sizeOf(sa), 0, 0.01, 2), distinctValuesArb(sizeOf(sb), 0.005, 0.01, 2), layoutArb, layoutArb),
  );
  fc.assert(
    fc.property(arb, ([sa, sb, va, vb, la, lb]) =>
      checkViewed((x, y) => x.maximum(y).exp().mul(x.minimum(y).pow(2)), [viewedFromViewValues(sa, va, la), viewedFromViewValues(sb, vb, lb)], second),
    ),
    params(RUNS),
  );
});

/** Shape ops composed with a square, so their backward rules get differentiated. */
test('gradgradcheck: shape ops (reshape, permute, transpose, expand, (un)squeeze, slice, narrow)', () => {
  fc.assert(
    fc.property(
      fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 })).chain(([m, n]) => viewedArb([m, n])),
      (x) => {
        const sq = (f: (t: Tensor) => Tensor) => (t: Tensor) => {
          const y = f(t);
          return y.mul(y).mul(t.sum());
        };
        checkViewed(sq((t) => t.reshape([-1])), [x], second);
        checkViewed(sq((t) => t.permute([1, 0])), [x], second);
        checkViewed(sq((t) => t.transpose(0, 1).unsqueeze(1).expand([-1, 2, -1])), [x], second);
        checkViewed(sq((t) => t.unsqueeze(0).squeeze()), [x], second);
        checkViewed(sq((t) => t.slice(1, 0, undefined, 2)), [x], second);
        checkViewed(sq((t) => t.narrow(0, 0, 1)), [x], second);
        return true;
      },
    ),
    params(RUNS),
  );
});

test('gradgradcheck: cat and stack', () => {
  fc.assert(
    fc.property(
      shapeArb({ minDims: 1, maxDims: 2 }).chain((s) => fc.tuple(viewedArb(s), viewedArb(s))),
      ([a, b]) => {
        checkViewed((x, y) => cat([x, y.mul(y)], 0).exp(), [a, b], second);
        checkViewed((x, y) => stack([x.mul(y), y], -1).tanh(), [a, b], second);
        return true;
      },
    ),
    params(RUNS),
  );
});

test('gradgradcheck: gather, scatterAdd, indexSelect, indexAdd, where, maskedFill', () => {
  const arb = fc
    .tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }))
    .chain(([m, n, k]) =>
      fc.tuple(viewedArb([m, n]), viewedArb([m, k]), viewedArb([k, n]), indexArb([m, k], n), indexArb([k], m), maskArb([m, n])),
    );
  fc.assert(
    fc.property(arb, ([x, s, r, gidx, iidx, mask]) => {
      checkViewed((t) => t.gather(1, gidx).pow(2), [x], second);
      checkViewed((t, u) => scatterAdd(t, 1, gidx, u).pow(2), [x, s], second);
      checkViewed((t) => t.indexSelect(0, iidx).exp(), [x], second);
      checkViewed((t, u) => indexAdd(t, 0, iidx, u).pow(2), [x, r], second);
      checkViewed((t) => where(mask, t.exp(), t.mul(t)), [x], second);
      checkViewed((t) => t.maskedFill(mask, 1).tanh(), [x], second);
      return true;
    }),
    params(RUNS),
  );
});

// ------------------------------------------------------------------ explicit HVP and nested grad

test('Hessian-vector product matches finite differences of gradients', () => {
  // f(x) = sum(tanh(W x)^2) + sum(exp(x) * x), a non-quadratic function with a dense Hessian
  const W = f64([0.5, -1, 0.3, 0.8, 0.2, -0.4, 1.1, 0.7, -0.6], [3, 3], false);
  const f = (x: Tensor) => W.matmul(x).tanh().pow(2).sum().add(x.exp().mul(x).sum());
  fc.assert(
    fc.property(valuesArb(3, -1, 1), valuesArb(3, -1, 1), (xv, vv) => {
      const x = f64(xv, [3]);
      const v = f64(vv, [3], false);
      const [g] = gradients(f(x), [x], { createGraph: true });
      const [hv] = gradients(g!.mul(v).sum(), [x]);
      const h = 1e-5;
      const gradAt = (sign: number) => {
        const xs = f64(xv.map((xi, i) => xi + sign * h * vv[i]!), [3]);
        return gradients(f(xs), [xs])[0]!.data.toFloat64Array();
      };
      const up = gradAt(1);
      const down = gradAt(-1);
      const numeric = up.map((u, i) => (u - down[i]!) / (2 * h));
      assert.ok(maxAbsDiff(hv!.data.toFloat64Array(), numeric) < 1e-6, `hvp ${hv!.toArray()} vs ${[...numeric]}`);
      // the first-order gradient does not change when computed with createGraph
      const plain = gradients(f(x), [x])[0]!;
      assert.ok(maxAbsDiff(plain.data.toFloat64Array(), g!.data.toFloat64Array()) === 0);
      return true;
    }),
    params(RUNS),
  );
});

test('grad(grad(f)): x^3 -> 3x^2 -> 6x -> 6', () => {
  const f = (x: Tensor) => x.pow(3).sum();
  const df = grad(f);
  const d2f = grad((x: Tensor) => df(x).sum());
  const d3f = grad((x: Tensor) => d2f(x).sum());
  const x = f64([-2, 0.5, 3], [3], false);
  assert.equal([...df(x).data.toFloat64Array()], [12, 0.75, 27]);
  assert.equal([...d2f(x).data.toFloat64Array()], [-12, 3, 18]);
  assert.equal([...d3f(x).data.toFloat64Array()], [6, 6, 6]);
  // the outer result is a plain value: no graph left behind
  assert.is(d2f(x).requiresGrad, false);
});

test('grad(grad(f)) of a two-input function and of sin (closed forms)', () => {
  // f(x, y) = x^2 y: df/dx = 2xy; d/dy of that = 2x
  const dfdx = (x: Tensor, y: Tensor) => (grad((a: Tensor, b: Tensor) => a.pow(2).mul(b).sum())(x, y) as Tensor[])[0]!;
  const [dxx, dxy] = grad((x: Tensor, y: Tensor) => dfdx(x, y).sum())(f64([3], [1], false), f64([5], [1], false)) as Tensor[];
  assert.equal(dxx!.item(), 10);
  assert.equal(dxy!.item(), 6);
  const xv = [0.1, 1.2, -2.3];
  const d2sin = grad((x: Tensor) => grad((t: Tensor) => t.sin().sum())(x).sum())(f64(xv, [3], false));
  assert.ok(maxAbsDiff(d2sin.data.toFloat64Array(), xv.map((v) => -Math.sin(v))) < 1e-15);
  // valueAndGrad nests too
  const [value, [g]] = valueAndGrad((x: Tensor) => grad((t: Tensor) => t.exp().sum())(x).sum())(f64([0, 1], [2], false));
  assert.ok(Math.abs(value.item() - (1 + Math.E)) < 1e-15);
  assert.ok(maxAbsDiff(g!.data.toFloat64Array(), [1, Math.E]) < 1e-15);
});

test('backward with createGraph: x.grad can itself be differentiated', () => {
  const x = f64([1.5, -0.5], [2]);
  const y = x.pow(3).sum();
  y.backward(undefined, { createGraph: true });
  const g = x.grad!;
  assert.ok(g.requiresGrad, 'grad recorded with createGraph requires grad');
  const [h] = gradients(g.sum(), [x]);
  assert.equal([...h!.data.toFloat64Array()], [9, -3]);
});

test('backward accepts the options alone, as backward({ createGraph: true })', () => {
  const x = f64([2, -1], [2]);
  x.pow(3).sum().backward({ createGraph: true });
  const g = x.grad!;
  assert.ok(g.requiresGrad, 'options given alone are honoured');
  assert.equal([...g.data.toFloat64Array()], [12, 3]);
  const [h] = gradients(g.sum(), [x]);
  assert.equal([...h!.data.toFloat64Array()], [12, -6]);
  const y = x.mul(2);
  y.backward(f64([1, 1], [2]), { retainGraph: true });
  y.backward(f64([1, 1], [2]));
  assert.throws(() => y.backward(f64([1, 1], [2])), /second time/);
});

test.run();
