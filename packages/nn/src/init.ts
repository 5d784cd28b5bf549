/**
 * Weight initialisation, seeded. Each helper fills a tensor's (or an NDArray's)
 * storage in place and returns it, so it works on parameters without recording a
 * graph. Randomness comes from `rng` when given (to share one stream across a
 * model), else from a fresh `Rng(seed)`, else from the global generator.
 * Fans follow PyTorch's `_calculate_fan_in_and_fan_out` for the (out, in, *kernel)
 * layout: fanIn = in * receptive field, fanOut = out * receptive field.
 */
import { Tensor } from '@tsgrad/autograd';
import * as nd from '@tsgrad/tensor';

/** A tensor or array whose contiguous storage is filled in place. */
export type Fillable = Tensor | nd.NDArray;

export type Nonlinearity = 'linear' | 'conv' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';

function storage(t: Fillable, op: string): nd.NDArray {
  const a = t instanceof Tensor ? t.data : t;
  if (!nd.isFloat(a.dtype)) throw new TypeError(`${op}: can only fill float tensors, got ${a.dtype}`);
  if (!a.isContiguous()) throw new Error(`${op}: tensor of shape ${nd.shapeToString(a.shape)} is not contiguous`);
  return a;
}

/** Where random draws come from: an explicit generator, a seed, or the global one. */
export interface RandomSource {
  seed?: number;
  rng?: nd.Rng;
}

function rngOf(opts: RandomSource): nd.Rng {
  return opts.rng ?? nd.rngFor(opts.seed);
}

function fill<T extends Fillable>(t: T, op: string, draw: () => number): T {
  const a = storage(t, op);
  const d = a.data;
  const end = a.offset + a.size;
  for (let i = a.offset; i < end; i++) d[i] = draw();
  return t;
}

/**
 * (fanIn, fanOut) of a weight of shape (out, in, *receptive). Needs at least 2 axes.
 * @example fans([512, 784]) // { fanIn: 784, fanOut: 512 }
 */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) throw new Error(`fans: need at least 2 dimensions to compute fan in and fan out, got shape ${nd.shapeToString(shape)}`);
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1]! * receptive, fanOut: shape[0]! * receptive };
}

/**
 * The recommended gain for a nonlinearity (torch.nn.init.calculate_gain):
 * relu sqrt(2), tanh 5/3, leaky_relu sqrt(2 / (1 + a^2)), selu 3/4, else 1.
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu': {
      const a = param ?? 0.01;
      return Math.sqrt(2 / (1 + a * a));
    }
    case 'selu':
      return 3 / 4;
  }
}

/** U(low, high). @example uniform(w, -0.1, 0.1, { seed: 0 }) */
export function uniform<T extends Fillable>(t: T, low = 0, high = 1, opts: RandomSource = {}): T {
  const rng = rngOf(opts);
  return fill(t, 'uniform', () => low + (high - low) * rng.uniform());
}

/** N(mean, std^2). @example normal(w, 0, 0.02, { seed: 0 }) */
export function normal<T extends Fillable>(t: T, mean = 0, std = 1, opts: RandomSource = {}): T {
  const rng = rngOf(opts);
  return fill(t, 'normal', () => mean + std * rng.normal());
}

/** Fills with a constant. */
export function constant<T extends Fillable>(t: T, value: number): T {
  const a = storage(t, 'constant');
  a.data.fill(value, a.offset, a.offset + a.size);
  return t;
}

/** Fills with zeros. */
export function zeros<T extends Fillable>(t: T): T {
  return constant(t, 0);
}

/** Fills with ones. */
export function ones<T extends Fillable>(t: T): T {
  return constant(t, 1);
}

interface KaimingOptions {
  /** Negative slope of the leaky ReLU after this layer (only for 'leaky_relu'). */
  a?: number;
  mode?: 'fanIn' | 'fanOut';
  nonlinearity?: Nonlinearity;
  seed?: number;
  rng?: nd.Rng;
}

/**
 * He et al. (2015) uniform init: U(-bound, bound) with bound = gain * sqrt(3 / fan).
 * Defaults as torch (a = 0, fan_in, leaky_relu). `nn.Linear` uses a = sqrt(5),
 * which gives bound = 1 / sqrt(fanIn).
 * @example kaimingUniform(w, { a: Math.sqrt(5), seed: 0 })
 */
