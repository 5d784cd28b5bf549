/**
 * Elementwise ops against scalar references computed one element at a time from
 * nested arrays: every binary op (with broadcasting, all dtype pairs and JS-number
 * operands), dtype promotion, and every unary op against Math.* or a formula.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import * as nd from '../src/index.ts';
import { castScalar, type DType, type NDArray } from '../src/index.ts';
import { ALL_DTYPES, anyDtypeViewArb, broadcastPairArb, params, randomArray, shapeArb, viewArb } from './arbitraries.ts';
import { assertArray, at, broadcastIndex, build, values } from './reference.ts';

// ------------------------------------------------------------ dtype rules (the spec)

const RANK: Record<DType, number> = { bool: 0, int32: 1, float32: 2, float64: 3 };
const isFloatType = (d: DType) => d === 'float32' || d === 'float64';

/** float64 > float32 > int32 > bool. */
function promote(a: DType, b: DType): DType {
  return RANK[a] >= RANK[b] ? a : b;
}

/** A JS number never widens a float tensor; a fraction lifts int/bool to float32; an integer lifts bool to int32. */
function promoteScalar(d: DType, s: number): DType {
  if (isFloatType(d)) return d;
  if (!Number.isInteger(s)) return 'float32';
  return d === 'bool' ? 'int32' : d;
}

// ------------------------------------------------------------ binary ops

type Binary = (a: nd.Operand, b: nd.Operand) => NDArray;
const nanMax = (a: number, b: number) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b));
const nanMin = (a: number, b: number) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b));

const BINARY: Record<string, { f: Binary; ref: (a: number, b: number) => number | boolean; compare?: boolean }> = {
  add: { f: nd.add, ref: (a, b) => a + b },
  sub: { f: nd.sub, ref: (a, b) => a - b },
  mul: { f: nd.mul, ref: (a, b) => a * b },
  div: { f: nd.div, ref: (a, b) => a / b },
  pow: { f: nd.pow, ref: Math.pow },
  maximum: { f: nd.maximum, ref: nanMax },
  minimum: { f: nd.minimum, ref: nanMin },
  eq: { f: nd.eq, ref: (a, b) => a === b, compare: true },
  ne: { f: nd.ne, ref: (a, b) => a !== b, compare: true },
  lt: { f: nd.lt, ref: (a, b) => a < b, compare: true },
  le: { f: nd.le, ref: (a, b) => a <= b, compare: true },
  gt: { f: nd.gt, ref: (a, b) => a > b, compare: true },
  ge: { f: nd.ge, ref: (a, b) => a >= b, compare: true },
};
const BINARY_NAMES = Object.keys(BINARY);

/** The dtype `op` computes in and the dtype it returns, per the spec. */
function binaryTypes(op: string, common: DType): { compute: DType; out: DType } {
  const compute = op === 'div' && !isFloatType(common) ? 'float32' : common;
  return { compute, out: BINARY[op]!.compare ? 'bool' : compute };
}

/** The expected stored value: operands rounded to `compute`, the JS result rounded to `out`. */
function expectValue(op: string, a: number, b: number, compute: DType, out: DType): number {
  const r = BINARY[op]!.ref(castScalar(a, compute), castScalar(b, compute));
  return castScalar(Number(r), out);
}

const operandFill = { grid: 0.5, low: -3, high: 3, specials: 0.1 };

/** Integer `pow` refuses negative exponents (as torch does) instead of truncating 2^-1 to 0. */
function intPowRefused(op: string, out: DType, exponents: readonly number[]): boolean {
  return op === 'pow' && out === 'int32' && exponents.some((e) => e < 0);
}

