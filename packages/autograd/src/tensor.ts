/**
 * Tensor: an NDArray plus what autograd needs — whether it requires a gradient, the
 * accumulated `.grad`, and the graph node of the op that produced it.
 *
 * The methods are thin: each calls the op function in `ops/`, where the forward and
 * its derivative rule sit side by side.
 */
import * as nd from '@tsgrad/tensor';
import { runBackward, type BackwardOptions } from './engine.ts';
import type { Node } from './graph.ts';
import * as inplace from './inplace.ts';
import * as arith from './ops/arithmetic.ts';
import * as idx from './ops/indexing.ts';
import { matmul } from './ops/matmul.ts';
import * as red from './ops/reduce.ts';
import * as shp from './ops/shape.ts';
import * as un from './ops/unary.ts';
import { storageVersion } from './version.ts';

type Operand = Tensor | number;
type InPlaceOperand = inplace.InPlaceOperand;

export class Tensor {
  /**
   * The values. Writing into it directly bypasses autograd and its version check
   * (optimizers do so on leaves); prefer the in-place methods (`sub_`, ...) under noGrad.
   */
  data: nd.NDArray;
  /** Accumulated gradient after `backward()`; null until then (or after `zeroGrad`). */
  grad: Tensor | null = null;
  /** Optional human-readable name (parameters get their dotted name). */
  name?: string;
  private _requiresGrad = false;
  private _node: Node | null = null;
  private _retainGrad = false;

  constructor(data: nd.NDArray, requiresGrad = false) {
    this.data = data;
    if (requiresGrad) this.requiresGrad_(true);
  }

  get shape(): readonly number[] {
    return this.data.shape;
  }
  get dtype(): nd.DType {
    return this.data.dtype;
  }
  get ndim(): number {
    return this.data.ndim;
  }
  get size(): number {
    return this.data.size;
  }
  /** Number of elements (PyTorch's `numel()`). */
  numel(): number {
    return this.data.size;
  }
  get requiresGrad(): boolean {
    return this._requiresGrad;
  }
  /** The node of the op that made this tensor; null for leaves. */
  get node(): Node | null {
    return this._node;
  }
  /** True for tensors not produced by a recorded op (user-created, parameters). */
  get isLeaf(): boolean {
    return this._node === null;
  }
  /** Whether a non-leaf keeps its `.grad` after backward (see `retainGrad`). */
  get retainsGrad(): boolean {
    return this._retainGrad;
  }

  /** How many in-place writes the storage has seen (PyTorch's `_version`); views share it. */
  get version(): number {
    return storageVersion(this.data);
  }

  /** Marks a leaf as requiring gradients (in place). Only float tensors can. */
  requiresGrad_(flag = true): this {
    if (!this.isLeaf) throw new Error('requiresGrad_: only leaf tensors can change requiresGrad; use detach() first');
    if (flag && !nd.isFloat(this.dtype)) {
      throw new TypeError(`requiresGrad_: only floating point tensors can require gradients, got ${this.dtype}`);
    }
    this._requiresGrad = flag;
    return this;
  }

  /** Keeps `.grad` on this non-leaf tensor after backward (torch's retain_grad). */
  retainGrad(): this {
    this._retainGrad = true;
    return this;
  }

  /** @internal Connects an op output to the graph. */
  attach(node: Node): void {
    this._node = node;
    this._requiresGrad = true;
  }

  /** The same values, cut from the graph. Shares storage. */
  detach(): Tensor {
    return new Tensor(this.data);
  }

  /**
   * Backpropagates from this tensor, accumulating into the `.grad` of every leaf that
   * requires a gradient. A non-scalar needs `gradOutput` (the vector in the VJP).
   * `createGraph: true` records the backward pass too, for higher-order gradients;
   * the options may come alone (`loss.backward({ createGraph: true })`) or after the
   * gradient (`y.backward(g, { retainGraph: true })`).
   * @example loss.backward(); w.grad
   */
  backward(options?: BackwardOptions): void;
  backward(gradOutput?: Tensor, options?: BackwardOptions): void;
  backward(first?: Tensor | BackwardOptions, options: BackwardOptions = {}): void {
    if (first instanceof Tensor || first === undefined) {
      runBackward([this], first ? [first] : undefined, options);
    } else {
      runBackward([this], undefined, first);
    }
  }

  // ---------------------------------------------------------------- reading

