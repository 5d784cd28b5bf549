/**
 * What only the gpu.js backend has: its console notices when work goes back to the CPU,
 * `gpuBackendInfo` (mode, native primitives, fallbacks, kernel cache), and the special
 * values GLSL handles differently (NaN/Infinity, pow's special cases, tiny and huge
 * arguments, subnormals). Every primitive's values, dtypes and layouts are checked
 * against the reference backend by the conformance suite (conformance.test.ts); the
 * values here are compared with the reference backend too.
 *
 * The gpu.js mode comes from TSGRAD_GPU_MODE (scripts/test-gl.sh runs this file on
 * headless-gl). If gpu.js cannot start that mode, the file prints why and registers no tests.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend, ReduceOp, UnaryOp } from '../src/backend.ts';
import { NDArray } from '../src/ndarray.ts';
import { referenceBackend as ref } from '../src/backends/reference/index.ts';
import { createGpuBackend, gpuBackendInfo } from '../src/backends/gpu/index.ts';
import { randomArray } from './arbitraries.ts';
import { assertMatches } from './conformance-support.ts';

const notices: string[] = [];
let maybeGpu: Backend | null = null;
try {
  maybeGpu = createGpuBackend({ warn: (m) => notices.push(m) });
  console.log(`gpu: testing gpu.js mode '${gpuBackendInfo(maybeGpu).mode}'`);
} catch (e) {
  console.log(`gpu: SKIPPED, gpu.js cannot initialise: ${(e as Error).message}`);
}

function gpu(): Backend {
  return maybeGpu!;
}

/** An array of `shape` and `dtype` from a seed: contiguous, transposed (storage in reversed axis order) or broadcast along axis 0. */
function makeView(shape: readonly number[], dtype: 'float32' | 'float64' | 'int32', layout: 'contiguous' | 'transposed' | 'broadcast', seed: number): NDArray {
  const fill = { dtype, low: -6, high: 6 };
  if (layout === 'transposed') return randomArray([...shape].reverse(), seed, fill).permute(shape.map((_, i) => shape.length - 1 - i));
  if (layout === 'broadcast') return randomArray([1, ...shape.slice(1)], seed, fill).expand(shape);
  return randomArray(shape, seed, fill);
}

