/**
 * The backend interface: the small set of primitives every other op is built from.
 *
 * The op layer (`ops/*.ts`) does all shape logic (broadcasting, axis handling,
 * dtype promotion) before calling a backend, so a backend only ever sees:
 * - elementwise ops whose inputs already have the output's shape (broadcast inputs
 *   arrive as stride-0 views made by `expand`), with any strides and offsets;
 * - reductions over a sorted list of axes, keeping those axes as size 1;
 * - batched matmul of `[batch, m, k] @ [batch, k, n]` (batch strides may be 0).
 * Backends return fresh contiguous arrays and never mutate their inputs, except
 * `assign` and `scatterAdd`/`indexAdd`, whose first argument is the destination.
 */
import type { DType } from './dtype.ts';
import type { NDArray } from './ndarray.ts';
import type { Window2d } from './ops/conv.ts';

export type UnaryOp =
  | 'neg'
  | 'abs'
  | 'sign'
  | 'exp'
  | 'log'
  | 'log1p'
  | 'expm1'
  | 'sqrt'
  | 'rsqrt'
  | 'reciprocal'
  | 'square'
  | 'tanh'
  | 'sigmoid'
  | 'relu'
  | 'gelu' // tanh approximation
  | 'geluErf' // exact, 0.5 x (1 + erf(x / sqrt 2))
  | 'erf'
  | 'sin'
  | 'cos'
  | 'floor'
  | 'ceil'
  | 'round'
  | 'logicalNot'
  | 'isnan'
  | 'isfinite';

export type BinaryOp =
  | 'add'
  | 'sub'
  | 'mul'
  | 'div'
  | 'pow'
  | 'maximum'
  | 'minimum'
  | 'eq'
  | 'ne'
  | 'lt'
  | 'le'
  | 'gt'
  | 'ge'
  | 'logicalAnd'
  | 'logicalOr';

export type ReduceOp = 'sum' | 'max' | 'min' | 'prod';

export interface Backend {
  /** Short name, e.g. `js` or `gpu`. */
  readonly name: string;

  /** Elementwise `op(x)`, result dtype `outDtype`, same shape as `x`. */
  unary(op: UnaryOp, x: NDArray, outDtype: DType): NDArray;

  /** Elementwise `op(a, b)`; `a` and `b` have the same shape (broadcast already applied). */
  binary(op: BinaryOp, a: NDArray, b: NDArray, outDtype: DType): NDArray;

  /** `cond ? a : b` elementwise; all three have the same shape. */
  where(cond: NDArray, a: NDArray, b: NDArray, outDtype: DType): NDArray;

  /** Reduces `axes` (sorted, unique), keeping them as size 1. Empty axes copy. */
  reduce(op: ReduceOp, x: NDArray, axes: readonly number[]): NDArray;

  /** Index of the max (or min) along one axis, kept as size 1; int32. First index wins ties. */
  argReduce(op: 'argmax' | 'argmin', x: NDArray, axis: number): NDArray;

  /** `[B, m, k] @ [B, k, n] -> [B, m, n]` with the promoted dtype of both. */
  matmul(a: NDArray, b: NDArray): NDArray;

  /** Converts (and densifies) to `dtype`. */
  cast(x: NDArray, dtype: DType): NDArray;

  /** Writes `src` (same shape) into the possibly strided view `dst`, in place. */
  assign(dst: NDArray, src: NDArray): void;

  /** `out[i][j] = x[i][index[i][j]]` along `axis` (torch.gather); `index` is int32, same rank. */
  gather(x: NDArray, axis: number, index: NDArray): NDArray;

  /** In place `dst[i][index[i][j]] += src[i][j]` along `axis` (torch.scatter_add_). */
  scatterAdd(dst: NDArray, axis: number, index: NDArray, src: NDArray): void;

  /** Selects whole slices `index[k]` of `axis` (torch.index_select); `index` is 1-D int32. */
  indexSelect(x: NDArray, axis: number, index: NDArray): NDArray;

  /** In place `dst.select(axis, index[k]) += src.select(axis, k)` (torch.index_add_). */
  indexAdd(dst: NDArray, axis: number, index: NDArray, src: NDArray): void;

  /**
   * Optional fused kernels: one pass where the composed form takes several array ops.
   * A backend may leave any of them out. The forwards (`softmax`, `layerNorm`) are used
   * by the op layer (ops/reduce.ts, ops/norm.ts), which otherwise composes the same math
   * from the primitives above. The backwards (`layerNormBackward`, `geluBackward`) are
   * used by autograd's derivative rules, which otherwise apply their own composed rule:
   * each derivative is written once, in autograd, plus at most this one fused kernel.
   */
  softmax?(x: NDArray, axis: number, log: boolean): NDArray;

  /**
   * Layer norm over the last axis of a dense `[rows, n]` float array:
   * `y = (x - mean) * rstd * weight + bias` with `rstd = 1 / sqrt(var + eps)` and the
   * biased variance. Also returns `mean` and `rstd` (`[rows, 1]`), which the backward
   * reuses. `weight` and `bias` are dense `[n]` (or null).
   */
  layerNorm?(x: NDArray, weight: NDArray | null, bias: NDArray | null, eps: number): LayerNormResult;

