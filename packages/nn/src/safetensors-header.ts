/**
 * The safetensors header: its dtypes, and a validating reader that runs in one pass
 * over the JSON text and in memory proportional to the number of tensors.
 *
 * `JSON.parse` is not used on the whole header: a legal 100 MB header can list 1.7
 * million tensors, and one object with that many keys (plus three small objects per
 * entry) makes V8 spend tens of seconds and gigabytes building and collecting it. A
 * small strict JSON reader (RFC 8259) streams the top-level members instead, turns
 * each entry into a compact record at once, and drops the rest.
 *
 * What wins when a header has several faults: invalid JSON first, then a key repeated
 * in one object (JSON.parse would keep the last silently, which is how a hostile
 * header could hide data), then the first bad entry in text order.
 */

/** The reason a safetensors file or a save request was rejected. */
export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

/** A file dtype: its element size in bytes, the tsgrad dtype it is read into, and its rank in the reference layout order. */
export interface FileDtype {
  bytes: number;
  into: 'float32' | 'float64' | 'int32' | 'bool';
  order: number;
}

// `order` follows the declaration order of the reference implementation's Dtype enum;
// the writer sorts by it descending.
export const FILE_DTYPES: Record<string, FileDtype> = {
  BOOL: { bytes: 1, into: 'bool', order: 0 },
  U8: { bytes: 1, into: 'int32', order: 1 },
  I8: { bytes: 1, into: 'int32', order: 2 },
  I16: { bytes: 2, into: 'int32', order: 3 },
  U16: { bytes: 2, into: 'int32', order: 4 },
  F16: { bytes: 2, into: 'float32', order: 5 },
  BF16: { bytes: 2, into: 'float32', order: 6 },
  I32: { bytes: 4, into: 'int32', order: 7 },
  U32: { bytes: 4, into: 'int32', order: 8 },
  F32: { bytes: 4, into: 'float32', order: 9 },
  F64: { bytes: 8, into: 'float64', order: 10 },
  I64: { bytes: 8, into: 'int32', order: 11 },
  U64: { bytes: 8, into: 'int32', order: 12 },
};

const DTYPE_KEYS = new Map(Object.keys(FILE_DTYPES).map((k) => [k, k]));
const DTYPE_LITERALS: readonly string[] = Object.keys(FILE_DTYPES);
const KNOWN_KEYS: readonly string[] = ['dtype', 'shape', 'data_offsets'];

/** One validated tensor entry: byte range [begin, end) relative to the data buffer (after the header). */
export interface HeaderEntry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/** A validated header: entries in text order and the `__metadata__` strings. */
export interface Header {
  entries: HeaderEntry[];
  metadata: Record<string, string>;
}

/**
 * Validates the header bytes (UTF-8 JSON object) and every entry in it. Throws a
 * `SafetensorsError` naming the first problem; never anything else.
 * @example parseHeader(new TextEncoder().encode('{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'))
 */
export function parseHeader(raw: Uint8Array): Header {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(raw);
  } catch {
    throw new SafetensorsError('header is not valid UTF-8');
  }
  // the reference reader insists on '{' as the very first byte
  if (!text.startsWith('{')) throw new SafetensorsError("header does not start with '{'");
  const reader = new JsonReader(text);
  const entries: HeaderEntry[] = [];
  const seen = new Set<string>();
  let metadata: Record<string, string> = {};
  reader.object((name) => {
    if (seen.has(name)) reader.duplicate(name);
    seen.add(name);
    const isMeta = name === '__metadata__';
    const info = isMeta ? reader.value() : reader.entryValue();
    if (!reader.healthy()) return; // the first problem is kept; the rest is only checked to be JSON
    try {
      if (isMeta) metadata = parseMetadata(info);
      else entries.push(parseEntry(name, info));
    } catch (err) {
      reader.problemFound(err as SafetensorsError);
    }
  });
  reader.end();
  return { entries, metadata };
}

function parseMetadata(info: unknown): Record<string, string> {
  if (!isPlainObject(info)) throw new SafetensorsError('__metadata__ is not an object of strings');
  const pairs: [string, string][] = [];
  for (const k of Object.keys(info)) {
    const v = info[k];
    if (typeof v !== 'string') throw new SafetensorsError(`__metadata__ value for ${JSON.stringify(k)} is not a string`);
    pairs.push([k, v]);
  }
  return Object.fromEntries(pairs);
}

