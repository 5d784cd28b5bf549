/**
 * Checks of numeric options where they enter. A NaN `maxIter` would make a loop run zero
 * times and return the starting point as if it were a result; a NaN learning rate would
 * train to NaN. Each check throws a RangeError naming the function, the option and its value.
 */

/**
 * `value` (when given) must be an integer >= `min` (finite: Infinity is not a count).
 * @example checkCount('weightMatching', 'maxIter', opts.maxIter, 1)
 */
export function checkCount(op: string, field: string, value: unknown, min = 0): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new RangeError(`${op}: ${field} must be an integer >= ${min}, got ${String(value)}`);
  }
}

/**
 * `value` (when given) must be a finite number in [`lo`, `hi`] (`hi` exclusive when `openHi`).
 * @example checkFinite('steMatching', 'momentum', opts.momentum, 0, 1, true)
 */
export function checkFinite(op: string, field: string, value: unknown, lo = -Infinity, hi = Infinity, openHi = false): void {
  if (value === undefined) return;
  const ok = typeof value === 'number' && Number.isFinite(value) && value >= lo && (openHi ? value < hi : value <= hi);
  if (!ok) {
    const range = `[${lo}, ${hi}${openHi ? ')' : ']'}`;
    throw new RangeError(`${op}: ${field} must be a finite number${lo === -Infinity && hi === Infinity ? '' : ` in ${range}`}, got ${String(value)}`);
  }
}

/**
 * The first non-finite value of an array, as its flat index and value, or null.
 * @example firstNonFinite(Float64Array.from([1, NaN])) // { index: 1, value: NaN }
 */
export function firstNonFinite(data: ArrayLike<number>): { index: number; value: number } | null {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v - v !== 0) return { index: i, value: v }; // NaN or +-Infinity
  }
  return null;
}
