/**
 * Reductions as kernels: each thread owns one output element and loops over the reduced axes
 * (merged where they are contiguous together), in the same order as the CPU backend.
 */
import type { ReduceOp } from '../../backend.ts';
import type { DType } from '../../dtype.ts';
import { NDArray } from '../../ndarray.ts';
import { sizeOf } from '../../shape.ts';
import { fastBackend } from '../fast/index.ts';
import { linear } from './kernel-sources.ts';
import type { KernelContext } from './launch.ts';
import { coalesce, operand, toDtype, type Operand } from './layout.ts';

// max/min start from the first reduced element (offset 0 from b): gpu.js writes `-Infinity` into
// GLSL as -3.4e38, which would turn a row of -Infinity into -3.4e38
const INIT: Record<ReduceOp, string> = { sum: '0', prod: '1', max: 'x0[b]', min: 'x0[b]' };
const STEP: Record<ReduceOp, string> = {
  sum: 'acc += v;',
  prod: 'acc *= v;',
  // NaN wins, as in the js backend
  max: 'if (v > acc || v != v) { acc = v; }',
  min: 'if (v < acc || v != v) { acc = v; }',
};

/** Splits x's axes into kept ones (the output) and reduced ones (the loops), each merged where contiguous. */
function splitAxes(x: NDArray, o: Operand, axes: readonly number[]) {
  const kept = x.shape.map((_, d) => d).filter((d) => !axes.includes(d));
  const keptMerged = coalesce(
    kept.map((d) => x.shape[d]!),
    [kept.map((d) => o.strides[d]!)],
  );
  const redMerged = coalesce(
    axes.map((d) => x.shape[d]!),
    [axes.map((d) => o.strides[d]!)],
  );
  return { kept: keptMerged, red: redMerged };
}

/** `Backend.reduce` on the gpu. */
export function reduce(ctx: KernelContext, op: ReduceOp, x: NDArray, axes: readonly number[]): NDArray {
  const outShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const outSize = sizeOf(outShape);
  const reducedSize = sizeOf(axes.map((a) => x.shape[a]!));
  if (outSize === 0 || reducedSize === 0) return fastBackend.reduce(op, x, axes);
  const problem = ctx.dataProblem(x);
  if (problem) return ctx.fallback(`reduce ${op}`, problem).reduce(op, x, axes);
  const o = operand(x);
  const sig = `r:${op}:${x.shape.join(',')}:${o.base}/${o.strides.join(',')}:${axes.join(',')}`;
  const build = () => {
    const { kept, red } = splitAxes(x, o, axes);
    const { code, coords } = ctx.decompose('id', kept.shape, 'k');
    const start = linear(o.base, coords.map((c, d) => [c, kept.strides[0]![d]!] as const));
    const loopVars = red.shape.map((_, d) => `r${d}`);
    const at = linear(0, loopVars.map((v, d) => [v, red.strides[0]![d]!] as const));
    return [
      'const id = this.thread.x;',
      code,
      `const b = ${start};`,
      `let acc = ${INIT[op]};`,
      ...red.shape.map((n, d) => `for (let ${loopVars[d]} = 0; ${loopVars[d]} < ${n}; ${loopVars[d]}++) {`),
      `const v = x0[b + ${at}];`,
      STEP[op],
      ...red.shape.map(() => '}'),
      'return acc;',
    ];
  };
  const out = ctx.launch(sig, build, [outSize], [o.upload], reducedSize + 1);
  const outDtype: DType = (op === 'sum' || op === 'prod') && x.dtype === 'bool' ? 'int32' : x.dtype;
  return new NDArray(toDtype(out, outDtype), outShape, undefined, 0, outDtype);
}

/** `Backend.argReduce` on the gpu. */
export function argReduce(ctx: KernelContext, op: 'argmax' | 'argmin', x: NDArray, axis: number): NDArray {
  const outShape = x.shape.map((d, i) => (i === axis ? 1 : d));
  const outSize = sizeOf(outShape);
  if (outSize === 0 || x.shape[axis] === 0) return fastBackend.argReduce(op, x, axis);
  const problem = ctx.dataProblem(x);
  if (problem) return ctx.fallback(op, problem).argReduce(op, x, axis);
  const o = operand(x);
  const sig = `a:${op}:${x.shape.join(',')}:${o.base}/${o.strides.join(',')}:${axis}`;
  const build = () => {
    const { kept } = splitAxes(x, o, [axis]);
    const { code, coords } = ctx.decompose('id', kept.shape, 'k');
    const start = linear(o.base, coords.map((c, d) => [c, kept.strides[0]![d]!] as const));
    const sign = op === 'argmax' ? '' : '-';
    return [
      'const id = this.thread.x;',
      code,
      `const b = ${start};`,
      'let best = 0;',
      `let bv = ${sign}x0[b];`,
      `for (let j = 1; j < ${x.shape[axis]}; j++) {`,
      `  const v = ${sign}x0[b + ${linear(0, [['j', o.strides[axis]!]])}];`,
      // the first NaN wins and ends the search, as in the js backend
      '  if (bv == bv) { if (v > bv || v != v) { bv = v; best = j; } }',
      '}',
      'return best;',
    ];
  };
  const out = ctx.launch(sig, build, [outSize], [o.upload], x.shape[axis]! + 1);
  return new NDArray(toDtype(out, 'int32'), outShape, undefined, 0, 'int32');
}