test('every binary op equals a scalar reference, with broadcasting, views and all dtype pairs', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...BINARY_NAMES),
      broadcastPairArb({ maxRank: 3, minSide: 0 }).chain(({ a, b, out }) =>
        fc.tuple(anyDtypeViewArb(a, ALL_DTYPES, operandFill), anyDtypeViewArb(b, ALL_DTYPES, operandFill), fc.constant(out)),
      ),
      (op, [a, b, out]) => {
        const { compute, out: outDtype } = binaryTypes(op, promote(a.dtype, b.dtype));
        if (intPowRefused(op, outDtype, out.some((d) => d === 0) ? [] : values(b))) {
          assert.throws(() => BINARY[op]!.f(a, b), /^pow: integers to negative integer powers are not allowed/);
          return;
        }
        const r = BINARY[op]!.f(a, b);
        const na = a.toArray();
        const nb = b.toArray();
        const expected = build(out, (idx) => expectValue(op, at(na, broadcastIndex(idx, a.shape)), at(nb, broadcastIndex(idx, b.shape)), compute, outDtype));
        assertArray(r, expected, { shape: out, dtype: outDtype, what: `${op}(${a.dtype}[${a.shape}], ${b.dtype}[${b.shape}])` });
      },
    ),
    params(1500),
  );
});

test('a JS number operand is a weak scalar on either side', () => {
  const scalarArb = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom(0.5, -1.5, 2.25, 0.1, 1e-3, NaN, Infinity));
  fc.assert(
    fc.property(
      fc.constantFrom(...BINARY_NAMES),
      shapeArb().chain((s) => anyDtypeViewArb(s, ALL_DTYPES, operandFill)),
      scalarArb,
      fc.boolean(),
      (op, x, s, scalarLeft) => {
        const { compute, out } = binaryTypes(op, promoteScalar(x.dtype, s));
        if (intPowRefused(op, out, x.size === 0 ? [] : scalarLeft ? values(x) : [s])) {
          assert.throws(() => (scalarLeft ? BINARY[op]!.f(s, x) : BINARY[op]!.f(x, s)), /^pow: integers to negative integer powers/);
          return;
        }
        const r = scalarLeft ? BINARY[op]!.f(s, x) : BINARY[op]!.f(x, s);
        const expected = values(x).map((v) => (scalarLeft ? expectValue(op, s, v, compute, out) : expectValue(op, v, s, compute, out)));
        assertArray(r, expected, { shape: x.shape, dtype: out, what: `${op} with scalar ${s}` });
      },
    ),
    params(300),
  );
});

test('dtype promotion: float64 > float32 > int32 > bool, for every pair and op', () => {
  for (const da of ALL_DTYPES) {
    for (const db of ALL_DTYPES) {
      const a = randomArray([2], 1, { dtype: da });
      const b = randomArray([2], 2, { dtype: db });
      const common = da === 'float64' || db === 'float64' ? 'float64' : da === 'float32' || db === 'float32' ? 'float32' : da === 'int32' || db === 'int32' ? 'int32' : 'bool';
      assert.is(nd.promoteTypes(da, db), common);
      for (const op of BINARY_NAMES) {
        const want = BINARY[op]!.compare ? 'bool' : op === 'div' && !isFloatType(common) ? 'float32' : common;
        assert.is(BINARY[op]!.f(a, b).dtype, want, `${op}(${da}, ${db})`);
      }
    }
  }
});

test('a JS number does not widen a tensor dtype', () => {
  const f32 = nd.array([1, 2], 'float32');
  const f64 = nd.array([1, 2], 'float64');
  const i32 = nd.array([1, 2], 'int32');
  const b = nd.array([true, false]);
  assert.is(nd.add(f32, 1.5).dtype, 'float32', 'float32 + 1.5 stays float32');
  assert.equal(nd.add(f32, 1.5).toArray(), [2.5, 3.5]);
  assert.is(nd.add(f32, 0.1).data[0], Math.fround(Math.fround(1) + Math.fround(0.1)), 'the scalar is rounded to float32 first');
  assert.is(nd.mul(2.5, f64).dtype, 'float64');
  assert.is(nd.add(i32, 1.5).dtype, 'float32', 'int32 + 1.5 becomes float32');
  assert.equal(nd.add(i32, 1.5).toArray(), [2.5, 3.5]);
  assert.is(nd.add(i32, 3).dtype, 'int32', 'int32 + 3 stays int32');
  assert.is(nd.div(i32, i32).dtype, 'float32', 'int32 / int32 is float32');
  assert.equal(nd.div(nd.array([1, 7], 'int32'), nd.array([2, 2], 'int32')).toArray(), [0.5, 3.5]);
  assert.is(nd.div(i32, 2).dtype, 'float32');
  assert.is(nd.add(b, 1).dtype, 'int32', 'bool + 1 becomes int32');
  assert.is(nd.add(b, 0.5).dtype, 'float32');
  assert.is(nd.lt(i32, 1.5).dtype, 'bool');
  assert.equal(nd.lt(i32, 1.5).toArray(), [true, false], 'int32 < 1.5 compares as float, not truncated to 1');
  assert.equal(nd.eq(i32, 1.5).toArray(), [false, false]);
  assert.is(nd.pow(i32, 0.5).dtype, 'float32');
  assert.is(nd.add(1, 2).dtype, 'int32');
  assert.is(nd.add(1, 2.5).dtype, 'float32');
});

