/**
 * Field checks shared by the config readers. Every error names the field and shows the
 * value it got, so `lora_alpha: "abc"` fails where it enters instead of turning every
 * output into NaN later.
 */

/** A value as it would read in JSON (NaN and undefined spelled out). */
export function show(v: unknown): string {
  if (typeof v === 'number' || v === undefined) return String(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** `v` if it is a finite number. */
export function finiteNumber(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`${field} must be a finite number, got ${show(v)}`);
  return v;
}

/** `v` if it is an integer >= `min`. */
export function integerAtLeast(v: unknown, min: number, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new RangeError(`${field} must be ${min === 1 ? 'a positive' : min === 0 ? 'a non-negative' : `an >= ${min}`} integer, got ${show(v)}`);
  }
  return v;
}

/** `v` if it is a boolean. */
export function boolean(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') throw new TypeError(`${field} must be true or false, got ${show(v)}`);
  return v;
}

/** A plain object whose every value passes `check` (field names `field['key']`). */
export function numberRecord(v: unknown, field: string, check: (x: unknown, field: string) => number): Record<string, number> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new TypeError(`${field} must be an object of name → number, got ${show(v)}`);
  const out: Record<string, number> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = check(x, `${field}['${k}']`);
  return out;
}

/** A list of strings (a lone string is refused: PEFT reads it character by character). */
export function stringList(v: unknown, field: string): string[] {
  if (typeof v === 'string') throw new TypeError(`${field} must be a list of module names, got the string ${show(v)}; write [${show(v)}]`);
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw new TypeError(`${field} must be a list of module names, got ${show(v)}`);
  return [...v];
}