  /** Nested JS arrays of the values; name the type to index it: `t.toArray<number[][]>()[0]![1]`. */
  toArray<T extends nd.NestedArray = nd.NestedArray>(): T {
    return this.data.tolist<T>();
  }
  /** Nested JS arrays (a number for a 0-d tensor), as PyTorch's `tolist()`. */
  tolist<T extends nd.NestedArray = nd.NestedArray>(): T {
    return this.data.tolist<T>();
  }
  /** The value of a one-element tensor; throws naming the shape otherwise. */
  item(): number {
    return this.data.item();
  }
  /**
   * PyTorch-style values with dtype and shape, plus `requiresGrad=true` on a leaf that
   * requires grad and `gradFn=<op>` on a tensor computed by a recorded op.
   * @example String(tensor([1, 2])) // 'Tensor([1., 2.], dtype=float32, shape=[2])'
   */
  toString(): string {
    const extras = this._node ? [`gradFn=<${this._node.op}>`] : this._requiresGrad ? ['requiresGrad=true'] : [];
    return nd.formatArray('Tensor', this.data, extras);
  }
  /** What `console.log(t)` shows in Node (the same as `String(t)`). */
  [nd.inspectSymbol](): string {
    return this.toString();
  }

  // ---------------------------------------------------------------- in place (see inplace.ts)
  // Not recorded: on tensors that require grad they run only inside noGrad.

  /** `this -= o` in place. @example noGrad(() => w.sub_(w.grad!.mul(lr))) */
  sub_(o: InPlaceOperand): this {
    inplace.sub_(this, o);
    return this;
  }
  /** `this += o` in place. */
  add_(o: InPlaceOperand): this {
    inplace.add_(this, o);
    return this;
  }
  /** `this *= o` in place. */
  mul_(o: InPlaceOperand): this {
    inplace.mul_(this, o);
    return this;
  }
  /** `this /= o` in place. */
  div_(o: InPlaceOperand): this {
    inplace.div_(this, o);
    return this;
  }
  /** Every element set to `value`. */
  fill_(value: number): this {
    inplace.fill_(this, value);
    return this;
  }
  /** Every element set to zero. @example w.grad?.zero_() */
  zero_(): this {
    inplace.zero_(this);
    return this;
  }
  /** Copies `source`'s values (broadcast, cast to this dtype) into this tensor. */
  copy_(source: InPlaceOperand): this {
    inplace.copy_(this, source);
    return this;
  }

  // ---------------------------------------------------------------- arithmetic
  add(o: Operand): Tensor {
    return arith.add(this, o);
  }
  sub(o: Operand): Tensor {
    return arith.sub(this, o);
  }
  mul(o: Operand): Tensor {
    return arith.mul(this, o);
  }
  div(o: Operand): Tensor {
    return arith.div(this, o);
  }
  pow(o: Operand): Tensor {
    return arith.pow(this, o);
  }
  maximum(o: Operand): Tensor {
    return arith.maximum(this, o);
  }
  minimum(o: Operand): Tensor {
    return arith.minimum(this, o);
  }
  neg(): Tensor {
    return un.neg(this);
  }
  abs(): Tensor {
    return un.abs(this);
  }
  sign(): Tensor {
    return un.sign(this);
  }
  exp(): Tensor {
    return un.exp(this);
  }
  log(): Tensor {
    return un.log(this);
  }
  sqrt(): Tensor {
    return un.sqrt(this);
  }
  square(): Tensor {
    return arith.mul(this, this);
  }
  tanh(): Tensor {
    return un.tanh(this);
  }
  sigmoid(): Tensor {
    return un.sigmoid(this);
  }
  relu(): Tensor {
    return un.relu(this);
  }
  /** GELU; exact by default (`'none'`), `'tanh'` for the approximation. */
  gelu(approximate: 'none' | 'tanh' = 'none'): Tensor {
    return un.gelu(this, approximate);
  }
  erf(): Tensor {
    return un.erf(this);
  }
  sin(): Tensor {
    return un.sin(this);
  }
  cos(): Tensor {
    return un.cos(this);
  }
  matmul(o: Tensor): Tensor {
    return matmul(this, o);
  }
  /** Converts to `dtype` (differentiable between float types). */
  to(dtype: nd.DType): Tensor {
    return un.cast(this, dtype);
  }

  // ---------------------------------------------------------------- comparisons (no gradient)
  eq(o: Operand): Tensor {
    return compare(nd.eq, this, o);
  }
  ne(o: Operand): Tensor {
    return compare(nd.ne, this, o);
  }
  lt(o: Operand): Tensor {
    return compare(nd.lt, this, o);
  }
  le(o: Operand): Tensor {
    return compare(nd.le, this, o);
  }
  gt(o: Operand): Tensor {
    return compare(nd.gt, this, o);
  }
  ge(o: Operand): Tensor {
    return compare(nd.ge, this, o);
  }
  /** Index of the maximum along `dim` (int32, no gradient). */
  argmax(dim?: number, keepdim = false): Tensor {
    return new Tensor(nd.argmax(this.data, dim, keepdim));
  }
  /** Index of the minimum along `dim` (int32, no gradient). */
  argmin(dim?: number, keepdim = false): Tensor {
    return new Tensor(nd.argmin(this.data, dim, keepdim));
  }

