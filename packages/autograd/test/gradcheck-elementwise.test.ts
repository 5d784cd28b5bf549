/**
 * Finite-difference checks of every elementwise derivative rule: binary ops on
 * broadcasting shape pairs, unary functions on random shapes, both fed contiguous
 * leaves and non-contiguous views (transposed, step-sliced, offset-sliced).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import * as nd from '@tsgrad/tensor';
import { gradcheck, GradcheckError, Tensor, tensor } from '../src/index.ts';
import {
  awayFromZeroArb,
  broadcastPairArb,
  checkViewed,
  distinctValuesArb,
  f64,
  layoutArb,
  params,
  shapeArb,
  sizeOf,
  valuesArb,
  viewedArb,
  viewedFromViewValues,
  type Viewed,
} from './arbitraries.ts';

const RUNS = 40;

type Values = (n: number) => fc.Arbitrary<number[]>;

/** A broadcasting pair of inputs, each with its own layout and value domain. */
function pairArb(va: Values, vb: Values = va): fc.Arbitrary<[Viewed, Viewed]> {
  return broadcastPairArb().chain(([sa, sb]) => fc.tuple(viewedArb(sa, va), viewedArb(sb, vb)));
}

function binaryProperty(name: string, f: (a: Tensor, b: Tensor) => Tensor, va: Values = (n) => valuesArb(n), vb: Values = va): void {
  test(`gradcheck: ${name} on broadcasting pairs and strided views`, () => {
    fc.assert(
      fc.property(pairArb(va, vb), ([a, b]) => checkViewed(f, [a, b])),
      params(RUNS),
    );
  });
}

binaryProperty('add', (a, b) => a.add(b));
binaryProperty('sub', (a, b) => a.sub(b));
binaryProperty('mul', (a, b) => a.mul(b));
binaryProperty('div', (a, b) => a.div(b), (n) => valuesArb(n), (n) => awayFromZeroArb(n, 0.5, 2));
// positive base, so both d/da and d/db = a^b log a are smooth
binaryProperty('pow', (a, b) => a.pow(b), (n) => valuesArb(n, 0.3, 2), (n) => valuesArb(n, -2, 2));

test('gradcheck: binary ops with a JS number operand on either side', () => {
  fc.assert(
    fc.property(
      shapeArb().chain((s) => viewedArb(s, (n) => valuesArb(n, 0.3, 2))),
      fc.double({ min: 0.5, max: 2, noNaN: true }),
      (x, k) => {
        checkViewed((t) => t.add(k).mul(k).sub(k).div(k), [x]);
        checkViewed((t) => t.pow(k), [x]);
        return true;
      },
    ),
    params(RUNS),
  );
});

/** maximum/minimum: a on the grid 0.01 k, b on the grid shifted by 0.005, so a != b anywhere. */
function extremumProperty(name: 'maximum' | 'minimum'): void {
  test(`gradcheck: ${name} away from ties`, () => {
    const arb = broadcastPairArb().chain(([sa, sb]) =>
      fc.tuple(
        fc.constant(sa),
        fc.constant(sb),
        distinctValuesArb(sizeOf(sa), 0, 0.01, 2),
        fc.array(fc.integer({ min: -200, max: 200 }), { minLength: sizeOf(sb), maxLength: sizeOf(sb) }),
        layoutArb,
        layoutArb,
      ),
    );
    fc.assert(
      fc.property(arb, ([sa, sb, va, ib, la, lb]) => {
        const a = viewedFromViewValues(sa, va, la);
        const b = viewedFromViewValues(sb, ib.map((i) => i * 0.01 + 0.005), lb);
        return checkViewed((x, y) => x[name](y), [a, b]);
      }),
      params(RUNS),
    );
  });
}
extremumProperty('maximum');
extremumProperty('minimum');

