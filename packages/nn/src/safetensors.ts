/**
 * Checkpoints in the safetensors format (huggingface/safetensors):
 *
 *   8 bytes   N, the header length, an unsigned little-endian 64-bit integer
 *   N bytes   UTF-8 JSON: { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__"?: {string: string} }
 *   the rest  the byte buffer: each tensor's elements, little-endian, row-major, no gaps
 *
 * `data_offsets` are relative to the start of the byte buffer and `end` is exclusive.
 *
 * The reader treats every file as hostile: it checks the whole header (sizes, dtypes,
 * shapes, offsets, duplicate keys, metadata) before it reads a single tensor byte, and
 * every way a file can be wrong ends in a `SafetensorsError` with the reason. Nothing
 * else is thrown and nothing is half-returned.
 *
 * The writer lays tensors out as the reference implementation does: by descending
 * dtype (so every tensor starts at an offset aligned to its element size), then by name
 * (byte-wise UTF-8 order); `__metadata__` first, compact JSON, the header padded with
 * spaces to a multiple of 8 bytes. Writing a file goes through a temporary file in the
 * same folder and a rename, so a crash never leaves a truncated checkpoint behind.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Tensor } from '@tsgrad/autograd';
import { NDArray, type DType, type TypedArray } from '@tsgrad/tensor';

/** The reason a safetensors file or a save request was rejected. */
export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

/** The header is capped, as in the reference implementation, so a hostile length cannot make us allocate gigabytes. */
export const MAX_HEADER_BYTES = 100_000_000;

/** What `loadSafetensors` / `parseSafetensors` return. */
export interface SafetensorsContents {
  /** Tensors by name (own properties only, so even a key like `__proto__` is just a key). */
  tensors: Record<string, NDArray>;
  /** The `__metadata__` map, `{}` when the file has none. */
  metadata: Record<string, string>;
}

/** A file dtype: its element size in bytes, the tsgrad dtype it is read into, and its rank in the reference layout order. */
interface FileDtype {
  bytes: number;
  into: DType;
  order: number;
}

// `order` follows the declaration order of the reference implementation's Dtype enum;
// the writer sorts by it descending.
const FILE_DTYPES: Record<string, FileDtype> = {
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

const WRITE_DTYPE: Record<DType, string> = { float32: 'F32', float64: 'F64', int32: 'I32', bool: 'BOOL' };

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ------------------------------------------------------------------ writing

/**
 * Encodes tensors (and optional string metadata) as the bytes of a safetensors file.
 * Views are written densely in row-major order; a `Tensor` is written by its values.
 * @example
 * const bytes = serializeSafetensors({ w: zeros([2, 3]) }, { step: '100' });
 */
export function serializeSafetensors(
  tensors: Record<string, NDArray | Tensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  const entries: { name: string; array: NDArray; fileDtype: string }[] = [];
  for (const name of Object.keys(tensors)) {
    if (name === '__metadata__') throw new SafetensorsError('serialize: "__metadata__" is reserved and cannot name a tensor');
    const value = tensors[name];
    const array = value instanceof Tensor ? value.data : value;
    if (!(array instanceof NDArray)) {
      throw new SafetensorsError(`serialize: tensor '${name}' is not an NDArray or Tensor`);
    }
    entries.push({ name, array, fileDtype: WRITE_DTYPE[array.dtype] });
  }
  if (metadata !== undefined) {
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
      throw new SafetensorsError('serialize: metadata must be an object of strings');
    }
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new SafetensorsError(`serialize: metadata value for '${k}' is a ${typeof v}, not a string`);
    }
  }

  const encoder = new TextEncoder();
  entries.sort(
    (a, b) =>
      FILE_DTYPES[b.fileDtype]!.order - FILE_DTYPES[a.fileDtype]!.order ||
      compareBytes(encoder.encode(a.name), encoder.encode(b.name)),
  );

  const parts: string[] = [];
  if (metadata !== undefined) {
    const keys = Object.keys(metadata).sort();
    parts.push(`"__metadata__":{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(',')}}`);
  }
  let offset = 0;
  for (const e of entries) {
    const end = offset + e.array.size * FILE_DTYPES[e.fileDtype]!.bytes;
    parts.push(
      `${JSON.stringify(e.name)}:{"dtype":"${e.fileDtype}","shape":[${e.array.shape.join(',')}],"data_offsets":[${offset},${end}]}`,
    );
    offset = end;
  }
  const json = encoder.encode(`{${parts.join(',')}}`);
  const headerLength = Math.ceil(json.length / 8) * 8;
  if (headerLength > MAX_HEADER_BYTES) {
    throw new SafetensorsError(`serialize: header of ${headerLength} bytes exceeds the ${MAX_HEADER_BYTES}-byte limit readers enforce`);
  }

  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength); // pad with spaces, which JSON ignores
  let at = 8 + headerLength;
  for (const e of entries) {
    const typed = e.array.toTyped();
    const raw = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
    out.set(raw, at);
    if (!HOST_IS_LITTLE_ENDIAN) swapBytes(out.subarray(at, at + raw.length), typed.BYTES_PER_ELEMENT);
    at += raw.length;
  }
  return out;
}

