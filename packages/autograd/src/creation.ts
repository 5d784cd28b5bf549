/**
 * Creating tensors. Every creator takes `{ dtype, requiresGrad }`; random ones take
 * a `seed` too (without it they draw from the global generator, see `manualSeed`).
 */
import * as nd from '@tsgrad/tensor';
import { Tensor } from './tensor.ts';

export interface TensorOptions {
  dtype?: nd.DType;
  requiresGrad?: boolean;
}

/**
 * A tensor from nested arrays, a number, a boolean, a typed array or an NDArray.
 * @example tensor([[1, 2], [3, 4]], { dtype: 'float64', requiresGrad: true })
 */
export function tensor(data: nd.NestedArray | nd.NDArray | nd.TypedArray, opts: TensorOptions = {}): Tensor {
  let array: nd.NDArray;
  if (data instanceof nd.NDArray) array = opts.dtype && opts.dtype !== data.dtype ? nd.cast(data, opts.dtype) : data;
  else if (ArrayBuffer.isView(data)) array = nd.array(data as nd.TypedArray as unknown as ArrayLike<number>, opts.dtype ?? nd.dtypeOfArray(data as nd.TypedArray));
  else array = nd.array(data, opts.dtype);
  return new Tensor(array, opts.requiresGrad ?? false);
}

export function zeros(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  return new Tensor(nd.zeros(shape, opts.dtype), opts.requiresGrad);
}

export function ones(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  return new Tensor(nd.ones(shape, opts.dtype), opts.requiresGrad);
}

export function full(shape: readonly number[], value: number, opts: TensorOptions = {}): Tensor {
  return new Tensor(nd.full(shape, value, opts.dtype ?? 'float32'), opts.requiresGrad);
}

export function zerosLike(x: Tensor, opts: TensorOptions = {}): Tensor {
  return zeros(x.shape, { dtype: x.dtype, ...opts });
}

export function onesLike(x: Tensor, opts: TensorOptions = {}): Tensor {
  return ones(x.shape, { dtype: x.dtype, ...opts });
}

/** Uniform in [0, 1) (or [low, high)). @example rand([2, 3], { seed: 0 }) */
export function rand(shape: readonly number[], opts: TensorOptions & { seed?: number; low?: number; high?: number } = {}): Tensor {
  return new Tensor(nd.rand(shape, opts), opts.requiresGrad);
}

/** Standard normal (or N(mean, std^2)). @example randn([2, 3], { seed: 0 }) */
export function randn(shape: readonly number[], opts: TensorOptions & { seed?: number; mean?: number; std?: number } = {}): Tensor {
  return new Tensor(nd.randn(shape, opts), opts.requiresGrad);
}

/** Integers in [low, high), int32. */
export function randint(low: number, high: number, shape: readonly number[], opts: { seed?: number } = {}): Tensor {
  return new Tensor(nd.randint(low, high, shape, opts));
}

/** A random permutation of 0..n-1, int32. */
export function randperm(n: number, opts: { seed?: number } = {}): Tensor {
  return new Tensor(nd.randperm(n, opts));
}

/** Range [start, end) with `step`. */
export function arange(start: number, end?: number, step = 1, opts: TensorOptions = {}): Tensor {
  return new Tensor(nd.arange(start, end, step, opts.dtype), opts.requiresGrad);
}

export function linspace(start: number, end: number, steps: number, opts: TensorOptions = {}): Tensor {
  return new Tensor(nd.linspace(start, end, steps, opts.dtype), opts.requiresGrad);
}

export function eye(n: number, m = n, opts: TensorOptions = {}): Tensor {
  return new Tensor(nd.eye(n, m, opts.dtype), opts.requiresGrad);
}

/** One-hot rows for int32 class ids. */
export function oneHot(ids: Tensor, numClasses: number, dtype: 'float32' | 'float64' | 'int32' = 'int32'): Tensor {
  return new Tensor(nd.oneHot(ids.data, numClasses, dtype));
}