/** `tensor "name"`, for messages (built only when one is thrown). */
function tensorName(name: string): string {
  return `tensor ${JSON.stringify(name)}`;
}

function parseEntry(name: string, info: unknown): HeaderEntry {
  if (!(info instanceof EntryFields)) {
    if (!isPlainObject(info)) throw new SafetensorsError(`${tensorName(name)}: entry is not an object`);
    for (const k of Object.keys(info)) {
      if (k !== 'dtype' && k !== 'shape' && k !== 'data_offsets') throw new SafetensorsError(`${tensorName(name)}: unknown field ${JSON.stringify(k)}`);
    }
  }
  const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
  if (typeof dtype !== 'string') throw new SafetensorsError(`${tensorName(name)}: dtype is missing or not a string`);
  const fileDtype = Object.hasOwn(FILE_DTYPES, dtype) ? FILE_DTYPES[dtype]! : undefined;
  if (fileDtype === undefined) throw new SafetensorsError(`${tensorName(name)}: unsupported dtype ${JSON.stringify(dtype)}`);
  if (!Array.isArray(shape)) throw new SafetensorsError(`${tensorName(name)}: shape is missing or not an array`);
  let count = 1;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw new SafetensorsError(`${tensorName(name)}: shape ${JSON.stringify(shape)} has a dimension that is not a non-negative integer`);
    }
    count *= d;
  }
  if (!Array.isArray(offsets) || offsets.length !== 2) throw new SafetensorsError(`${tensorName(name)}: data_offsets is not a [begin, end] pair`);
  const [begin, end] = offsets as unknown[];
  if (typeof begin !== 'number' || typeof end !== 'number' || !Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || begin < 0 || end < 0) {
    throw new SafetensorsError(`${tensorName(name)}: data_offsets ${JSON.stringify(offsets)} are not non-negative integers`);
  }
  if (end < begin) throw new SafetensorsError(`${tensorName(name)}: data_offsets [${begin}, ${end}] end before they begin`);
  const expected = count * fileDtype.bytes;
  if (!Number.isSafeInteger(expected) || expected !== end - begin) {
    throw new SafetensorsError(
      `${tensorName(name)}: shape [${shape.join(', ')}] of ${dtype} needs ${expected} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`,
    );
  }
  for (let k = 0; k < shape.length; k++) shape[k] += 0; // + 0 turns -0 into 0 (the array is the reader's own)
  // the table's own key string, so a million entries share one "F32" instead of a million copies
  return { name, dtype: DTYPE_KEYS.get(dtype)!, shape: shape as number[], begin: begin + 0, end: end + 0 };
}

/**
 * The tensors must tile the byte buffer exactly: in offset order, each starts where
 * the last ended (zero-length tensors may share a boundary).
 */