if (maybeGpu) {
  test('specials: GL-sensitive cases (NaN/Infinity, pow edge cases, tiny and huge arguments)', () => {
    const f32 = (v: number[]) => NDArray.fromTyped(Float32Array.from(v), [v.length]);
    // pow: every ECMAScript special case, with magnitudes small enough that GL runs it as a kernel
    const bases = [0, -0, 0.5, -0.5, 1, -1, 1.5, -1.5, 2, -2, 3, -3, Infinity, -Infinity, NaN];
    const exps = [0, -0, 1, -1, 2, -2, 3, -3, 0.5, -0.5, 2.5, -1.5, Infinity, -Infinity, NaN];
    const u = f32(bases.flatMap((b) => exps.map(() => b)));
    const w = f32(bases.flatMap(() => exps));
    const before = notices.length;
    const got = gpu().binary('pow', u, w, 'float32');
    assert.is(notices.slice(before).filter((m) => m.includes('binary pow')).length, 0, 'small pow runs as a kernel');
    assertMatches(got, ref.binary('pow', u, w, 'float32'), 'pow specials', 1e-6);
    // signed zeros must survive: compare the signs too
    const gs = got.toFloat64Array();
    const ws = ref.binary('pow', u, w, 'float32').toFloat64Array();
    gs.forEach((v, i) => assert.ok(v !== 0 || Object.is(v, ws[i]), `pow(${u.toFloat64Array()[i]}, ${w.toFloat64Array()[i]}) is ${Object.is(v, -0) ? '-0' : v}, the reference gives ${ws[i]}`));
    // large results and exponents must match too (on GL they go to the fast backend)
    const big = f32([1e30, 3, 1.5, -2, 10]);
    const bigExp = f32([1, 50, 100, 7, 30]);
    assertMatches(gpu().binary('pow', big, bigExp, 'float32'), ref.binary('pow', big, bigExp, 'float32'), 'pow large', 1e-6);
    // unary ops whose GLSL forms overflow, drop NaN or lose relative accuracy near 0
    const x = f32([NaN, Infinity, -Infinity, 0, -0, 3e38, -3e38, 50, -50, 100, 1e-30, -1e-30, 1e-5, -1e-5, 0.04, -0.04, 0.3, 2]);
    for (const op of ['relu', 'tanh', 'gelu', 'expm1', 'log1p', 'sigmoid', 'sign'] as UnaryOp[]) {
      assertMatches(gpu().unary(op, x, 'float32'), ref.unary(op, x, 'float32'), `unary ${op} specials`, 1e-5);
    }
    for (const op of ['isnan', 'isfinite', 'logicalNot'] as UnaryOp[]) {
      assertMatches(gpu().unary(op, x, 'bool'), ref.unary(op, x, 'bool'), `unary ${op} specials`, 0);
    }
    // sin/cos of huge arguments, and subnormal inputs (GL flushes those to zero)
    const huge = f32([1e30, -3e38, 12345678, 1e5, 0.5]);
    for (const op of ['sin', 'cos'] as UnaryOp[]) assertMatches(gpu().unary(op, huge, 'float32'), ref.unary(op, huge, 'float32'), `${op} huge`, 1e-5, 1e-6);
    const tiny = f32([1e-40, -1e-40, 0, 1]);
    assertMatches(gpu().unary('sign', tiny, 'float32'), ref.unary('sign', tiny, 'float32'), 'sign subnormal', 0);
    assertMatches(gpu().binary('eq', tiny, f32([0, 0, 0, 0]), 'bool'), ref.binary('eq', tiny, f32([0, 0, 0, 0]), 'bool'), 'eq subnormal', 0);
    assertMatches(gpu().cast(tiny, 'bool'), ref.cast(tiny, 'bool'), 'cast subnormal to bool', 0);
    // max/min of rows that are all -Infinity/+Infinity, and NaN winning
    const rows = NDArray.fromTyped(Float32Array.from([-Infinity, -Infinity, Infinity, Infinity, 1, NaN, -Infinity, 2]), [4, 2]);
    for (const op of ['max', 'min'] as ReduceOp[]) {
      for (const axes of [[1], [], [0, 1]]) assertMatches(gpu().reduce(op, rows, axes), ref.reduce(op, rows, axes), `reduce ${op} axes [${axes}] of infinities`, 0);
    }
    const info = gpuBackendInfo(gpu());
    if (info.mode !== 'webasm' && info.mode !== 'cpu') {
      assert.ok(info.delegatedCases.some((c) => c.includes('subnormal')), 'GL info lists the GL-only delegations');
      assert.ok(info.fallbacks.some((c) => c.includes('subnormal')), 'GL subnormal inputs were delegated');
    }
  });

  test('fallbacks: float64 and int32 arithmetic run on the fast backend, with one notice per op', () => {
    const x64 = makeView([3, 2], 'float64', 'transposed', 7);
    const before = notices.length;
    assertMatches(gpu().unary('exp', x64, 'float64'), ref.unary('exp', x64, 'float64'), 'exp float64', 0);
    assertMatches(gpu().unary('exp', x64, 'float64'), ref.unary('exp', x64, 'float64'), 'exp float64 again', 0);
    assertMatches(gpu().matmul(x64.reshape([1, 3, 2]), x64.reshape([1, 2, 3])), ref.matmul(x64.reshape([1, 3, 2]), x64.reshape([1, 2, 3])), 'matmul float64', 0);
    const i32 = makeView([4], 'int32', 'contiguous', 8);
    assertMatches(gpu().binary('add', i32, i32, 'int32'), ref.binary('add', i32, i32, 'int32'), 'add int32', 0);
    const fresh = notices.slice(before);
    assert.is(fresh.filter((m) => m.includes('unary exp')).length, 1, `one notice for exp: ${fresh.join(' | ')}`);
    assert.ok(fresh.some((m) => m.includes('matmul') && m.includes('float64')), 'matmul notice names float64');
    assert.ok(fresh.some((m) => m.includes('binary add') && m.includes('int32')), 'add notice names int32');
    assert.ok(gpuBackendInfo(gpu()).fallbacks.length >= 3, 'info lists fallbacks');
  });

  test('kernel cache: repeated shapes and layouts do not recompile', () => {
    const a = makeView([7, 5], 'float32', 'transposed', 11);
    const b = makeView([7, 5], 'float32', 'broadcast', 12);
    const run = () => {
      gpu().binary('mul', a, b, 'float32');
      gpu().reduce('sum', a, [1]);
      gpu().matmul(a.reshape([1, 7, 5]), a.reshape([1, 7, 5]).transpose(1, 2));
    };
    run();
    const compiled = gpuBackendInfo(gpu()).kernelsCompiled;
    // fresh arrays with the same shapes and strides reuse the kernels
    makeView([7, 5], 'float32', 'transposed', 13);
    for (let i = 0; i < 3; i++) run();
    assert.is(gpuBackendInfo(gpu()).kernelsCompiled, compiled);
  });

  test('info: reports the mode and the native primitives', () => {
    const info = gpuBackendInfo(gpu());
    assert.ok(info.mode.length > 0);
    assert.ok(info.native.includes('matmul'));
    assert.ok(info.kernelCalls > 0);
  });
}

test.run();