/**
 * Writes a safetensors file atomically: the bytes go to a temporary file in the same
 * folder, which is flushed and then renamed over `path`.
 * @example
 * saveSafetensors('ckpt.safetensors', model.stateDict(), { epoch: '3' });
 */
export function saveSafetensors(
  path: string,
  tensors: Record<string, NDArray | Tensor>,
  metadata?: Record<string, string>,
): void {
  const bytes = serializeSafetensors(tensors, metadata);
  // same folder, so the rename never crosses file systems and is atomic on POSIX
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx');
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
}

// ------------------------------------------------------------------ reading

/**
 * Reads a safetensors file. Every dtype is read into the nearest tsgrad dtype:
 * F32/F16/BF16 into float32, F64 into float64, integer types into int32 (a value
 * outside the int32 range is an error, never a silent wrap), BOOL into bool.
 * @example
 * const { tensors, metadata } = loadSafetensors('ckpt.safetensors');
 */
export function loadSafetensors(path: string): SafetensorsContents {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new SafetensorsError(`cannot read '${path}': ${(err as Error).message}`);
  }
  return parseSafetensors(bytes);
}

interface HeaderEntry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Decodes the bytes of a safetensors file (see `loadSafetensors`). The whole header is
 * validated first; any problem throws a `SafetensorsError` naming it.
 * @example
 * const { tensors } = parseSafetensors(serializeSafetensors({ x: ones([2]) }));
 */
export function parseSafetensors(bytes: Uint8Array): SafetensorsContents {
  if (!(bytes instanceof Uint8Array)) throw new SafetensorsError('parse: expected a Uint8Array of file bytes');
  if (bytes.length < 8) throw new SafetensorsError(`file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) throw new SafetensorsError(`header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  const headerLength = Number(n);
  if (8 + headerLength > bytes.length) {
    throw new SafetensorsError(`header length ${headerLength} runs past the end of the ${bytes.length}-byte file`);
  }
  const { entries, metadata } = parseHeader(bytes.subarray(8, 8 + headerLength));
  const data = bytes.subarray(8 + headerLength);
  checkLayout(entries, data.length);

  // Object.fromEntries defines own properties, so a tensor named "__proto__" stays a tensor
  const tensors = Object.fromEntries(entries.map((e) => [e.name, decodeTensor(e, data.subarray(e.begin, e.end))]));
  return { tensors, metadata };
}

function parseHeader(raw: Uint8Array): { entries: HeaderEntry[]; metadata: Record<string, string> } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(raw);
  } catch {
    throw new SafetensorsError('header is not valid UTF-8');
  }
  // the reference reader insists on '{' as the very first byte
  if (!text.startsWith('{')) throw new SafetensorsError("header does not start with '{'");
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (err) {
    throw new SafetensorsError(`header is not valid JSON: ${(err as Error).message}`);
  }
  if (!isPlainObject(header)) throw new SafetensorsError('header is not a JSON object');
  const dup = findDuplicateKey(text);
  if (dup !== undefined) throw new SafetensorsError(`header has the key ${JSON.stringify(dup)} more than once`);

  const metadataPairs: [string, string][] = [];
  const entries: HeaderEntry[] = [];
  for (const name of Object.keys(header)) {
    const info = header[name];
    if (name === '__metadata__') {
      if (!isPlainObject(info)) throw new SafetensorsError('__metadata__ is not an object of strings');
      for (const k of Object.keys(info)) {
        const v = info[k];
        if (typeof v !== 'string') throw new SafetensorsError(`__metadata__ value for ${JSON.stringify(k)} is not a string`);
        metadataPairs.push([k, v]);
      }
      continue;
    }
    entries.push(parseEntry(name, info));
  }
  return { entries, metadata: Object.fromEntries(metadataPairs) };
}