  // ---------------------------------------------------------------- reductions
  sum(dim?: number | readonly number[], keepdim = false): Tensor {
    return red.sum(this, dim, keepdim);
  }
  mean(dim?: number | readonly number[], keepdim = false): Tensor {
    return red.mean(this, dim, keepdim);
  }
  /** Max over `dim` (values only; indices come from `argmax`). Ties share the gradient. */
  max(dim?: number | readonly number[], keepdim = false): Tensor {
    return red.max(this, dim, keepdim);
  }
  min(dim?: number | readonly number[], keepdim = false): Tensor {
    return red.min(this, dim, keepdim);
  }
  /** Variance; unbiased (N - 1) by default like torch.var. */
  var(dim?: number | readonly number[], opts: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
    return red.variance(this, dim, opts);
  }
  logsumexp(dim: number | readonly number[], keepdim = false): Tensor {
    return red.logsumexp(this, dim, keepdim);
  }
  softmax(dim: number): Tensor {
    return red.softmax(this, dim);
  }
  logSoftmax(dim: number): Tensor {
    return red.logSoftmax(this, dim);
  }

  // ---------------------------------------------------------------- shape
  reshape(shape: readonly number[]): Tensor {
    return shp.reshape(this, shape);
  }
  /** Alias of reshape (storage is shared whenever the layout allows). */
  view(shape: readonly number[]): Tensor {
    return shp.reshape(this, shape);
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    const s = nd.normalizeAxis(startDim, Math.max(this.ndim, 1), 'flatten');
    const e = nd.normalizeAxis(endDim, Math.max(this.ndim, 1), 'flatten');
    if (this.ndim === 0) return this.reshape([1]);
    const merged = this.shape.slice(s, e + 1).reduce((a, b) => a * b, 1);
    return this.reshape([...this.shape.slice(0, s), merged, ...this.shape.slice(e + 1)]);
  }
  transpose(d0: number, d1: number): Tensor {
    return shp.transpose(this, d0, d1);
  }
  /** Transpose of the last two axes. */
  get mT(): Tensor {
    return shp.transpose(this, -2, -1);
  }
  permute(dims: readonly number[]): Tensor {
    return shp.permute(this, dims);
  }
  expand(shape: readonly number[]): Tensor {
    return shp.expand(this, shape);
  }
  unsqueeze(dim: number): Tensor {
    return shp.unsqueeze(this, dim);
  }
  squeeze(dim?: number | readonly number[]): Tensor {
    return shp.squeeze(this, dim);
  }
  /** Python-style slice of one axis: `x.slice(1, 0, 4, 2)` is `x[:, 0:4:2]`. */
  slice(dim: number, start = 0, end?: number, step = 1): Tensor {
    return shp.slice(this, dim, start, end, step);
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return shp.narrow(this, dim, start, length);
  }
  /** A dense copy when the layout is strided; the same tensor otherwise. */
  contiguous(): Tensor {
    return this.data.isContiguous() ? this : arith.add(this, 0);
  }
  /** A copy that takes part in the graph (torch.clone). */
  clone(): Tensor {
    return arith.add(this, 0);
  }

  // ---------------------------------------------------------------- indexing
  gather(dim: number, index: Tensor | nd.NDArray): Tensor {
    return idx.gather(this, dim, index);
  }
  indexSelect(dim: number, index: Tensor | nd.NDArray): Tensor {
    return idx.indexSelect(this, dim, index);
  }
  maskedFill(mask: Tensor | nd.NDArray, value: number): Tensor {
    return idx.maskedFill(this, mask, value);
  }
  /** `cond ? this : other` (torch's `x.where(cond, y)`). */
  where(cond: Tensor | nd.NDArray, other: Operand): Tensor {
    return idx.where(cond, this, other);
  }
}

function compare(fn: (a: nd.Operand, b: nd.Operand) => nd.NDArray, a: Tensor, b: Operand): Tensor {
  return new Tensor(fn(a.data, b instanceof Tensor ? b.data : b));
}

/** Wraps an NDArray as a tensor that never requires a gradient. */
export function constant(data: nd.NDArray): Tensor {
  return new Tensor(data);
}