/** Unary op property: random shape (0-d and size-1 axes included), any layout. */
function unaryProperty(name: string, f: (x: Tensor) => Tensor, values: Values = (n) => valuesArb(n), runs = RUNS): void {
  test(`gradcheck: ${name}`, () => {
    fc.assert(
      fc.property(
        shapeArb({ maxDims: 3 }).chain((s) => viewedArb(s, values)),
        (x) => checkViewed(f, [x]),
      ),
      params(runs),
    );
  });
}

unaryProperty('neg', (x) => x.neg());
unaryProperty('abs (away from 0)', (x) => x.abs(), (n) => awayFromZeroArb(n));
unaryProperty('exp', (x) => x.exp());
unaryProperty('log (positive inputs)', (x) => x.log(), (n) => valuesArb(n, 0.2, 3));
unaryProperty('sqrt (positive inputs)', (x) => x.sqrt(), (n) => valuesArb(n, 0.2, 3));
unaryProperty('tanh', (x) => x.tanh(), (n) => valuesArb(n, -3, 3));
unaryProperty('sigmoid', (x) => x.sigmoid(), (n) => valuesArb(n, -4, 4));
unaryProperty('relu (away from 0)', (x) => x.relu(), (n) => awayFromZeroArb(n));
unaryProperty("gelu('none')", (x) => x.gelu('none'), (n) => valuesArb(n, -4, 4));
unaryProperty("gelu('tanh')", (x) => x.gelu('tanh'), (n) => valuesArb(n, -4, 4));
unaryProperty('erf', (x) => x.erf(), (n) => valuesArb(n, -3, 3));
unaryProperty('sin', (x) => x.sin(), (n) => valuesArb(n, -4, 4));
unaryProperty('cos', (x) => x.cos(), (n) => valuesArb(n, -4, 4));
unaryProperty('square (x * x, same tensor twice)', (x) => x.square());
unaryProperty('clone', (x) => x.clone().mul(x));
unaryProperty('contiguous (of views)', (x) => x.contiguous().mul(2));
unaryProperty("to('float64') of a float64 tensor (the identity)", (x) => x.to('float64').mul(x));
unaryProperty('sign has zero gradient', (x) => x.sign().mul(x), (n) => awayFromZeroArb(n));

test("gradcheck: to('float32') and back (linear, so a large step is exact)", () => {
  fc.assert(
    fc.property(
      shapeArb().chain((s) => viewedArb(s)),
      (x) => {
        // float32 rounding is ~1e-7 relative; with eps = 0.25 that stays far below atol
        checkViewed((t) => t.to('float32').mul(3).to('float64'), [x], { eps: 0.25 });
        const y = x.view(x.leaf).to('float32');
        assert.is(y.dtype, 'float32');
        return true;
      },
    ),
    params(RUNS),
  );
});

test('gradcheck: ops on tensors with a zero-size axis', () => {
  const x = f64([], [0, 3]);
  const y = f64([1, 2, 3], [3]);
  gradcheck((a, b) => a.mul(b).exp(), [x, y]);
  gradcheck((a) => a.sum(0), [x]);
});

test('gradcheck detects a wrong derivative rule (the checker can fail)', () => {
  // sin evaluated, but a bogus backward pretends d/dx = sin x instead of cos x
  const bad = (x: Tensor) => {
    const out = x.sin();
    return out.detach().add(x.sub(x.detach()).mul(out.detach()));
  };
  const x = f64([0.3, -1.1, 2.0], [3]);
  assert.throws(() => gradcheck(bad, [x]), (e: unknown) => e instanceof GradcheckError);
});

test('gradcheck rejects float32 inputs that require grad', () => {
  const x = tensor([1, 2], { dtype: 'float32', requiresGrad: true });
  assert.throws(() => gradcheck((t) => t.exp(), [x]), /float64/);
});

test('gradcheck does not mutate its inputs or set their .grad', () => {
  const x = f64([0.5, 1.5], [2]);
  const before = x.data.toFloat64Array();
  gradcheck((t) => t.exp(), [x]);
  assert.equal([...x.data.toFloat64Array()], [...before]);
  assert.is(x.grad, null);
  assert.ok(nd.shapesEqual(x.shape, [2]));
});

test.run();
