/**
 * Elementwise ops with NumPy broadcasting and dtype promotion. Shape logic lives
 * here; the backend only ever sees inputs already expanded to the output shape.
 */
import type { BinaryOp, UnaryOp } from '../backend.ts';
import { getBackend } from '../backends/registry.ts';
import { allocate, checkedCast, INT32_MAX, INT32_MIN, isFloat, promoteTypes, promoteWithScalar, type DType } from '../dtype.ts';
import { NDArray } from '../ndarray.ts';
import { broadcastAll, broadcastShapes } from '../shape.ts';

/** A tensor operand or a plain JS number (a "weak" scalar, see `promoteWithScalar`). */
export type Operand = NDArray | number;

/** A 0-d array holding `value` as `dtype` (an int32 value must fit in int32). */
export function scalar(value: number | boolean, dtype: DType = 'float32', op = 'scalar'): NDArray {
  const data = allocate(dtype, 1);
  data[0] = checkedCast(Number(value), dtype, op);
  return new NDArray(data, [], [], 0, dtype);
}

const FLOAT_ONLY = new Set<UnaryOp>(['exp', 'log', 'log1p', 'expm1', 'sqrt', 'rsqrt', 'reciprocal', 'tanh', 'sigmoid', 'gelu', 'geluErf', 'erf', 'sin', 'cos']);
const TO_BOOL = new Set<UnaryOp>(['logicalNot', 'isnan', 'isfinite']);

/** Applies a unary primitive; float-only functions lift int and bool inputs to float32. */
export function unaryOp(op: UnaryOp, x: NDArray): NDArray {
  let out: DType = x.dtype;
  if (TO_BOOL.has(op)) out = 'bool';
  else if (FLOAT_ONLY.has(op) && !isFloat(x.dtype)) out = 'float32';
  else if (x.dtype === 'bool' && op !== 'relu') out = op === 'abs' ? 'bool' : 'int32';
  if (out === 'int32' && INT32_UNARY_CAN_OVERFLOW.has(op)) {
    return int32Checked(op, getBackend().unary(op, castIfNeeded(x, 'float64'), 'float64'));
  }
  return getBackend().unary(op, x, out);
}

// int32 arithmetic that can leave the int32 range (-(-2^31) and 46341^2 cannot be held).
const INT32_UNARY_CAN_OVERFLOW = new Set<UnaryOp>(['neg', 'abs', 'square']);
const INT32_BINARY_CAN_OVERFLOW = new Set<BinaryOp>(['add', 'sub', 'mul', 'pow']);

/**
 * The int32 result of an integer op computed exactly in float64 (int32 operands and
 * their sums and products are exact there), or a RangeError naming the op when a value
 * does not fit. PyTorch wraps silently here; an error is kinder than a wrong number.
 */
function int32Checked(op: string, exact: NDArray): NDArray {
  const flat = exact.contiguous();
  const d = flat.data;
  for (let i = 0; i < flat.size; i++) {
    const v = d[i]!;
    if (!(v >= INT32_MIN && v <= INT32_MAX)) {
      throw new RangeError(`${op}: int32 result ${v} overflows the int32 range [${INT32_MIN}, ${INT32_MAX}]; cast to float64 first`);
    }
  }
  return getBackend().cast(flat, 'int32');
}