  /**
   * Gradients of `layerNorm` for the output gradient `g` (dense `[rows, n]`): `dx`, and
   * `dweight` / `dbias` summed over rows (null when `weight` is null / `withBias` is false).
   * All operands are dense and of the forward's float dtype; `mean` and `rstd` are the
   * forward's `[rows, 1]` statistics.
   */
  layerNormBackward?(g: NDArray, x: NDArray, weight: NDArray | null, withBias: boolean, mean: NDArray, rstd: NDArray): LayerNormGrads;

  /** `g * gelu'(x)` elementwise (x and g have the same shape and float dtype): GELU's backward in one pass. */
  geluBackward?(x: NDArray, g: NDArray, approximate: 'tanh' | 'none'): NDArray;

  /**
   * Optional fused Adam / AdamW step, used by nn's Adam and AdamW (which otherwise run their
   * plain loop): in place on the parameter's dense storage `w` and the moment buffers `m`,
   * `v` (and `vmax` for amsgrad, else null), for the gradient `g` (the parameter's shape,
   * any strides), with the step's constants `k`. Must give exactly the plain loop's values.
   * Returns false, having changed nothing, for a case it does not take (e.g. float64).
   */
  adamUpdate?(w: Float32Array | Float64Array, g: NDArray, m: Float32Array | Float64Array, v: Float32Array | Float64Array, vmax: Float32Array | Float64Array | null, k: AdamStepConstants): boolean;

  /**
   * Optional window kernels, used by ops/conv.ts (which otherwise composes them from
   * `assign` and `binary`) after it has checked the window and the shapes: `im2col` lays
   * every window of `x` ([N, C, H, W], any strides) out as a dense
   * [N, C, KH, KW, OH, OW] array, positions in the padding reading `padValue` (already
   * valid for x's dtype); `col2im`, its adjoint, adds every column element back into a
   * dense [N, C, height, width] array and drops what falls into the padding.
   */
  im2col?(x: NDArray, win: Window2d, padValue: number): NDArray;
  col2im?(cols: NDArray, height: number, width: number, win: Window2d): NDArray;

  /**
   * Optional convolution kernels, used by ops/conv2d.ts (which otherwise composes them
   * from im2col, matmul and col2im) after it has checked the shapes: `conv2d` is the
   * forward (x [N, C, H, W], weight [Cout, C/groups, KH, KW] -> [N, Cout, OH, OW], plus
   * `bias` [Cout] per channel when not null),
   * `conv2dInputGrad` and `conv2dWeightGrad` its gradients with respect to x and weight for
   * an output gradient `grad` [N, Cout, OH, OW]. Operands share one float dtype, any strides.
   */
  conv2d?(x: NDArray, weight: NDArray, win: Window2d, groups: number, bias: NDArray | null): NDArray;
  conv2dInputGrad?(grad: NDArray, weight: NDArray, win: Window2d, groups: number, height: number, width: number): NDArray;
  conv2dWeightGrad?(x: NDArray, grad: NDArray, win: Window2d, groups: number): NDArray;

  /**
   * Optional fused scaled dot-product attention, used by ops/attention.ts (which otherwise
   * composes it from matmul, where and softmax) after it has checked the shapes: q
   * [..., T, D], k [..., S, D] and v [..., S, Dv] share their leading axes and one float
   * dtype, any strides, none empty. `attention` returns softmax(scale q k^T, masked where
   * j > i when `causal`) v and each row's log-sum-exp of the masked, scaled scores
   * ([..., T]); `attentionBackward` the gradients for an output gradient `g` [..., T, Dv]
   * from that log-sum-exp, recomputing the weights instead of storing them.
   */
  attention?(q: NDArray, k: NDArray, v: NDArray, causal: boolean, scale: number): AttentionResult;
  attentionBackward?(g: NDArray, q: NDArray, k: NDArray, v: NDArray, lse: NDArray, causal: boolean, scale: number): AttentionGrads;
}

/** What a fused attention returns (see `Backend.attention`). */
export interface AttentionResult {
  out: NDArray;
  lse: NDArray;
}

/** What a fused attention backward returns (see `Backend.attentionBackward`). */
export interface AttentionGrads {
  dq: NDArray;
  dk: NDArray;
  dv: NDArray;
}

/** What a fused layer norm returns (see `Backend.layerNorm`). */
export interface LayerNormResult {
  y: NDArray;
  mean: NDArray;
  rstd: NDArray;
}

/** What a fused layer norm backward returns (see `Backend.layerNormBackward`). */
export interface LayerNormGrads {
  dx: NDArray;
  dweight: NDArray | null;
  dbias: NDArray | null;
}

/**
 * The constants of one Adam / AdamW step (see `Backend.adamUpdate`), as nn's optimizer
 * computes them: `g' = sign g + l2 w`, `w' = w shrink`, `m = b1 m + (1 - b1) g'`,
 * `v = b2 v + (1 - b2) g'^2`, `w = w' - stepSize m / (sqrt(v) / bc2Sqrt + eps)`.
 */
export interface AdamStepConstants {
  b1: number;
  b2: number;
  l2: number;
  shrink: number;
  sign: number;
  stepSize: number;
  bc2Sqrt: number;
  eps: number;
}