export function checkLayout(entries: readonly HeaderEntry[], dataLength: number): void {
  for (const e of entries) {
    if (e.end > dataLength) {
      throw new SafetensorsError(`tensor ${JSON.stringify(e.name)}: data_offsets [${e.begin}, ${e.end}] run past the ${dataLength}-byte data buffer`);
    }
  }
  // Writers list tensors in offset order, so usually there is nothing to sort; otherwise
  // sort positions in a typed array rather than the entry objects.
  const before = (i: number, j: number) => entries[i]!.begin - entries[j]!.begin || entries[i]!.end - entries[j]!.end;
  let sorted = true;
  for (let k = 1; k < entries.length && sorted; k++) sorted = before(k - 1, k) <= 0;
  const order = new Uint32Array(entries.length);
  for (let k = 0; k < order.length; k++) order[k] = k;
  if (!sorted) order.sort(before);
  let at = 0;
  for (const i of order) {
    const e = entries[i]!;
    if (e.begin < at) throw new SafetensorsError(`tensor ${JSON.stringify(e.name)}: data_offsets [${e.begin}, ${e.end}] overlap the previous tensor, which ends at ${at}`);
    if (e.begin > at) throw new SafetensorsError(`tensor ${JSON.stringify(e.name)}: gap of ${e.begin - at} bytes before data_offsets [${e.begin}, ${e.end}]`);
    at = e.end;
  }
  if (at !== dataLength) throw new SafetensorsError(`data buffer has ${dataLength - at} bytes after the last tensor (tensors cover ${at} of ${dataLength})`);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A tensor entry exactly as written: only the three known fields (a fixed layout, cheap to make). */
class EntryFields {
  dtype: unknown = undefined;
  shape: unknown = undefined;
  data_offsets: unknown = undefined;
}

/** Thrown inside the reader for a syntax error; turned into a SafetensorsError at the top. */
class Syntax extends Error {}

/**
 * A strict RFC 8259 JSON reader over a string. `object(onMember)` streams the members
 * of the top-level object; `value()` reads any value into plain JS (objects without a
 * prototype, so "__proto__" is an ordinary key). A key repeated in one object and the
 * first problem `check` sees are remembered and thrown by `end()`, after the whole
 * text has proved to be JSON.
 */
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** A legal header nests three levels deep; anything far deeper is refused before it can exhaust the stack. */
const MAX_DEPTH = 64;

class JsonReader {
  private i = 0;
  private depth = 0;
  private dup: string | undefined;
  private problem: SafetensorsError | undefined;

  constructor(private readonly s: string) {}

  duplicate(key: string): void {
    this.dup ??= key;
  }

  /** False once a duplicate key or a bad entry has been seen (later entries need not be validated). */
  healthy(): boolean {
    return this.problem === undefined && this.dup === undefined;
  }

  problemFound(err: SafetensorsError): void {
    this.problem ??= err;
  }

  object(onMember: (key: string) => void): void {
    try {
      this.members(onMember);
    } catch (err) {
      if (err instanceof Syntax) throw new SafetensorsError(`header is not valid JSON: ${err.message}`);
      throw err;
    }
  }

  end(): void {
    this.ws();
    if (this.i < this.s.length) throw new SafetensorsError(`header is not valid JSON: unexpected ${this.near()} after the object`);
    if (this.dup !== undefined) throw new SafetensorsError(`header has the key ${JSON.stringify(this.dup)} more than once`);
    if (this.problem) throw this.problem;
  }

  /**
   * A tensor entry's value. The usual `{dtype, shape, data_offsets}` object is read
   * into one small record with a fixed layout (no per-entry key set or prototype-less
   * dictionary); anything else goes through `value()`.
   */
  entryValue(): unknown {
    this.ws();
    if (this.s.charCodeAt(this.i) !== 0x7b) return this.value();
    this.i++;
    const fields = new EntryFields();
    let other: Record<string, unknown> | undefined;
    let seen = 0;
    this.ws();
    if (this.s.charCodeAt(this.i) === 0x7d) {
      this.i++;
      return fields;
    }
    for (;;) {
      this.ws();
      if (this.s.charCodeAt(this.i) !== 0x22) this.fail(0, 'a string key');
      // the three usual keys are recognised in place, without making a string for each
      const quick = this.literal(KNOWN_KEYS);
      const k = quick ?? this.string();
      this.ws();
      if (this.s.charCodeAt(this.i++) !== 0x3a) this.fail(-1, "':' after a key");
      const bit = k === 'dtype' ? 1 : k === 'shape' ? 2 : k === 'data_offsets' ? 4 : 0;
      if (bit === 0) {
        other ??= Object.create(null) as Record<string, unknown>;
        if (Object.hasOwn(other, k)) this.duplicate(k);
        other[k] = this.value();
      } else {
        if (seen & bit) this.duplicate(k);
        seen |= bit;
        this.ws();
        // a dtype is one of a few names: share the table's string instead of making one per entry
        const dtype = bit === 1 ? this.literal(DTYPE_LITERALS) : undefined;
        fields[k as keyof EntryFields] = dtype ?? this.value();
      }
      this.ws();
      const d = this.s.charCodeAt(this.i++);
      if (d === 0x7d) break;
      if (d !== 0x2c) this.fail(-1, "',' or '}' in an object");
    }
    if (other === undefined) return fields;
    // rare: unknown fields, listed first so that the error names one of them
    return Object.assign(Object.create(null) as Record<string, unknown>, other, { ...fields });
  }

  value(): unknown {
    this.ws();
    const c = this.s.charCodeAt(this.i);
    if ((c === 0x7b || c === 0x5b) && this.depth >= MAX_DEPTH) throw new SafetensorsError(`header nests values deeper than ${MAX_DEPTH} levels`);
    this.depth++;
    try {
      return this.readValue(c);
    } finally {
      this.depth--;
    }
  }

  private readValue(c: number): unknown {
    if (c === 0x7b /* { */) {
      const o: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
      const keys = new Set<string>();
      this.members((k) => {
        if (keys.has(k)) this.duplicate(k);
        keys.add(k);
        o[k] = this.value();
      });
      return o;
    }
    if (c === 0x5b /* [ */) {
      this.i++;
      const a: unknown[] = [];
      this.ws();
      if (this.s.charCodeAt(this.i) === 0x5d) {
        this.i++;
        return a;
      }
      for (;;) {
        a.push(this.value());
        this.ws();
        const d = this.s.charCodeAt(this.i++);
        if (d === 0x5d) return a;
        if (d !== 0x2c) this.fail(-1, "',' or ']' in an array");
      }
    }
    if (c === 0x22 /* " */) return this.string();
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    for (const [word, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (this.s.startsWith(word, this.i)) {
        this.i += word.length;
        return v;
      }
    }
    return this.fail(0, 'a value');
  }

  /**
   * If the text at the cursor is one of `words` written as a plain JSON string (quotes, no
   * escapes) followed by a delimiter, consumes it and returns the word; else undefined.
   */
  private literal(words: readonly string[]): string | undefined {
    const s = this.s;
    if (s.charCodeAt(this.i) !== 0x22) return undefined;
    for (const w of words) {
      const end = this.i + 1 + w.length;
      if (s.charCodeAt(end) === 0x22 && s.startsWith(w, this.i + 1)) {
        this.i = end + 1;
        return w;
      }
    }
    return undefined;
  }

  private members(onMember: (key: string) => void): void {
    this.ws();
    if (this.s.charCodeAt(this.i++) !== 0x7b) this.fail(-1, "'{'");
    this.ws();
    if (this.s.charCodeAt(this.i) === 0x7d) {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      if (this.s.charCodeAt(this.i) !== 0x22) this.fail(0, 'a string key');
      const key = this.string();
      this.ws();
      if (this.s.charCodeAt(this.i++) !== 0x3a) this.fail(-1, "':' after a key");
      onMember(key);
      this.ws();
      const d = this.s.charCodeAt(this.i++);
      if (d === 0x7d) return;
      if (d !== 0x2c) this.fail(-1, "',' or '}' in an object");
    }
  }

  private string(): string {
    const start = this.i++;
    let escaped = false;
    for (;;) {
      const c = this.s.charCodeAt(this.i);
      if (Number.isNaN(c)) this.fail(0, 'the end of a string');
      if (c < 0x20) this.fail(0, 'no control character inside a string');
      if (c === 0x22) break;
      if (c === 0x5c) {
        escaped = true;
        this.i++;
      }
      this.i++;
    }
    this.i++;
    const raw = this.s.slice(start + 1, this.i - 1);
    if (!escaped) return raw;
    try {
      return JSON.parse(this.s.slice(start, this.i)) as string; // decode escapes ("\u0061" is "a")
    } catch {
      return this.fail(start - this.i, 'a valid escape in a string');
    }
  }

  private number(): number {
    // fast path: a plain non-negative integer of up to 15 digits (every shape and offset)
    const s = this.s;
    let j = this.i;
    let v = 0;
    if (s.charCodeAt(j) !== 0x30) {
      for (let c = s.charCodeAt(j); c >= 0x30 && c <= 0x39 && j - this.i < 15; c = s.charCodeAt(++j)) v = v * 10 + (c - 0x30);
      const next = s.charCodeAt(j);
      if (j > this.i && !(next >= 0x30 && next <= 0x39) && next !== 0x2e && next !== 0x65 && next !== 0x45) {
        this.i = j;
        return v;
      }
    }
    NUMBER.lastIndex = this.i;
    const hit = NUMBER.exec(this.s);
    if (!hit) return this.fail(0, 'a number');
    this.i += hit[0].length;
    return Number(hit[0]);
  }

  private ws(): void {
    for (;;) {
      const c = this.s.charCodeAt(this.i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      this.i++;
    }
  }

  private near(): string {
    return this.i >= this.s.length ? 'end of text' : `${JSON.stringify(this.s.slice(this.i, this.i + 10))} at position ${this.i}`;
  }

  private fail(back: number, expected: string): never {
    this.i += back;
    throw new Syntax(`expected ${expected}, found ${this.near()}`);
  }
}
