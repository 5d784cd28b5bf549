/**
 * matmul against a naive triple loop for batch-broadcast shapes, 1-D operands,
 * strided views and mixed dtypes; associativity in float64.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import * as nd from '../src/index.ts';
import { castScalar, type DType, type NDArray } from '../src/index.ts';
import { broadcastPairArb, params, randomArray, viewArb } from './arbitraries.ts';
import { assertArray, at, broadcastIndex, build } from './reference.ts';

/** NumPy matmul on nested arrays: 1-D operands become a row / column vector, batch axes broadcast. */
function matmulRef(a: NDArray, b: NDArray): { shape: number[]; nested: ReturnType<typeof build> } {
  const A = a.toArray();
  const B = b.toArray();
  const aShape = a.ndim === 1 ? [1, a.shape[0]!] : [...a.shape];
  const bShape = b.ndim === 1 ? [b.shape[0]!, 1] : [...b.shape];
  const aAt = (idx: number[]) => at(A, a.ndim === 1 ? [idx[idx.length - 1]!] : idx);
  const bAt = (idx: number[]) => at(B, b.ndim === 1 ? [idx[idx.length - 2]!] : idx);
  const m = aShape[aShape.length - 2]!;
  const k = aShape[aShape.length - 1]!;
  const n = bShape[bShape.length - 1]!;
  const aBatch = aShape.slice(0, -2);
  const bBatch = bShape.slice(0, -2);
  const nb = Math.max(aBatch.length, bBatch.length);
  const batch = Array.from({ length: nb }, (_, i) => {
    const da = aBatch[aBatch.length - nb + i] ?? 1;
    const db = bBatch[bBatch.length - nb + i] ?? 1;
    return da === 1 ? db : da;
  });
  const full = [...batch, m, n];
  const nested = build(full, (idx) => {
    const bi = idx.slice(0, nb);
    const i = idx[nb]!;
    const j = idx[nb + 1]!;
    let s = 0;
    for (let p = 0; p < k; p++) {
      s += aAt([...broadcastIndex(bi, aBatch), i, p]) * bAt([...broadcastIndex(bi, bBatch), p, j]);
    }
    return s;
  });
  const shape = [...batch, ...(a.ndim === 1 ? [] : [m]), ...(b.ndim === 1 ? [] : [n])];
  return { shape, nested };
}

const outDtype = (a: DType, b: DType): DType =>
  a === 'float64' || b === 'float64' ? 'float64' : a === 'float32' || b === 'float32' ? 'float32' : 'int32';

/** Operand shapes for matmul: broadcast-compatible batches, matching inner size, optional 1-D operands. */
const matmulShapes = fc
  .record({
    batch: broadcastPairArb({ maxRank: 2 }),
    m: fc.integer({ min: 0, max: 5 }),
    k: fc.integer({ min: 0, max: 5 }),
    n: fc.integer({ min: 0, max: 5 }),
    aVec: fc.boolean(),
    bVec: fc.boolean(),
  })
  .map(({ batch, m, k, n, aVec, bVec }) => ({
    // a 1-D operand has no batch axes of its own
    a: aVec && batch.a.length === 0 ? [k] : [...batch.a, m, k],
    b: bVec && batch.b.length === 0 ? [k] : [...batch.b, k, n],
  }));

