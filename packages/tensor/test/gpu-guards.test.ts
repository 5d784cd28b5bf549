/**
 * The gpu backend's guards on their own, without gpu.js: which inputs go back to the CPU
 * backend and with which notice. The GL-only guards (subnormals, large sin/cos arguments, pow
 * far from 1) run here with `glLike` set, so they are checked on machines without GL too.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { array } from '../src/ops/creation.ts';
import { fastBackend } from '../src/backends/fast/index.ts';
import { createGuards, POW_LIMIT, POW_MAX_EXPONENT, TRIG_LIMIT } from '../src/backends/gpu/guards.ts';

const f32 = (values: number[]) => array(values, 'float32');
const quiet = () => {};

test('fallback returns the CPU backend and prints each op and reason once', () => {
  const notices: string[] = [];
  const g = createGuards(false, (m) => notices.push(m));
  assert.is(g.fallback('matmul', 'got float64'), fastBackend);
  g.fallback('matmul', 'got float64');
  g.fallback('matmul', 'got int32');
  assert.equal(notices, [
    'tsgrad gpu backend: matmul got float64; it runs on the js backend instead (shown once)',
    'tsgrad gpu backend: matmul got int32; it runs on the js backend instead (shown once)',
  ]);
  assert.equal([...g.warned], ['matmul: got float64', 'matmul: got int32']);
});

test('data guards: float64 always, int32 unless read as indices, subnormals only on GL', () => {
  for (const gl of [false, true]) {
    const g = createGuards(gl, quiet);
    assert.match(g.dataProblem(array([1, 2], 'float64'))!, 'float64');
    assert.match(g.dataProblem(array([1, 2], 'int32'))!, 'int32');
    assert.is(g.dataProblem(array([1, 2], 'int32'), true), null);
    assert.is(g.dataProblem(f32([1, -2.5, 0])), null);
    const sub = g.dataProblem(f32([1, 1e-40]));
    if (gl) assert.match(sub!, 'subnormal');
    else assert.is(sub, null);
    assert.match(g.elementwiseProblem([f32([1])], 'float64')!, 'float64 output');
    assert.match(g.elementwiseProblem([f32([1])], 'int32')!, 'int32 output');
    assert.is(g.elementwiseProblem([array([1], 'bool')], 'int32'), null);
  }
});

test('GL sin/cos guard: flags exactly the float32 inputs with a finite |x| above the limit', () => {
  const gl = createGuards(true, quiet);
  const plain = createGuards(false, quiet);
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.float({ noDefaultInfinity: false }), fc.constantFrom(TRIG_LIMIT, TRIG_LIMIT * 2, -1e7)), { minLength: 1, maxLength: 8 }), (values) => {
      const x = f32(values);
      const stored = Array.from(x.data as Float32Array);
      const expected = stored.some((v) => Number.isFinite(v) && Math.abs(v) > TRIG_LIMIT);
      assert.is(gl.trigProblem(x) !== null, expected, `values ${stored}`);
      assert.is(plain.trigProblem(x), null);
    }),
    { numRuns: 200, seed: 11 },
  );
});

test('GL pow guard: |y| above 4 or |y log2 x| above 8 goes to the CPU', () => {
  const gl = createGuards(true, quiet);
  const cases: [number[], number[], boolean][] = [
    [[2, 0.5], [3, -2], false],
    [[2], [POW_MAX_EXPONENT + 0.5], true],
    [[1e30], [1], true], // log2(1e30) = 99.7
    [[2 ** POW_LIMIT], [1], false],
    [[2 ** (POW_LIMIT + 1)], [1], true],
    [[0, Infinity, NaN], [4, Infinity, -Infinity], false], // non-finite and zero values are decided in the kernel
  ];
  for (const [xs, ys, flagged] of cases) {
    assert.is(gl.powProblem(f32(xs), f32(ys)) !== null, flagged, `pow(${xs}, ${ys})`);
    assert.is(createGuards(false, quiet).powProblem(f32(xs), f32(ys)), null);
  }
});

test.run();
