/**
 * Binary arithmetic. Each forward is followed by its derivative rule; gradients of
 * broadcast operands are summed back to the operand's shape by `unbroadcast`.
 */
import * as nd from '@tsgrad/tensor';
import { unbroadcast } from '../broadcast.ts';
import { record } from '../graph.ts';
import { lift, type TensorLike } from '../lift.ts';
import { constant, type Tensor } from '../tensor.ts';

/** a + b. d/da = 1, d/db = 1. */
export function add(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = lift(a, b, 'add');
  return record('add', nd.add(x.data, y.data), [x, y], (g) => [unbroadcast(g, x.shape), unbroadcast(g, y.shape)]);
}

/** a - b. d/da = 1, d/db = -1. */
export function sub(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = lift(a, b, 'sub');
  return record('sub', nd.sub(x.data, y.data), [x, y], (g) => [unbroadcast(g, x.shape), unbroadcast(g.neg(), y.shape)]);
}

/** a * b. d/da = b, d/db = a. */
export function mul(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = lift(a, b, 'mul');
  return record('mul', nd.mul(x.data, y.data), [x, y], (g) => [
    x.requiresGrad ? unbroadcast(g.mul(y), x.shape) : null,
    y.requiresGrad ? unbroadcast(g.mul(x), y.shape) : null,
  ]);
}

/**
 * a / b. d/da = 1/b, d/db = -(a/b)/b, written as PyTorch does so that b^2 cannot
 * overflow or underflow where (a/b)/b is finite. At b = 0 both follow IEEE: +-inf,
 * or NaN for 0/0, as in PyTorch.
 */
export function div(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = lift(a, b, 'div');
  return record('div', nd.div(x.data, y.data), [x, y], (g) => [
    x.requiresGrad ? unbroadcast(g.div(y), x.shape) : null,
    y.requiresGrad ? unbroadcast(g.mul(x.div(y).div(y)).neg(), y.shape) : null,
  ]);
}

/**
 * a ** b. d/da = b a^(b-1), taken as 0 where b = 0 (so x^0 has gradient 0 even at
 * x = 0, where b a^(b-1) would be 0 * inf); d/db = a^b log(a), taken as 0 where a = 0
 * and b >= 0 (the limit, and what PyTorch returns). Negative bases give d/db = NaN.
 */
export function pow(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = lift(a, b, 'pow');
  const out = nd.pow(x.data, y.data);
  return record('pow', out, [x, y], (g) => [
    x.requiresGrad ? unbroadcast(g.mul(y).mul(x.pow(y.sub(1))).where(nd.ne(y.data, 0), 0), x.shape) : null,
    y.requiresGrad ? unbroadcast(g.mul(x.pow(y)).mul(x.log()).where(nd.logicalOr(nd.ne(x.data, 0), nd.lt(y.data, 0)), 0), y.shape) : null,
  ]);
}

/**
 * Elementwise maximum. At ties the gradient is split evenly between both inputs
 * (as PyTorch does), so the rule stays symmetric.
 */
export function maximum(a: TensorLike, b: TensorLike): Tensor {
  return extremum('maximum', a, b);
}

/** Elementwise minimum; ties split the gradient evenly, as `maximum`. */
export function minimum(a: TensorLike, b: TensorLike): Tensor {
  return extremum('minimum', a, b);
}

function extremum(op: 'maximum' | 'minimum', a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = lift(a, b, op);
  const out = op === 'maximum' ? nd.maximum(x.data, y.data) : nd.minimum(x.data, y.data);
  return record(op, out, [x, y], (g) => {
    // share of the gradient that goes to x: 1 where x wins, 1/2 at ties, 0 where y wins
    const wins = op === 'maximum' ? nd.gt(x.data, y.data) : nd.lt(x.data, y.data);
    const ties = nd.eq(x.data, y.data);
    const share = nd.add(nd.cast(wins, g.dtype), nd.mul(nd.cast(ties, g.dtype), 0.5));
    const toX = g.mul(constant(share));
    return [unbroadcast(toX, x.shape), unbroadcast(g.sub(toX), y.shape)];
  });
}