function parseEntry(name: string, info: unknown): HeaderEntry {
  const where = `tensor ${JSON.stringify(name)}`;
  if (!isPlainObject(info)) throw new SafetensorsError(`${where}: entry is not an object`);
  for (const k of Object.keys(info)) {
    if (k !== 'dtype' && k !== 'shape' && k !== 'data_offsets') throw new SafetensorsError(`${where}: unknown field ${JSON.stringify(k)}`);
  }
  const { dtype, shape, data_offsets: offsets } = info;
  if (typeof dtype !== 'string') throw new SafetensorsError(`${where}: dtype is missing or not a string`);
  const fileDtype = Object.hasOwn(FILE_DTYPES, dtype) ? FILE_DTYPES[dtype]! : undefined;
  if (fileDtype === undefined) throw new SafetensorsError(`${where}: unsupported dtype ${JSON.stringify(dtype)}`);
  if (!Array.isArray(shape)) throw new SafetensorsError(`${where}: shape is missing or not an array`);
  let count = 1;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw new SafetensorsError(`${where}: shape ${JSON.stringify(shape)} has a dimension that is not a non-negative integer`);
    }
    count *= d;
  }
  if (!Array.isArray(offsets) || offsets.length !== 2) throw new SafetensorsError(`${where}: data_offsets is not a [begin, end] pair`);
  const [begin, end] = offsets as unknown[];
  if (typeof begin !== 'number' || typeof end !== 'number' || !Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || begin < 0 || end < 0) {
    throw new SafetensorsError(`${where}: data_offsets ${JSON.stringify(offsets)} are not non-negative integers`);
  }
  if (end < begin) throw new SafetensorsError(`${where}: data_offsets [${begin}, ${end}] end before they begin`);
  const expected = count * fileDtype.bytes;
  if (!Number.isSafeInteger(expected) || expected !== end - begin) {
    throw new SafetensorsError(
      `${where}: shape [${shape.join(', ')}] of ${dtype} needs ${expected} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`,
    );
  }
  return { name, dtype, shape: shape.map((d: number) => d + 0), begin: begin + 0, end: end + 0 }; // + 0 turns -0 into 0
}

/** The tensors must tile the byte buffer exactly: in offset order, each starts where the last ended. */
function checkLayout(entries: HeaderEntry[], dataLength: number): void {
  for (const e of entries) {
    if (e.end > dataLength) {
      throw new SafetensorsError(`tensor ${JSON.stringify(e.name)}: data_offsets [${e.begin}, ${e.end}] run past the ${dataLength}-byte data buffer`);
    }
  }
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of sorted) {
    if (e.begin < at) throw new SafetensorsError(`tensor ${JSON.stringify(e.name)}: data_offsets [${e.begin}, ${e.end}] overlap the previous tensor, which ends at ${at}`);
    if (e.begin > at) throw new SafetensorsError(`tensor ${JSON.stringify(e.name)}: gap of ${e.begin - at} bytes before data_offsets [${e.begin}, ${e.end}]`);
    at = e.end;
  }
  if (at !== dataLength) throw new SafetensorsError(`data buffer has ${dataLength - at} bytes after the last tensor (tensors cover ${at} of ${dataLength})`);
}