test('bool arithmetic stays 0/1 (true + true is true)', () => {
  const t = nd.array([true, true, false, false]);
  const u = nd.array([true, false, true, false]);
  for (const [name, f] of [['add', nd.add], ['mul', nd.mul], ['maximum', nd.maximum], ['minimum', nd.minimum]] as const) {
    const r = f(t, u);
    assert.is(r.dtype, 'bool', name);
    assert.ok(values(r).every((v) => v === 0 || v === 1), `${name} of bools stores only 0/1, got ${values(r)}`);
  }
  assert.equal(nd.eq(nd.add(t, t), t).toArray(), [true, true, true, true], 'true + true == true');
  assert.equal(nd.add(t, u).toArray(), [true, true, true, false]);
});

test('logicalAnd / logicalOr / logicalNot on masks', () => {
  fc.assert(
    fc.property(
      broadcastPairArb().chain(({ a, b, out }) =>
        fc.tuple(anyDtypeViewArb(a, ALL_DTYPES, { grid: 1, low: -1, high: 1 }), anyDtypeViewArb(b, ALL_DTYPES, { grid: 1, low: -1, high: 1 }), fc.constant(out)),
      ),
      ([a, b, out]) => {
        const na = a.toArray();
        const nb = b.toArray();
        const A = (idx: number[]) => at(na, broadcastIndex(idx, a.shape)) !== 0;
        const B = (idx: number[]) => at(nb, broadcastIndex(idx, b.shape)) !== 0;
        assertArray(nd.logicalAnd(a, b), build(out, (i) => Number(A(i) && B(i))), { shape: out, dtype: 'bool' });
        assertArray(nd.logicalOr(a, b), build(out, (i) => Number(A(i) || B(i))), { shape: out, dtype: 'bool' });
        assertArray(nd.logicalNot(a), values(a).map((v) => Number(v === 0)), { shape: a.shape, dtype: 'bool' });
      },
    ),
    params(100),
  );
});

// ------------------------------------------------------------ unary ops

/** erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): an independent check of the library's erf. */
function erfApprox(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return Math.sign(x) * (1 - poly * Math.exp(-x * x));
}

/** Round half to even, like numpy.round / torch.round. */
function roundHalfEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const f = Math.floor(x);
  const d = x - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

