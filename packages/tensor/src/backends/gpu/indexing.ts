/**
 * Indexing primitives as kernels: gather, indexSelect, scatterAdd, indexAdd.
 *
 * gpu.js has no in-place writes, so scatterAdd and indexAdd compute the new values of the
 * destination in a kernel and copy them into its view on the host. Scatters are turned into
 * gathers: the host groups source positions by target (a stable counting sort), and each
 * output element sums its own group in the same order as the CPU backend, so on float32
 * targets (webasm) the sums match it exactly.
 */
import { NDArray } from '../../ndarray.ts';
import { contiguousStrides, sizeOf } from '../../shape.ts';
import { fastBackend } from '../fast/index.ts';
import { EXACT_LIMIT } from './guards.ts';
import { linear } from './kernel-sources.ts';
import type { KernelContext } from './launch.ts';
import { operand, toDtype, writeInto, type Operand } from './layout.ts';

/** Checks index values like the js backend (negative ones count from the end) and returns them as float32. */
function readIndex(index: NDArray, size: number, op: string, axis: number | null): Float32Array {
  const where = axis === null ? 'an axis' : `axis ${axis}`;
  const raw = index.toTyped();
  const out = new Float32Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const v = raw[i]!;
    const j = v < 0 ? v + size : v;
    if (j < 0 || j >= size) throw new RangeError(`${op}: index ${v} is out of range for ${where} of size ${size}`);
    out[i] = j;
  }
  return out;
}

/** `Backend.gather` on the gpu. */
export function gather(ctx: KernelContext, x: NDArray, axis: number, index: NDArray): NDArray {
  if (index.size === 0 || x.size === 0) return fastBackend.gather(x, axis, index);
  const problem = ctx.dataProblem(x) ?? ctx.sizeProblem(index);
  if (problem) return ctx.fallback('gather', problem).gather(x, axis, index);
  const idx = readIndex(index, x.shape[axis]!, 'gather', axis);
  const o = operand(x);
  const sig = `g:${x.shape.join(',')}:${o.base}/${o.strides.join(',')}:${axis}:${index.shape.join(',')}`;
  const build = () => {
    const { code, coords } = ctx.decompose('id', index.shape, '');
    const at = linear(o.base, coords.map((c, d) => [d === axis ? 'j' : c, o.strides[d]!] as const));
    return ['const id = this.thread.x;', code, 'const j = x1[id];', `return x0[${at}];`];
  };
  const out = ctx.launch(sig, build, [index.size], [o.upload, idx], 1);
  return new NDArray(toDtype(out, x.dtype), index.shape, undefined, 0, x.dtype);
}

/** `Backend.indexSelect` on the gpu. */
export function indexSelect(ctx: KernelContext, x: NDArray, axis: number, index: NDArray): NDArray {
  const outShape = [...x.shape];
  outShape[axis] = index.size;
  if (sizeOf(outShape) === 0) return fastBackend.indexSelect(x, axis, index);
  const problem = ctx.dataProblem(x) ?? (sizeOf(outShape) >= EXACT_LIMIT ? 'got an output of 2^24 or more elements' : null);
  if (problem) return ctx.fallback('indexSelect', problem).indexSelect(x, axis, index);
  const idx = readIndex(index, x.shape[axis]!, 'indexSelect', null);
  const o = operand(x);
  const sig = `s:${x.shape.join(',')}:${o.base}/${o.strides.join(',')}:${axis}:${index.size}`;
  const build = () => {
    const { code, coords } = ctx.decompose('id', outShape, '');
    const at = linear(o.base, coords.map((c, d) => [d === axis ? 'j' : c, o.strides[d]!] as const));
    return ['const id = this.thread.x;', code, `const j = x1[${coords[axis]}];`, `return x0[${at}];`];
  };
  const out = ctx.launch(sig, build, [sizeOf(outShape)], [o.upload, idx], 1);
  return new NDArray(toDtype(out, x.dtype), outShape, undefined, 0, x.dtype);
}

/**
 * Sum-into kernel shared by scatterAdd and indexAdd: output element `id` of dst (row-major) is
 * dst[id] plus src values at `srcPos[starts[g] .. starts[g+1])`, where `group` gives g from id.
 */