export function kaimingUniform<T extends Fillable>(t: T, opts: KaimingOptions = {}): T {
  const { a = 0, mode = 'fanIn', nonlinearity = 'leaky_relu' } = opts;
  const f = fans(storage(t, 'kaimingUniform').shape);
  const std = calculateGain(nonlinearity, a) / Math.sqrt(mode === 'fanIn' ? f.fanIn : f.fanOut);
  const bound = Math.sqrt(3) * std;
  return uniform(t, -bound, bound, opts);
}

/**
 * He et al. (2015) normal init: N(0, std^2) with std = gain / sqrt(fan).
 * @example kaimingNormal(w, { nonlinearity: 'relu', seed: 0 })
 */
export function kaimingNormal<T extends Fillable>(t: T, opts: KaimingOptions = {}): T {
  const { a = 0, mode = 'fanIn', nonlinearity = 'leaky_relu' } = opts;
  const f = fans(storage(t, 'kaimingNormal').shape);
  const std = calculateGain(nonlinearity, a) / Math.sqrt(mode === 'fanIn' ? f.fanIn : f.fanOut);
  return normal(t, 0, std, opts);
}

/**
 * Glorot & Bengio (2010) uniform init: bound = gain * sqrt(6 / (fanIn + fanOut)).
 * @example xavierUniform(w, { seed: 0 })
 */
export function xavierUniform<T extends Fillable>(t: T, opts: RandomSource & { gain?: number } = {}): T {
  const f = fans(storage(t, 'xavierUniform').shape);
  const bound = (opts.gain ?? 1) * Math.sqrt(6 / (f.fanIn + f.fanOut));
  return uniform(t, -bound, bound, opts);
}

/**
 * Glorot & Bengio (2010) normal init: std = gain * sqrt(2 / (fanIn + fanOut)).
 * @example xavierNormal(w, { seed: 0 })
 */
export function xavierNormal<T extends Fillable>(t: T, opts: RandomSource & { gain?: number } = {}): T {
  const f = fans(storage(t, 'xavierNormal').shape);
  return normal(t, 0, (opts.gain ?? 1) * Math.sqrt(2 / (f.fanIn + f.fanOut)), opts);
}

/**
 * LeCun normal init: N(0, 1 / fanIn) (LeCun et al. 1998; the SELU paper's choice).
 * This is the plain normal; JAX's `lecun_normal` truncates at 2 std and rescales.
 * @example lecunNormal(w, { seed: 0 })
 */
export function lecunNormal<T extends Fillable>(t: T, opts: RandomSource = {}): T {
  const f = fans(storage(t, 'lecunNormal').shape);
  return normal(t, 0, 1 / Math.sqrt(f.fanIn), opts);
}

/**
 * N(mean, std^2) conditioned on [a, b] (absolute bounds, as torch.nn.init.trunc_normal_),
 * by rejection; the interval must hold at least ~1e-4 of the probability mass.
 * @example truncNormal(w, { std: 0.02, a: -0.04, b: 0.04, seed: 0 })
 */
export function truncNormal<T extends Fillable>(t: T, opts: RandomSource & { mean?: number; std?: number; a?: number; b?: number } = {}): T {
  const { mean = 0, std = 1, a = -2, b = 2 } = opts;
  if (!(b > a)) throw new RangeError(`truncNormal: need a < b, got [${a}, ${b}]`);
  const rng = rngOf(opts);
  return fill(t, 'truncNormal', () => {
    for (let tries = 0; tries < 100_000; tries++) {
      const v = mean + std * rng.normal();
      if (v >= a && v <= b) return v;
    }
    throw new RangeError(`truncNormal: [${a}, ${b}] holds almost none of the mass of N(${mean}, ${std}^2)`);
  });
}

/** U(-1/sqrt(fanIn), 1/sqrt(fanIn)): PyTorch's default for Linear weights and biases. */
export function linearDefault<T extends Fillable>(t: T, fanIn: number, opts: RandomSource = {}): T {
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  return uniform(t, -bound, bound, opts);
}