type Kind = 'same' | 'float' | 'bool';
interface UnarySpec {
  f: (x: NDArray) => NDArray;
  ref: (x: number) => number;
  kind: Kind;
  /** Tolerance (relative and absolute) for float64 results; float32 results use max(tol, 1e-6). 0 = exact. */
  tol?: number;
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const UNARY: Record<string, UnarySpec> = {
  neg: { f: nd.neg, ref: (x) => -x, kind: 'same' },
  abs: { f: nd.abs, ref: Math.abs, kind: 'same' },
  sign: { f: nd.sign, ref: Math.sign, kind: 'same' },
  exp: { f: nd.exp, ref: Math.exp, kind: 'float' },
  log: { f: nd.log, ref: Math.log, kind: 'float' },
  log1p: { f: nd.log1p, ref: Math.log1p, kind: 'float' },
  expm1: { f: nd.expm1, ref: Math.expm1, kind: 'float' },
  sqrt: { f: nd.sqrt, ref: Math.sqrt, kind: 'float' },
  rsqrt: { f: nd.rsqrt, ref: (x) => 1 / Math.sqrt(x), kind: 'float' },
  reciprocal: { f: nd.reciprocal, ref: (x) => 1 / x, kind: 'float' },
  square: { f: nd.square, ref: (x) => x * x, kind: 'same' },
  tanh: { f: nd.tanh, ref: Math.tanh, kind: 'float' },
  sigmoid: { f: nd.sigmoid, ref: (x) => 1 / (1 + Math.exp(-x)), kind: 'float', tol: 1e-15 },
  relu: { f: nd.relu, ref: (x) => Math.max(x, 0), kind: 'same' },
  geluTanh: {
    f: (x) => nd.gelu(x, 'tanh'),
    ref: (x) => 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x ** 3))),
    kind: 'float',
    tol: 1e-14,
  },
  geluNone: { f: (x) => nd.gelu(x, 'none'), ref: (x) => 0.5 * x * (1 + erfApprox(x / Math.SQRT2)), kind: 'float', tol: 5e-7 },
  geluDefault: { f: (x) => nd.gelu(x), ref: (x) => 0.5 * x * (1 + erfApprox(x / Math.SQRT2)), kind: 'float', tol: 5e-7 },
  erf: { f: nd.erf, ref: erfApprox, kind: 'float', tol: 2e-7 },
  sin: { f: nd.sin, ref: Math.sin, kind: 'float' },
  cos: { f: nd.cos, ref: Math.cos, kind: 'float' },
  floor: { f: nd.floor, ref: Math.floor, kind: 'same' },
  ceil: { f: nd.ceil, ref: Math.ceil, kind: 'same' },
  round: { f: nd.round, ref: roundHalfEven, kind: 'same' },
  isnan: { f: nd.isnan, ref: (x) => Number(Number.isNaN(x)), kind: 'bool' },
  isfinite: { f: nd.isfinite, ref: (x) => Number(Number.isFinite(x)), kind: 'bool' },
};

/** Result dtype of a unary op on `d`, per the spec. */
function unaryDtype(name: string, kind: Kind, d: DType): DType {
  if (kind === 'bool') return 'bool';
  if (kind === 'float') return isFloatType(d) ? d : 'float32';
  if (d === 'bool') return name === 'abs' || name === 'relu' ? 'bool' : 'int32';
  return d;
}

test('every unary op matches Math.* or its formula, element by element', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...Object.keys(UNARY)),
      shapeArb({ minSide: 0 }).chain((s) => anyDtypeViewArb(s, ALL_DTYPES, { low: -4, high: 4, specials: 0.1 })),
      fc.boolean(),
      (name, x, onGrid) => {
        // half-integers exercise round's ties; do it by rounding the input, which also tests non-grid values when off
        const input = onGrid && isFloatType(x.dtype) ? nd.div(nd.round(nd.mul(x, 2)), 2) : x;
        const spec = UNARY[name]!;
        const outDtype = unaryDtype(name, spec.kind, input.dtype);
        const r = spec.f(input);
        const expected = values(input).map((v) => castScalar(spec.ref(v), outDtype));
        const tol = spec.tol === undefined ? 0 : outDtype === 'float32' ? Math.max(spec.tol, 1e-6) : spec.tol;
        assertArray(r, expected, { shape: input.shape, dtype: outDtype, rtol: tol, atol: tol, what: `${name}(${input.dtype})` });
      },
    ),
    params(1500),
  );
});

test('relu(x) equals maximum(x, 0), NaN included', () => {
  fc.assert(
    fc.property(shapeArb().chain((s) => viewArb(s, { dtype: 'float64', specials: 0.3 })), (x) => {
      assertArray(nd.relu(x), values(nd.maximum(x, 0)), { dtype: 'float64' });
    }),
    params(50),
  );
});

// Reference values computed with mpmath at 40 significant digits.
const ERF_TABLE: [number, number][] = [
  [1e-8, 1.1283791670955125599e-8],
  [0.001, 0.0011283787909692364034],
  [0.05, 0.056371977797016626955],
  [0.1, 0.1124629160182848984],
  [0.25, 0.27632639016823693299],
  [0.5, 0.52049987781304653768],
  [0.75, 0.7111556336535151316],
  [1, 0.84270079294971486934],
  [1.25, 0.92290012825645823014],
  [1.5, 0.96610514647531072707],
  [2, 0.99532226501895273416],
  [2.2, 0.99813715370201811014],
  [2.5, 0.99959304798255504106],
  [2.9, 0.99995890212190054114],
  [2.99, 0.9999764743969193598],
  [3, 0.99997790950300141456],
  [3.01, 0.99997926103636286737],
  [3.5, 0.99999925690162765859],
  [3.75, 0.9999998862727434302],
  [4, 0.99999998458274209972],
  [4.5, 0.99999999980338395585],
  [5, 0.99999999999846254021],
  [6, 0.99999999999999997848],
  [-0.3, -0.32862675945912741619],
  [-1.7, -0.98379045859077456084],
  [-2.75, -0.99989937807788036316],
  [-3.2, -0.99999397423884823791],
  [-5, -0.99999999999846254021],
];