test('matmul equals a naive triple loop (batch broadcasting, 1-D operands, views, dtypes)', () => {
  fc.assert(
    fc.property(
      matmulShapes.chain(({ a, b }) =>
        fc.tuple(
          fc.constantFrom<DType>('float64', 'float32', 'int32').chain((d) => viewArb(a, { dtype: d, low: -3, high: 3 })),
          fc.constantFrom<DType>('float64', 'float32', 'int32').chain((d) => viewArb(b, { dtype: d, low: -3, high: 3 })),
        ),
      ),
      ([a, b]) => {
        const r = nd.matmul(a, b);
        const { shape, nested } = matmulRef(a, b);
        const dtype = outDtype(a.dtype, b.dtype);
        const k = a.shape[a.ndim - 1]!;
        // float32 accumulates k products of numbers up to 9
        const tol = dtype === 'float32' ? 1e-5 * (1 + 9 * k) : dtype === 'float64' ? 1e-13 * (1 + 9 * k) : 0;
        const flat = (Array.isArray(nested) ? (nested as unknown[]).flat(Infinity) : [nested]) as number[];
        assertArray(r, flat.map((v) => castScalar(v, dtype)), { shape, dtype, rtol: tol, atol: tol, what: `[${a.shape}] @ [${b.shape}]` });
      },
    ),
    params(600),
  );
});

test('matmul of larger blocks matches the triple loop (kernel edge tiles and panels)', () => {
  for (const [m, k, n, seed] of [[9, 17, 6, 1], [4, 300, 5, 2], [1, 33, 1, 3], [13, 1, 7, 4]] as const) {
    for (const dtype of ['float64', 'float32'] as const) {
      const a = randomArray([m, k], seed, { dtype, low: -1, high: 1 });
      const b = randomArray([n, k], seed + 100, { dtype, low: -1, high: 1 }).transpose(0, 1);
      const { nested } = matmulRef(a, b);
      const tol = dtype === 'float32' ? 1e-5 * k : 1e-14 * k;
      assertArray(nd.matmul(a, b), nested, { shape: [m, n], dtype, rtol: tol, atol: tol, what: `${dtype} [${m}, ${k}] @ [${k}, ${n}]` });
    }
  }
});

test('matmul is associative within tolerance (float64)', () => {
  fc.assert(
    fc.property(
      fc.record({ batch: broadcastPairArb({ maxRank: 1 }), m: fc.integer({ min: 1, max: 4 }), k: fc.integer({ min: 1, max: 4 }), l: fc.integer({ min: 1, max: 4 }), n: fc.integer({ min: 1, max: 4 }) }).chain(
        ({ batch, m, k, l, n }) =>
          fc.tuple(
            viewArb([...batch.a, m, k], { dtype: 'float64' }),
            viewArb([...batch.b, k, l], { dtype: 'float64' }),
            viewArb([l, n], { dtype: 'float64' }),
          ),
      ),
      ([a, b, c]) => {
        const left = nd.matmul(nd.matmul(a, b), c);
        const right = nd.matmul(a, nd.matmul(b, c));
        assert.equal(left.shape, right.shape);
        const scale = 27 * a.shape[a.ndim - 1]! * b.shape[b.ndim - 1]!;
        assertArray(left, Array.from(right.toFloat64Array()), { atol: 1e-13 * scale, rtol: 1e-13 });
      },
    ),
    params(150),
  );
});

test('matmul special cases: vector . vector is 0-d, identity, zeros for k = 0', () => {
  const v = nd.array([1, 2, 3], 'float64');
  const dotp = nd.matmul(v, v);
  assert.equal(dotp.shape, []);
  assert.is(dotp.item(), 14);
  const x = randomArray([2, 3, 4], 9, { dtype: 'float64' });
  assert.equal(nd.matmul(x, nd.eye(4, 4, 'float64')).toArray(), x.toArray());
  assert.equal(nd.matmul(nd.eye(3, 3, 'float64'), x).toArray(), x.toArray());
  assert.equal(nd.matmul(nd.zeros([2, 0]), nd.zeros([0, 3])).toArray(), [[0, 0, 0], [0, 0, 0]]);
  assert.equal(nd.matmul(nd.array([[1, 2], [3, 4]], 'int32'), nd.array([[5], [6]], 'int32')).toArray(), [[17], [39]]);
  assert.is(nd.matmul(nd.array([[1, 2]], 'int32'), nd.array([[5], [6]], 'int32')).dtype, 'int32');
});

test.run();