function decodeTensor(e: HeaderEntry, raw: Uint8Array): NDArray {
  const fileDtype = FILE_DTYPES[e.dtype]!;
  // an own, aligned copy (Buffer's slice() would be a view into a shared pool)
  const copy = new Uint8Array(raw.length);
  copy.set(raw);
  if (!HOST_IS_LITTLE_ENDIAN) swapBytes(copy, fileDtype.bytes);
  const buf = copy.buffer;
  const count = raw.length / fileDtype.bytes;
  const where = `tensor ${JSON.stringify(e.name)} (${e.dtype})`;
  let out: TypedArray;
  switch (e.dtype) {
    case 'F32':
      out = new Float32Array(buf);
      break;
    case 'F64':
      out = new Float64Array(buf);
      break;
    case 'I32':
      out = new Int32Array(buf);
      break;
    case 'BOOL': {
      out = copy;
      for (let i = 0; i < count; i++) {
        if (copy[i]! > 1) throw new SafetensorsError(`${where}: element ${i} is byte ${copy[i]}, not 0 or 1`);
      }
      break;
    }
    case 'U8':
      out = Int32Array.from(copy);
      break;
    case 'I8':
      out = Int32Array.from(new Int8Array(buf));
      break;
    case 'I16':
      out = Int32Array.from(new Int16Array(buf));
      break;
    case 'U16':
      out = Int32Array.from(new Uint16Array(buf));
      break;
    case 'U32': {
      const u = new Uint32Array(buf);
      for (let i = 0; i < count; i++) {
        if (u[i]! > 0x7fffffff) throw new SafetensorsError(`${where}: element ${i} = ${u[i]} is outside the int32 range`);
      }
      out = new Int32Array(buf);
      break;
    }
    case 'I64':
    case 'U64': {
      // a 64-bit value fits int32 exactly when its high word is the sign extension of the low word
      const words = new Int32Array(buf);
      const r = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const lo = words[2 * i]!;
        const hi = words[2 * i + 1]!;
        if (hi !== lo >> 31 || (e.dtype === 'U64' && lo < 0)) {
          const value = new DataView(buf).getBigInt64(8 * i, HOST_IS_LITTLE_ENDIAN);
          const shown = e.dtype === 'U64' ? BigInt.asUintN(64, value) : value;
          throw new SafetensorsError(`${where}: element ${i} = ${shown} is outside the int32 range tsgrad stores integers in`);
        }
        r[i] = lo;
      }
      out = r;
      break;
    }
    case 'F16': {
      const h = new Uint16Array(buf);
      const r = new Float32Array(count);
      for (let i = 0; i < count; i++) r[i] = halfToFloat(h[i]!);
      out = r;
      break;
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32
      const h = new Uint16Array(buf);
      const bits = new Uint32Array(count);
      for (let i = 0; i < count; i++) bits[i] = h[i]! << 16;
      out = new Float32Array(bits.buffer);
      break;
    }
    default:
      throw new SafetensorsError(`${where}: unsupported dtype`);
  }
  return NDArray.fromTyped(out, e.shape, fileDtype.into);
}

// ------------------------------------------------------------------ helpers

/** IEEE 754 binary16 bits to a number. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero and subnormals
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function swapBytes(bytes: Uint8Array, width: number): void {
  if (width === 1) return;
  for (let i = 0; i + width <= bytes.length; i += width) bytes.subarray(i, i + width).reverse();
}

/**
 * The first key that appears twice in one object of a JSON text, or undefined.
 * JSON.parse silently keeps the last duplicate, and a second "data_offsets" or a
 * repeated tensor name is exactly how a hostile header would hide data, so the text
 * is scanned: a string is a key when the next non-space character is ':'. The text
 * must already be valid JSON.
 */
function findDuplicateKey(text: string): string | undefined {
  const stack: (Set<string> | null)[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{') stack.push(new Set());
    else if (c === '[') stack.push(null);
    else if (c === '}' || c === ']') stack.pop();
    else if (c === '"') {
      const start = i;
      for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++;
      let j = i + 1;
      while (j < text.length && (text[j] === ' ' || text[j] === '\t' || text[j] === '\n' || text[j] === '\r')) j++;
      if (text[j] === ':') {
        const key = JSON.parse(text.slice(start, i + 1)) as string; // decode escapes, so "\u0061" equals "a"
        const keys = stack[stack.length - 1];
        if (keys) {
          if (keys.has(key)) return key;
          keys.add(key);
        }
      }
    }
  }
  return undefined;
}
