/**
 * Elementwise primitives as kernels: unary, binary (with broadcasting), where, cast, assign.
 * One kernel per signature reads each operand through its own strides (broadcast operands
 * upload only their distinct elements) after merging dimensions laid out contiguously together.
 */
import type { BinaryOp, UnaryOp } from '../../backend.ts';
import type { DType, TypedArray } from '../../dtype.ts';
import { NDArray } from '../../ndarray.ts';
import { fastBackend } from '../fast/index.ts';
import { binarySource, GL_CONSTS, linear, powSourceGl, truthy, unarySource } from './kernel-sources.ts';
import type { KernelContext } from './launch.ts';
import { coalesce, operand, toDtype, writeInto } from './layout.ts';

/**
 * One kernel for unary/binary/where/cast: `names` are the variables holding each operand's
 * element, `body()` returns the result; `tag` identifies the body in the kernel cache.
 * `consts` is appended as the last argument (GL kernels read NaN and Infinity from it).
 */
function elementwise(ctx: KernelContext, tag: string, inputs: NDArray[], names: string[], body: () => string, outDtype: DType, consts?: Float32Array): NDArray {
  const shape = inputs[0]!.shape;
  const ops = inputs.map(operand);
  const sig = `e:${tag}:${shape.join(',')}:${ops.map((o) => `${o.base}/${o.strides.join(',')}`).join(':')}`;
  const build = () => {
    const merged = coalesce(shape, ops.map((o) => o.strides));
    const { code, coords } = ctx.decompose('id', merged.shape, '');
    const loads = ops.map((o, k) => {
      const idx = linear(o.base, coords.map((c, d) => [c, merged.strides[k]![d]!] as const));
      return `const ${names[k]} = x${k}[${idx}];`;
    });
    return ['const id = this.thread.x;', code, ...loads, body()];
  };
  const args: TypedArray[] = ops.map((o) => o.upload);
  if (consts) args.push(consts);
  const out = ctx.launch(sig, build, [inputs[0]!.size], args, 1);
  return new NDArray(toDtype(out, outDtype), shape, undefined, 0, outDtype);
}

/** `Backend.unary` on the gpu. */
export function unary(ctx: KernelContext, op: UnaryOp, x: NDArray, outDtype: DType): NDArray {
  if (x.size === 0) return fastBackend.unary(op, x, outDtype);
  const problem = ctx.elementwiseProblem([x], outDtype) ?? (op === 'sin' || op === 'cos' ? ctx.trigProblem(x) : null);
  if (problem) return ctx.fallback(`unary ${op}`, problem).unary(op, x, outDtype);
  return elementwise(ctx, `u${op}`, [x], ['v'], () => unarySource(op, ctx.glLike), outDtype);
}

/** `Backend.binary` on the gpu (a and b already broadcast to one shape). */
export function binary(ctx: KernelContext, op: BinaryOp, a: NDArray, b: NDArray, outDtype: DType): NDArray {
  if (a.size === 0) return fastBackend.binary(op, a, b, outDtype);
  const elementProblem = ctx.elementwiseProblem([a, b], outDtype);
  if (elementProblem) return ctx.fallback(`binary ${op}`, elementProblem).binary(op, a, b, outDtype);
  if (op === 'pow' && ctx.glLike) {
    const problem = ctx.powProblem(a, b);
    if (problem) return ctx.fallback('binary pow', problem).binary(op, a, b, outDtype);
    return elementwise(ctx, 'bpow', [a, b], ['u', 'w'], () => powSourceGl('x2'), outDtype, GL_CONSTS);
  }
  return elementwise(ctx, `b${op}`, [a, b], ['u', 'w'], () => `return ${binarySource(op)};`, outDtype);
}

/** `Backend.where` on the gpu. */
export function where(ctx: KernelContext, cond: NDArray, a: NDArray, b: NDArray, outDtype: DType): NDArray {
  if (a.size === 0) return fastBackend.where(cond, a, b, outDtype);
  const problem = ctx.elementwiseProblem([cond, a, b], outDtype);
  if (problem) return ctx.fallback('where', problem).where(cond, a, b, outDtype);
  return elementwise(ctx, 'where', [cond, a, b], ['c', 'u', 'w'], () => `return ${truthy('c')} ? u : w;`, outDtype);
}

/** `Backend.cast` on the gpu: int32 data may be read here (an exact conversion below 2^24). */
export function cast(ctx: KernelContext, x: NDArray, dtype: DType): NDArray {
  if (x.size === 0) return fastBackend.cast(x, dtype);
  let problem: string | null = null;
  if (dtype === 'float64') problem = 'got a float64 output (gpu.js kernels are float32 only)';
  else if (x.dtype === 'int32' && dtype === 'int32') problem = 'got int32 -> int32 (float32 kernels are exact only below 2^24)';
  else problem = ctx.dataProblem(x, true);
  if (problem) return ctx.fallback(`cast to ${dtype}`, problem).cast(x, dtype);
  // int32 storage truncates toward zero on write, as astype does with Math.trunc
  const body = dtype === 'bool' ? `return ${truthy('v')} ? 1 : 0;` : 'return v;';
  return elementwise(ctx, `c${dtype === 'bool' ? 'bool' : 'num'}`, [x], ['v'], () => body, dtype);
}

/**
 * `Backend.assign` on the gpu. gpu.js has no in-place writes: a kernel converts src to dst's
 * dtype, and the strided write itself is host memory traffic.
 */
export function assign(ctx: KernelContext, dst: NDArray, src: NDArray): void {
  if (dst.size === 0) return;
  const problem =
    dst.dtype === 'float64'
      ? 'got a float64 destination (gpu.js kernels are float32 only)'
      : dst.dtype === 'int32' && src.dtype === 'int32'
        ? 'got int32 -> int32 (float32 kernels are exact only below 2^24)'
        : (ctx.dataProblem(src, true) ?? ctx.sizeProblem(dst));
  if (problem) {
    ctx.fallback('assign', problem).assign(dst, src);
    return;
  }
  writeInto(dst, cast(ctx, src, dst.dtype).data);
}