const COMPARISON = new Set<BinaryOp>(['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'logicalAnd', 'logicalOr']);

/** The dtype two operands combine to. */
export function resultType(a: Operand, b: Operand): DType {
  if (typeof a === 'number' && typeof b === 'number') return Number.isInteger(a) && Number.isInteger(b) ? 'int32' : 'float32';
  if (typeof a === 'number') return promoteWithScalar((b as NDArray).dtype, a);
  if (typeof b === 'number') return promoteWithScalar(a.dtype, b);
  return promoteTypes(a.dtype, b.dtype);
}

/** Broadcasts a and b to a common shape, as stride-0 views (no copies). */
export function broadcastPair(a: NDArray, b: NDArray, op: string): [NDArray, NDArray] {
  const shape = broadcastShapes(a.shape, b.shape, op);
  return [a.expand(shape), b.expand(shape)];
}

/** Applies a binary primitive with promotion and broadcasting. */
export function binaryOp(op: BinaryOp, a: Operand, b: Operand): NDArray {
  let common = resultType(a, b);
  // True division and fractional powers of integers produce floats, as in PyTorch.
  if (op === 'div' && !isFloat(common)) common = 'float32';
  // Comparing an int32 array with a number no int32 can hold is still well defined: do it in float64.
  if (COMPARISON.has(op) && common === 'int32' && [a, b].some((v) => typeof v === 'number' && !(v >= INT32_MIN && v <= INT32_MAX))) common = 'float64';
  const x = toArray(a, common, op);
  const y = toArray(b, common, op);
  const [xa, yb] = broadcastPair(x, y, op);
  const out: DType = COMPARISON.has(op) ? 'bool' : common;
  const backend = getBackend();
  if (out === 'int32' && INT32_BINARY_CAN_OVERFLOW.has(op)) {
    const [xf, yf] = [castIfNeeded(xa, 'float64'), castIfNeeded(yb, 'float64')];
    if (op === 'pow' && yf.size > 0 && backend.reduce('min', yf, yf.shape.map((_, i) => i)).item() < 0) {
      throw new RangeError(`pow: integers to negative integer powers are not allowed (cast to a float dtype first)`);
    }
    return int32Checked(op, backend.binary(op, xf, yf, 'float64'));
  }
  return backend.binary(op, castIfNeeded(xa, common), castIfNeeded(yb, common), out);
}

function toArray(v: Operand, dtype: DType, op: string): NDArray {
  return typeof v === 'number' ? scalar(v, dtype, op) : v;
}

/** Casts only when the dtype differs (a cast densifies, so broadcast views are cast first). */
export function castIfNeeded(x: NDArray, dtype: DType): NDArray {
  return x.dtype === dtype ? x : getBackend().cast(x, dtype);
}

/** Converts to `dtype` (a copy even when equal, like `tensor.to(dtype, copy=True)`). */
export function cast(x: NDArray, dtype: DType): NDArray {
  return getBackend().cast(x, dtype);
}

/**
 * Picks from `a` where `cond` is true, else from `b`, broadcasting all three.
 * @example where(gt(x, 0), x, 0) // relu
 */
export function where(cond: NDArray, a: Operand, b: Operand): NDArray {
  const dtype = resultType(a, b);
  const x = toArray(a, dtype, 'where');
  const y = toArray(b, dtype, 'where');
  const shape = broadcastAll([cond.shape, x.shape, y.shape], 'where');
  const c = cond.dtype === 'bool' ? cond : cast(cond, 'bool');
  return getBackend().where(c.expand(shape), castIfNeeded(x, dtype).expand(shape), castIfNeeded(y, dtype).expand(shape), dtype);
}

// --- the named elementwise ops ------------------------------------------------

/** a + b, broadcast. @example add(x, 1) */
export const add = (a: Operand, b: Operand): NDArray => binaryOp('add', a, b);
/** a - b, broadcast. */
export const sub = (a: Operand, b: Operand): NDArray => binaryOp('sub', a, b);
/** a * b, broadcast. */
export const mul = (a: Operand, b: Operand): NDArray => binaryOp('mul', a, b);
/** a / b, broadcast (true division: integers give float32). */
export const div = (a: Operand, b: Operand): NDArray => binaryOp('div', a, b);
/** a ** b, broadcast. */
export const pow = (a: Operand, b: Operand): NDArray => binaryOp('pow', a, b);
/** Elementwise maximum (NaN propagates). */
export const maximum = (a: Operand, b: Operand): NDArray => binaryOp('maximum', a, b);
/** Elementwise minimum (NaN propagates). */
export const minimum = (a: Operand, b: Operand): NDArray => binaryOp('minimum', a, b);
/** a == b as bool. */
export const eq = (a: Operand, b: Operand): NDArray => binaryOp('eq', a, b);
/** a != b as bool. */
export const ne = (a: Operand, b: Operand): NDArray => binaryOp('ne', a, b);
/** a < b as bool. */
export const lt = (a: Operand, b: Operand): NDArray => binaryOp('lt', a, b);
/** a <= b as bool. */
export const le = (a: Operand, b: Operand): NDArray => binaryOp('le', a, b);
/** a > b as bool. */
export const gt = (a: Operand, b: Operand): NDArray => binaryOp('gt', a, b);
/** a >= b as bool. */
export const ge = (a: Operand, b: Operand): NDArray => binaryOp('ge', a, b);
/** Logical and of two masks. */
export const logicalAnd = (a: Operand, b: Operand): NDArray => binaryOp('logicalAnd', a, b);
/** Logical or of two masks. */
export const logicalOr = (a: Operand, b: Operand): NDArray => binaryOp('logicalOr', a, b);

export const neg = (x: NDArray): NDArray => unaryOp('neg', x);
export const abs = (x: NDArray): NDArray => unaryOp('abs', x);
export const sign = (x: NDArray): NDArray => unaryOp('sign', x);
export const exp = (x: NDArray): NDArray => unaryOp('exp', x);
export const log = (x: NDArray): NDArray => unaryOp('log', x);
export const log1p = (x: NDArray): NDArray => unaryOp('log1p', x);
export const expm1 = (x: NDArray): NDArray => unaryOp('expm1', x);
export const sqrt = (x: NDArray): NDArray => unaryOp('sqrt', x);
export const rsqrt = (x: NDArray): NDArray => unaryOp('rsqrt', x);
export const reciprocal = (x: NDArray): NDArray => unaryOp('reciprocal', x);
export const square = (x: NDArray): NDArray => unaryOp('square', x);
export const tanh = (x: NDArray): NDArray => unaryOp('tanh', x);
export const sigmoid = (x: NDArray): NDArray => unaryOp('sigmoid', x);
export const relu = (x: NDArray): NDArray => unaryOp('relu', x);
export const erf = (x: NDArray): NDArray => unaryOp('erf', x);
export const sin = (x: NDArray): NDArray => unaryOp('sin', x);
export const cos = (x: NDArray): NDArray => unaryOp('cos', x);
export const floor = (x: NDArray): NDArray => unaryOp('floor', x);
export const ceil = (x: NDArray): NDArray => unaryOp('ceil', x);
export const round = (x: NDArray): NDArray => unaryOp('round', x);
export const logicalNot = (x: NDArray): NDArray => unaryOp('logicalNot', x);
export const isnan = (x: NDArray): NDArray => unaryOp('isnan', x);
export const isfinite = (x: NDArray): NDArray => unaryOp('isfinite', x);

/**
 * GELU: exact `x Phi(x)` by default (`approximate: 'none'`, as torch.nn.GELU), or `'tanh'` for the GPT-2 approximation.
 * @example gelu(x, 'tanh')
 */
export function gelu(x: NDArray, approximate: 'tanh' | 'none' = 'none'): NDArray {
  return unaryOp(approximate === 'tanh' ? 'gelu' : 'geluErf', x);
}
