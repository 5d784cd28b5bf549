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
 * spaces to a multiple of 8 bytes.
 *
 * Everything here works on bytes (`serializeSafetensors`, `parseSafetensors`), so it runs in
 * a browser too (`fetch(url).then((r) => r.arrayBuffer()).then(parseSafetensors)`). Files on
 * disk are Node-only: `saveSafetensors` (atomic, through a temporary file and a rename),
 * `loadSafetensors` and `inspectSafetensors` live in node/safetensors-file.ts.
 */
import { Tensor } from '@tsgrad/autograd';
import { NDArray, type DType, type TypedArray } from '@tsgrad/tensor';
import { checkLayout, FILE_DTYPES, parseHeader, SafetensorsError, type HeaderEntry } from './safetensors-header.ts';

export { SafetensorsError } from './safetensors-header.ts';

/** The header is capped, as in the reference implementation, so a hostile length cannot make us allocate gigabytes. */
export const MAX_HEADER_BYTES = 100_000_000;

/** What `loadSafetensors` / `parseSafetensors` return. */
export interface SafetensorsContents {
  /** Tensors by name (own properties only, so even a key like `__proto__` is just a key). */
  tensors: Record<string, NDArray>;
  /** The `__metadata__` map, `{}` when the file has none. */
  metadata: Record<string, string>;
}

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

// ------------------------------------------------------------------ reading

/** Options of `loadSafetensors` and `parseSafetensors`. */
export interface LoadOptions {
  /** Read only these tensors (each must exist); the others' bytes are never read. Default: all. */
  names?: readonly string[];
}

/** A tensor's description in a file's header; its bytes are [begin, end) of the data buffer. */
export type SafetensorsEntry = Readonly<HeaderEntry>;

// shared with node/safetensors-file.ts, which reads the same format from a file

/** The header length from the first 8 bytes of a file of `size` bytes, checked against the cap and the size. */
export function checkPrefix(prefix: Uint8Array, size: number): number {
  if (size < 8) throw new SafetensorsError(`file is ${size} bytes, shorter than the 8-byte header length`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) throw new SafetensorsError(`header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  const headerLength = Number(n);
  if (8 + headerLength > size) throw new SafetensorsError(`header length ${headerLength} runs past the end of the ${size}-byte file`);
  return headerLength;
}

/** The entries named in `names` (all when absent), refusing names the header lacks. */
export function pickEntries(entries: HeaderEntry[], names: readonly string[] | undefined): HeaderEntry[] {
  if (names === undefined) return entries;
  const byName = new Map(entries.map((e) => [e.name, e]));
  return names.map((n) => {
    const e = byName.get(n);
    if (!e) throw new SafetensorsError(`no tensor named ${JSON.stringify(n)} in the file (it has ${entries.length})`);
    return e;
  });
}

/**
 * Decodes the bytes of a safetensors file, e.g. a fetched response's `arrayBuffer()` (dtypes
 * as in `loadSafetensors`). The whole header is validated first; any problem throws a
 * `SafetensorsError` naming it. `opts.names` decodes only those tensors.
 * @example
 * const { tensors } = parseSafetensors(serializeSafetensors({ x: ones([2]) }));
 */
export function parseSafetensors(input: Uint8Array | ArrayBuffer, opts: LoadOptions = {}): SafetensorsContents {
  const bytes = input instanceof ArrayBuffer ? new Uint8Array(input) : input;
  if (!(bytes instanceof Uint8Array)) throw new SafetensorsError('parse: expected a Uint8Array or ArrayBuffer of file bytes');
  const headerLength = checkPrefix(bytes.subarray(0, 8), bytes.length);
  const { entries, metadata } = parseHeader(bytes.subarray(8, 8 + headerLength));
  const data = bytes.subarray(8 + headerLength);
  checkLayout(entries, data.length);
  // Object.fromEntries defines own properties, so a tensor named "__proto__" stays a tensor
  const tensors = Object.fromEntries(pickEntries(entries, opts.names).map((e) => [e.name, decodeTensor(e, copyOf(data.subarray(e.begin, e.end)))]));
  return { tensors, metadata };
}

/** An own, aligned copy (a Buffer's bytes may be a view into a shared pool). */
function copyOf(raw: Uint8Array): Uint8Array {
  const copy = new Uint8Array(raw.length);
  copy.set(raw);
  return copy;
}

/** Turns a tensor's bytes (a fresh buffer of its own, which this may reuse) into an NDArray. */
export function decodeTensor(e: HeaderEntry, copy: Uint8Array): NDArray {
  const fileDtype = FILE_DTYPES[e.dtype]!;
  if (!HOST_IS_LITTLE_ENDIAN) swapBytes(copy, fileDtype.bytes);
  const buf = copy.buffer;
  const count = copy.length / fileDtype.bytes;
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

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function swapBytes(bytes: Uint8Array, width: number): void {
  if (width === 1) return;
  for (let i = 0; i + width <= bytes.length; i += width) bytes.subarray(i, i + width).reverse();
}