test('erf matches known values to 1e-14 (both sides of the series / continued-fraction switch)', () => {
  const x = nd.array(ERF_TABLE.map(([v]) => v), 'float64');
  const r = nd.erf(x);
  assert.is(r.dtype, 'float64');
  ERF_TABLE.forEach(([v, want], i) => {
    const got = r.data[i]!;
    assert.ok(Math.abs(got - want) <= 1e-14 * Math.abs(want), `erf(${v}) = ${got}, expected ${want}`);
    assert.is(nd.special.erf(v), got);
  });
  assert.is(nd.special.erf(0), 0);
  assert.is(nd.special.erf(Infinity), 1);
  assert.is(nd.special.erf(-Infinity), -1);
  assert.ok(Number.isNaN(nd.special.erf(NaN)));
});

test('erf is odd and monotone', () => {
  fc.assert(
    fc.property(fc.double({ min: -8, max: 8, noNaN: true }), fc.double({ min: -8, max: 8, noNaN: true }), (a, b) => {
      const e = nd.special.erf;
      assert.is(e(-a), -e(a));
      if (a < b) assert.ok(e(a) <= e(b), `erf(${a}) > erf(${b})`);
      assert.ok(Math.abs(e(a)) <= 1);
    }),
    params(300),
  );
});

test('sigmoid is stable at +-1000 and symmetric', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    const s = nd.sigmoid(nd.array([-1000, -50, 0, 50, 1000], dtype));
    const v = values(s);
    assert.ok(v.every(Number.isFinite), `finite: ${v}`);
    assert.is(v[0], 0);
    assert.is(v[2], 0.5);
    assert.is(v[4], 1);
    assert.ok(v[1]! > 0 && v[1]! < 1e-20, 'sigmoid(-50) is tiny but not 0');
  }
  fc.assert(
    fc.property(fc.double({ min: -700, max: 700, noNaN: true }), (x) => {
      const s = nd.special.sigmoid;
      assert.ok(Math.abs(s(x) + s(-x) - 1) < 1e-15);
    }),
    params(200),
  );
});

test('gelu: known values for both approximations; the default is exact', () => {
  const x = nd.array([-3, -1, 0, 0.5, 1, 3], 'float64');
  // computed with mpmath at 30 digits
  const exact = [-0.00404969409489028358, -0.15865525393145705141, 0, 0.34573123063700655182, 0.84134474606854294859, 2.9959503059051097164];
  const tanhApprox = [-0.0036373920817730188378, -0.15880800939172329522, 0, 0.34571400982514392204, 0.84119199060827670478, 2.9963626079182269812];
  assertArray(nd.gelu(x, 'none'), exact, { rtol: 1e-14, atol: 1e-16 });
  assertArray(nd.gelu(x), exact, { rtol: 1e-14, atol: 1e-16 });
  assertArray(nd.gelu(x, 'tanh'), tanhApprox, { rtol: 1e-14, atol: 1e-16 });
});

test('unary ops on bool/int inputs: dtype rules', () => {
  const b = nd.array([true, false]);
  const i = nd.array([-2, 3], 'int32');
  assert.is(nd.neg(b).dtype, 'int32');
  assert.equal(nd.neg(b).toArray(), [-1, 0]);
  assert.is(nd.abs(b).dtype, 'bool');
  assert.is(nd.relu(b).dtype, 'bool');
  assert.is(nd.exp(i).dtype, 'float32');
  assert.is(nd.floor(i).dtype, 'int32');
  assert.is(nd.square(i).dtype, 'int32');
  assert.equal(nd.square(i).toArray(), [4, 9]);
  assert.is(nd.isnan(i).dtype, 'bool');
});

test.run();