function accumulate(
  ctx: KernelContext,
  tag: string,
  dst: NDArray,
  src: Operand,
  starts: Float32Array,
  srcPos: Float32Array,
  groupSource: (coords: string[]) => string,
  offsetSource: (coords: string[]) => string,
): void {
  const od = operand(dst);
  const sig = `${tag}:${dst.shape.join(',')}:${od.base}/${od.strides.join(',')}:${src.base}/${src.strides.join(',')}`;
  const build = () => {
    const { code, coords } = ctx.decompose('id', dst.shape, '');
    const dAt = linear(od.base, coords.map((c, d) => [c, od.strides[d]!] as const));
    return [
      'const id = this.thread.x;',
      code,
      `const g = ${groupSource(coords)};`,
      `let acc = x0[${dAt}];`,
      'const t0 = x2[g];',
      'const t1 = x2[g + 1];',
      `const off = ${offsetSource(coords)};`,
      'for (let t = t0; t < t1; t++) {',
      '  acc += x1[x3[t] + off];',
      '}',
      'return acc;',
    ];
  };
  const out = ctx.launch(sig, build, [dst.size], [od.upload, src.upload, starts, srcPos], srcPos.length + 1);
  writeInto(dst, out);
}

/** `Backend.scatterAdd` on the gpu: dst[..., index[i], ...] += src[i] along `axis`. */
export function scatterAdd(ctx: KernelContext, dst: NDArray, axis: number, index: NDArray, src: NDArray): void {
  if (index.size === 0 || dst.size === 0) {
    fastBackend.scatterAdd(dst, axis, index, src);
    return;
  }
  const problem =
    dst.dtype !== 'float32' ? `got a ${dst.dtype} destination (only float32 accumulates exactly in kernels)` : (ctx.dataProblem(src) ?? ctx.sizeProblem(dst) ?? ctx.sizeProblem(index));
  if (problem) {
    ctx.fallback('scatterAdd', problem).scatterAdd(dst, axis, index, src);
    return;
  }
  const size = dst.shape[axis]!;
  const idx = readIndex(index, size, 'scatterAdd', axis);
  const os = operand(src);
  // Group every index element by the dst element it targets (row-major dst position),
  // keeping index order inside a group so sums add up in the js backend's order.
  const dstStrides = contiguousStrides(dst.shape);
  const nd = index.ndim;
  const target = new Int32Array(index.size);
  const from = new Float32Array(index.size);
  const counts = new Int32Array(dst.size + 1);
  const counter = new Array<number>(nd).fill(0);
  for (let i = 0; i < index.size; i++) {
    let t = 0;
    let p = os.base;
    for (let d = 0; d < nd; d++) {
      t += (d === axis ? idx[i]! : counter[d]!) * dstStrides[d]!;
      p += counter[d]! * os.strides[d]!;
    }
    target[i] = t;
    from[i] = p;
    counts[t + 1]!++;
    for (let d = nd - 1; d >= 0; d--) {
      if (++counter[d]! < index.shape[d]!) break;
      counter[d] = 0;
    }
  }
  const starts = new Float32Array(dst.size + 1);
  for (let t = 0; t < dst.size; t++) counts[t + 1]! += counts[t]!;
  starts.set(counts);
  const fill = counts.slice(0, dst.size);
  const srcPos = new Float32Array(index.size);
  for (let i = 0; i < index.size; i++) srcPos[fill[target[i]!]!++] = from[i]!;
  accumulate(ctx, `sa${axis}`, dst, os, starts, srcPos, () => 'id', () => '0');
}

/** `Backend.indexAdd` on the gpu: slice index[k] of dst along `axis` += slice k of src. */
export function indexAdd(ctx: KernelContext, dst: NDArray, axis: number, index: NDArray, src: NDArray): void {
  if (index.size === 0 || dst.size === 0) {
    fastBackend.indexAdd(dst, axis, index, src);
    return;
  }
  const problem =
    dst.dtype !== 'float32' ? `got a ${dst.dtype} destination (only float32 accumulates exactly in kernels)` : (ctx.dataProblem(src) ?? ctx.sizeProblem(dst));
  if (problem) {
    ctx.fallback('indexAdd', problem).indexAdd(dst, axis, index, src);
    return;
  }
  const size = dst.shape[axis]!;
  const idx = readIndex(index, size, 'indexAdd', null);
  const os = operand(src);
  // Group the positions k of `index` by the dst slice they add into, in order of k.
  const counts = new Int32Array(size + 1);
  for (let kk = 0; kk < idx.length; kk++) counts[idx[kk]! + 1]!++;
  for (let c = 0; c < size; c++) counts[c + 1]! += counts[c]!;
  const starts = Float32Array.from(counts);
  const fill = counts.slice(0, size);
  const srcPos = new Float32Array(idx.length);
  const sa = os.strides[axis]!;
  for (let kk = 0; kk < idx.length; kk++) srcPos[fill[idx[kk]!]!++] = kk * sa;
  accumulate(
    ctx,
    `ia${axis}`,
    dst,
    os,
    starts,
    srcPos,
    (coords) => coords[axis]!,
    (coords) => linear(os.base, coords.map((c, d) => [d === axis ? '0' : c, os.strides[d]!] as const)),
  );
}
