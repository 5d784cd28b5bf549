import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Tensor } from '@tsgrad/autograd';
import { NDArray, type DType } from '@tsgrad/tensor';
import { loadSafetensors, saveSafetensors } from '../src/node/safetensors-file.ts';
import { MAX_HEADER_BYTES, parseSafetensors, SafetensorsError, serializeSafetensors } from '../src/safetensors.ts';

// ------------------------------------------------------------------ helpers

const enc = new TextEncoder();

/** A file from a header given as text: length prefix, header padded to 8 bytes, data. */
function fileFrom(header: string, data: ArrayLike<number> = [], pad = true): Uint8Array {
  const h = enc.encode(header);
  const n = pad ? Math.ceil(h.length / 8) * 8 : h.length;
  const out = new Uint8Array(8 + n + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  out.set(h, 8);
  out.fill(0x20, 8 + h.length, 8 + n);
  out.set(Array.from(data), 8 + n);
  return out;
}

function rejects(bytes: Uint8Array, reason: RegExp): void {
  try {
    parseSafetensors(bytes);
  } catch (err) {
    assert.instance(err, SafetensorsError);
    assert.match((err as Error).message, reason);
    return;
  }
  assert.unreachable(`expected a SafetensorsError matching ${reason}`);
}

function sameArray(a: NDArray, b: NDArray): void {
  assert.is(a.dtype, b.dtype);
  assert.equal([...a.shape], [...b.shape]);
  const x = a.toTyped();
  const y = b.toTyped();
  assert.is(x.length, y.length);
  for (let i = 0; i < x.length; i++) assert.ok(Object.is(x[i], y[i]), `element ${i}: ${x[i]} vs ${y[i]}`);
}

const shapeArb = fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 0, maxLength: 4 });
const dtypeArb = fc.constantFrom<DType>('float32', 'float64', 'int32', 'bool');

function valuesArb(dtype: DType, n: number): fc.Arbitrary<number[]> {
  const v =
    dtype === 'float32'
      ? fc.float({ noDefaultInfinity: false }).map((x) => x)
      : dtype === 'float64'
        ? fc.double()
        : dtype === 'int32'
          ? fc.integer({ min: -2147483648, max: 2147483647 })
          : fc.integer({ min: 0, max: 1 });
  return fc.array(v, { minLength: n, maxLength: n });
}

const arrayArb: fc.Arbitrary<NDArray> = fc
  .tuple(dtypeArb, shapeArb)
  .chain(([dtype, shape]) =>
    valuesArb(dtype, shape.reduce((a, b) => a * b, 1)).map((vals) => {
      const data =
        dtype === 'float32'
          ? Float32Array.from(vals)
          : dtype === 'float64'
            ? Float64Array.from(vals)
            : dtype === 'int32'
              ? Int32Array.from(vals)
              : Uint8Array.from(vals);
      return NDArray.fromTyped(data, shape, dtype);
    }),
  );

const nameArb = fc.string({ minLength: 0, maxLength: 8, unit: 'grapheme' }).filter((s) => s !== '__metadata__');
const dictArb = fc.dictionary(nameArb, arrayArb, { maxKeys: 5, noNullPrototype: true });
const metaArb = fc.option(fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 12 }), { maxKeys: 4, noNullPrototype: true }), { nil: undefined });

// ------------------------------------------------------------------ byte-exact

test('writes the exact bytes the spec prescribes for a hand-built file', () => {
  const tensors = {
    a: NDArray.fromTyped(Int32Array.from([1, -2]), [2]),
    b: NDArray.fromTyped(Float64Array.from([0.5]), []),
    c: NDArray.fromTyped(Uint8Array.from([1, 0, 1]), [3], 'bool'),
  };
  // descending dtype (F64 > I32 > BOOL), then name; metadata first; compact JSON
  const header =
    '{"__metadata__":{"format":"pt"},' +
    '"b":{"dtype":"F64","shape":[],"data_offsets":[0,8]},' +
    '"a":{"dtype":"I32","shape":[2],"data_offsets":[8,16]},' +
    '"c":{"dtype":"BOOL","shape":[3],"data_offsets":[16,19]}}';
  assert.is(header.length, 194); // padded to 200 with six spaces
  const expected = new Uint8Array([
    200, 0, 0, 0, 0, 0, 0, 0, // u64 little-endian header length
    ...enc.encode(header), 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0, 0, 0, 0, 0, 0, 0xe0, 0x3f, // 0.5 as float64 LE
    1, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, // 1, -2 as int32 LE
    1, 0, 1, // bools
  ]);
  const bytes = serializeSafetensors(tensors, { format: 'pt' });
  assert.equal(Array.from(bytes), Array.from(expected));
  const back = parseSafetensors(expected);
  assert.equal(back.metadata, { format: 'pt' });
  sameArray(back.tensors.a!, tensors.a);
  sameArray(back.tensors.b!, tensors.b);
  sameArray(back.tensors.c!, tensors.c);
});

test('reads a header whose keys are not in offset order, with extra padding spaces', () => {
  const bytes = fileFrom(
    '{"y":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},   "x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}   ',
    [0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0], // 1.0, -2.0
  );
  const { tensors, metadata } = parseSafetensors(bytes);
  assert.equal(metadata, {});
  assert.equal(tensors.x!.toArray(), [1]);
  assert.equal(tensors.y!.toArray(), [-2]);
});

// ------------------------------------------------------------------ round trips

test('round trip: every dtype, random shapes incl. 0-d and empty, random metadata (fast-check)', () => {
  fc.assert(
    fc.property(dictArb, metaArb, (tensors, metadata) => {
      const bytes = serializeSafetensors(tensors, metadata);
      const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
      assert.is(n % 8, 0);
      const back = parseSafetensors(bytes);
      assert.equal(Object.keys(back.tensors).sort(), Object.keys(tensors).sort());
      for (const k of Object.keys(tensors)) sameArray(back.tensors[k]!, tensors[k]!);
      assert.equal(back.metadata, metadata ?? {});
    }),
    { numRuns: 300 },
  );
});

test('writes views densely and accepts Tensors', () => {
  const base = NDArray.fromTyped(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
  const t = base.transpose(0, 1); // [3, 2], not contiguous
  const w = new Tensor(NDArray.fromTyped(Float64Array.from([7, 8]), [2]), true);
  const back = parseSafetensors(serializeSafetensors({ t, w })).tensors;
  assert.equal(back.t!.toArray(), [[1, 4], [2, 5], [3, 6]]);
  assert.is(back.w!.dtype, 'float64');
  assert.equal(back.w!.toArray(), [7, 8]);
});

test('names such as __proto__ and constructor are ordinary tensor names', () => {
  const x = NDArray.fromTyped(Float32Array.from([1]), [1]);
  const back = parseSafetensors(serializeSafetensors({ ['__proto__']: x, constructor: x } as Record<string, NDArray>));
  assert.equal(Object.keys(back.tensors).sort(), ['__proto__', 'constructor']);
  assert.equal(Object.getPrototypeOf(back.tensors), Object.prototype);
  assert.instance(Object.getOwnPropertyDescriptor(back.tensors, '__proto__')!.value, NDArray);
});

test('serialize rejects the reserved name and non-string metadata', () => {
  const x = NDArray.fromTyped(Float32Array.from([1]), [1]);
  assert.throws(() => serializeSafetensors({ __metadata__: x }), (e: Error) => e instanceof SafetensorsError && /reserved/.test(e.message));
  assert.throws(
    () => serializeSafetensors({ x }, { step: 3 } as unknown as Record<string, string>),
    (e: Error) => e instanceof SafetensorsError && /'step' is a number/.test(e.message),
  );
});

test('reads F16, BF16, I64, U64, U32, I16, U16, I8, U8 into float32 / int32', () => {
  const bytes = fileFrom(
    '{"h":{"dtype":"F16","shape":[5],"data_offsets":[0,10]},' +
      '"bf":{"dtype":"BF16","shape":[2],"data_offsets":[10,14]},' +
      '"l":{"dtype":"I64","shape":[2],"data_offsets":[14,30]},' +
      '"ul":{"dtype":"U64","shape":[1],"data_offsets":[30,38]},' +
      '"u":{"dtype":"U32","shape":[1],"data_offsets":[38,42]},' +
      '"s":{"dtype":"I16","shape":[1],"data_offsets":[42,44]},' +
      '"us":{"dtype":"U16","shape":[1],"data_offsets":[44,46]},' +
      '"b":{"dtype":"I8","shape":[1],"data_offsets":[46,47]},' +
      '"ub":{"dtype":"U8","shape":[1],"data_offsets":[47,48]}}',
    [
      0x00, 0x3c, 0x00, 0xc0, 0x00, 0x7c, 0x01, 0x00, 0x00, 0x38, // 1, -2, inf, 2^-24, 0.5
      0x80, 0x3f, 0x40, 0xc0, // bf16 1, -3
      0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0x80, 0xff, 0xff, 0xff, 0xff, // int32 max, int32 min
      7, 0, 0, 0, 0, 0, 0, 0, // u64 7
      0xff, 0xff, 0xff, 0x7f, // u32 2^31-1
      0xfe, 0xff, // i16 -2
      0xff, 0xff, // u16 65535
      0x80, // i8 -128
      0xff, // u8 255
    ],
  );
  const t = parseSafetensors(bytes).tensors;
  assert.is(t.h!.dtype, 'float32');
  assert.equal(t.h!.toArray(), [1, -2, Infinity, 2 ** -24, 0.5]);
  assert.equal(t.bf!.toArray(), [1, -3]);
  assert.is(t.l!.dtype, 'int32');
  assert.equal(t.l!.toArray(), [2147483647, -2147483648]);
  assert.equal(t.ul!.toArray(), [7]);
  assert.equal(t.u!.toArray(), [2147483647]);
  assert.equal(t.s!.toArray(), [-2]);
  assert.equal(t.us!.toArray(), [65535]);
  assert.equal(t.b!.toArray(), [-128]);
  assert.equal(t.ub!.toArray(), [255]);
});

// ------------------------------------------------------------------ files

test('saveSafetensors / loadSafetensors: round trip, overwrite, no temp files left behind', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsgrad-st-'));
  try {
    const path = join(dir, 'model.safetensors');
    const w = NDArray.fromTyped(Float32Array.from([1, 2, 3, 4]), [2, 2]);
    saveSafetensors(path, { w }, { epoch: '1' });
    saveSafetensors(path, { w, b: NDArray.fromTyped(Int32Array.from([5]), [1]) }, { epoch: '2' });
    const { tensors, metadata } = loadSafetensors(path);
    assert.equal(metadata, { epoch: '2' });
    sameArray(tensors.w!, w);
    assert.equal(tensors.b!.toArray(), [5]);
    assert.equal(readdirSync(dir), ['model.safetensors']);
    assert.throws(() => saveSafetensors(join(dir, 'missing', 'x.safetensors'), { w }));
    assert.equal(readdirSync(dir), ['model.safetensors']);
    assert.throws(() => loadSafetensors(join(dir, 'nope.safetensors')), (e: Error) => e instanceof SafetensorsError && /cannot read/.test(e.message));
    writeFileSync(join(dir, 'short.safetensors'), new Uint8Array(3));
    assert.throws(() => loadSafetensors(join(dir, 'short.safetensors')), (e: Error) => e instanceof SafetensorsError);
    assert.is(existsSync(path), true);
    assert.is(readFileSync(path).length > 8, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ------------------------------------------------------------------ rejections

const ok1 = '{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
const four = [0, 0, 0x80, 0x3f];

test('rejects files too short or with a bad header length', () => {
  rejects(new Uint8Array(0), /shorter than the 8-byte/);
  rejects(new Uint8Array(7), /shorter than the 8-byte/);
  const big = fileFrom(ok1, four);
  new DataView(big.buffer).setBigUint64(0, BigInt(big.length), true);
  rejects(big, /runs past the end/);
  new DataView(big.buffer).setBigUint64(0, BigInt(MAX_HEADER_BYTES + 1), true);
  rejects(big, /exceeds the 100000000-byte limit/);
  new DataView(big.buffer).setBigUint64(0, 0xffffffffffffffffn, true);
  rejects(big, /exceeds/);
  rejects(fileFrom(''), /does not start with/);
});

test('rejects headers that are not UTF-8, not JSON or not an object', () => {
  const bad = fileFrom(ok1, four);
  bad[12] = 0xff;
  rejects(bad, /not valid UTF-8/);
  rejects(fileFrom('{"x":'), /not valid JSON/);
  rejects(fileFrom('[1, 2]'), /does not start with '\{'/);
  rejects(fileFrom(' {}'), /does not start with '\{'/);
  rejects(fileFrom('{"x": 3}'), /entry is not an object/);
  rejects(fileFrom('{"x": null}'), /entry is not an object/);
});

test('rejects bad dtypes, shapes and unknown fields', () => {
  rejects(fileFrom('{"x":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}', [0]), /unsupported dtype "F8_E4M3"/);
  rejects(fileFrom('{"x":{"dtype":"toString","shape":[1],"data_offsets":[0,1]}}', [0]), /unsupported dtype/);
  rejects(fileFrom('{"x":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}', four), /dtype is missing/);
  rejects(fileFrom('{"x":{"shape":[1],"data_offsets":[0,4]}}', four), /dtype is missing/);
  for (const shape of ['[-1]', '[1.5]', '["1"]', '[null]', '[1e400]', '4', '{"0":1}']) {
    rejects(fileFrom(`{"x":{"dtype":"F32","shape":${shape},"data_offsets":[0,4]}}`, four), /shape/);
  }
  rejects(fileFrom('{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}}', four), /unknown field "extra"/);
});

test('rejects offsets that are not integers, out of bounds, overlapping, gapped or not covering the buffer', () => {
  const eight = [...four, ...four];
  const st = (o: string, shape = '[1]') => `{"dtype":"F32","shape":${shape},"data_offsets":${o}}`;
  for (const o of ['[0]', '[0,4,8]', '"0,4"', '[0,"4"]', '[0.5,4.5]', '[-4,0]', 'null']) {
    rejects(fileFrom(`{"x":${st(o)}}`, four), /data_offsets/);
  }
  rejects(fileFrom(`{"x":${st('[4,0]')}}`, four), /end before they begin/);
  rejects(fileFrom(`{"x":${st('[0,8]', '[2]')}}`, four), /run past the 4-byte data buffer/);
  rejects(fileFrom(`{"x":${st('[0,8]')}}`, eight), /needs 4 bytes but data_offsets \[0, 8\] hold 8/);
  rejects(fileFrom(`{"x":${st('[0,4]')},"y":${st('[2,6]')}}`, eight), /overlap/);
  rejects(fileFrom(`{"x":${st('[0,4]')},"y":${st('[0,4]')}}`, eight), /overlap/);
  rejects(fileFrom(`{"x":${st('[4,8]')}}`, eight), /gap of 4 bytes/);
  rejects(fileFrom(`{"x":${st('[0,4]')}}`, eight), /4 bytes after the last tensor/);
  rejects(fileFrom(`{"x":${st('[0,4]')},"y":${st('[8,12]')}}`, [...eight, ...four]), /gap/);
  rejects(fileFrom(`{"x":${st('[0,0]', '[0, 9007199254740993]')}}`), /shape/);
  // shape x dtype size overflowing a safe integer cannot match any offsets
  rejects(fileFrom(`{"x":${st('[0,4]', '[9007199254740991, 2]')}}`, four), /needs/);
});

test('accepts empty tensors sharing an offset, and an empty file body', () => {
  const t = parseSafetensors(
    fileFrom(
      '{"e":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},"f":{"dtype":"I64","shape":[0],"data_offsets":[0,0]},"x":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}',
      four,
    ),
  ).tensors;
  assert.equal([...t.e!.shape], [0, 3]);
  assert.equal([...t.f!.shape], [0]);
  assert.equal(t.x!.toArray(), 1);
  assert.equal(parseSafetensors(fileFrom('{}')).tensors, {});
});

test('rejects duplicate keys at any level, also when spelled with escapes', () => {
  const st = '{"dtype":"F32","shape":[1],"data_offsets":[0,4]}';
  rejects(fileFrom(`{"x":${st},"x":${st}}`, four), /key "x" more than once/);
  rejects(fileFrom(`{"x":${st},"\\u0078":${st}}`, four), /key "x" more than once/);
  rejects(fileFrom('{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,8],"data_offsets":[0,4]}}', four), /"data_offsets" more than once/);
  rejects(fileFrom(`{"__metadata__":{"a":"1","a":"2"},"x":${st}}`, four), /"a" more than once/);
  // the same key in different objects, and key-like text inside strings, are fine
  const okMeta = parseSafetensors(fileFrom(`{"__metadata__":{"x":"\\"x\\":","dtype":"F32"},"x":${st}}`, four));
  assert.equal(okMeta.metadata, { x: '"x":', dtype: 'F32' });
});

test('rejects non-string metadata and out-of-range or invalid values', () => {
  const st = '{"dtype":"F32","shape":[1],"data_offsets":[0,4]}';
  rejects(fileFrom(`{"__metadata__":{"step":3},"x":${st}}`, four), /__metadata__ value for "step" is not a string/);
  rejects(fileFrom(`{"__metadata__":["a"],"x":${st}}`, four), /__metadata__ is not an object/);
  rejects(fileFrom(`{"__metadata__":null,"x":${st}}`, four), /__metadata__ is not an object/);
  const i64 = (lo: number[], hi: number[]) => fileFrom('{"x":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}', [...lo, ...hi]);
  rejects(i64([0, 0, 0, 0x80], [0, 0, 0, 0]), /element 0 = 2147483648 is outside the int32 range/);
  rejects(i64([0, 0, 0, 0], [1, 0, 0, 0]), /outside the int32 range/);
  rejects(i64([0xff, 0xff, 0xff, 0x7f], [0xff, 0xff, 0xff, 0xff]), /element 0 = -2147483649/);
  rejects(fileFrom('{"x":{"dtype":"U64","shape":[1],"data_offsets":[0,8]}}', [0, 0, 0, 0x80, 0, 0, 0, 0]), /2147483648 is outside/);
  rejects(fileFrom('{"x":{"dtype":"U32","shape":[1],"data_offsets":[0,4]}}', [0, 0, 0, 0x80]), /outside the int32 range/);
  rejects(fileFrom('{"x":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}}', [1, 2]), /element 1 is byte 2, not 0 or 1/);
});

// ------------------------------------------------------------------ fuzz

/** Names of the tensors a header claims, when it is valid JSON at all. */
function claimedNames(bytes: Uint8Array): string[] | undefined {
  try {
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    const h = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    return Object.keys(h).filter((k) => k !== '__metadata__');
  } catch {
    return undefined;
  }
}

/** Parsing either throws a SafetensorsError or returns every tensor the header names. */
function onlySafetensorsErrors(bytes: Uint8Array): void {
  let result;
  try {
    result = parseSafetensors(bytes);
  } catch (err) {
    if (!(err instanceof SafetensorsError)) throw new Error(`non-SafetensorsError thrown: ${String(err)}`);
    return;
  }
  const names = claimedNames(bytes);
  assert.ok(names !== undefined, 'accepted a file whose header is not JSON');
  assert.equal(Object.keys(result.tensors).sort(), names!.sort());
}

const validFileArb = fc.tuple(dictArb, metaArb).map(([t, m]) => serializeSafetensors(t, m));

type Mutation = (b: Uint8Array) => Uint8Array;
/** How many header bytes a (possibly already mutated) file has, clamped to what is there. */
const headerBytes = (b: Uint8Array) =>
  b.length < 8 ? 0 : Math.min(b.length - 8, Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true)));
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  // truncate
  fc.nat().map((k) => (b: Uint8Array) => b.slice(0, k % (b.length + 1))),
  // flip bits anywhere, favouring the header
  fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 }), fc.boolean()), { minLength: 1, maxLength: 4 }).map(
    (flips) => (b: Uint8Array) => {
      const c = b.slice();
      for (const [pos, bit, inHeader] of flips) {
        const n = inHeader ? 8 + headerBytes(c) : c.length;
        if (n > 0) c[pos % n]! ^= 1 << bit;
      }
      return c;
    },
  ),
  // overwrite the header length
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((n) => (b: Uint8Array) => {
    const c = b.slice();
    if (c.length >= 8) new DataView(c.buffer).setBigUint64(0, n, true);
    return c;
  }),
  // append bytes
  fc.uint8Array({ minLength: 1, maxLength: 16 }).map((extra) => (b: Uint8Array) => {
    const c = new Uint8Array(b.length + extra.length);
    c.set(b);
    c.set(extra, b.length);
    return c;
  }),
  // replace a byte range of the header with random printable JSON-ish characters
  fc.tuple(fc.nat(), fc.string({ unit: fc.constantFrom(...'{}[]",:0123456789-.e \\u'), minLength: 1, maxLength: 6 })).map(
    ([pos, s]) => (b: Uint8Array) => {
      const c = b.slice();
      const n = headerBytes(c);
      const bytes = enc.encode(s);
      for (let i = 0; i < bytes.length && n > 0; i++) c[8 + ((pos + i) % n)] = bytes[i]!;
      return c;
    },
  ),
);

test('fuzz: truncated, bit-flipped, resized and scribbled files give only SafetensorsErrors (fast-check)', () => {
  fc.assert(
    fc.property(validFileArb, fc.array(mutationArb, { minLength: 1, maxLength: 3 }), (file, mutations) => {
      let b = file;
      for (const m of mutations) b = m(b);
      onlySafetensorsErrors(b);
    }),
    { numRuns: 1500 },
  );
});

/** Structured header mutations: valid JSON with wrong fields, re-framed with a correct length. */
const jsonValueArb = fc.oneof(
  fc.integer({ min: -10, max: 40 }),
  fc.double(),
  fc.string({ maxLength: 4 }),
  fc.constant(null),
  fc.boolean(),
  fc.array(fc.integer({ min: -2, max: 40 }), { maxLength: 4 }),
  fc.constantFrom('F32', 'F64', 'I64', 'BOOL', 'F16', 'BF16', 'U8', 'C64', '__proto__'),
);

test('fuzz: headers with wrong field values give only SafetensorsErrors (fast-check)', () => {
  fc.assert(
    fc.property(
      validFileArb,
      fc.array(fc.tuple(fc.nat(), fc.constantFrom('dtype', 'shape', 'data_offsets', 'extra', '__metadata__', '*'), jsonValueArb, fc.boolean()), {
        minLength: 1,
        maxLength: 3,
      }),
      (file, edits) => {
        const n = Number(new DataView(file.buffer).getBigUint64(0, true));
        const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n))) as Record<string, Record<string, unknown>>;
        const names = Object.keys(header);
        for (const [which, field, value, remove] of edits) {
          if (field === '__metadata__') header.__metadata__ = (remove ? value : { k: value }) as Record<string, unknown>;
          else if (field === '*') header[names.length > 0 && remove ? names[which % names.length]! : 'new'] = value as unknown as Record<string, unknown>;
          else if (names.length > 0) {
            const entry = header[names[which % names.length]!];
            if (typeof entry === 'object' && entry !== null) {
              if (remove) delete entry[field];
              else entry[field] = value;
            }
          }
        }
        onlySafetensorsErrors(fileFrom(JSON.stringify(header), file.subarray(8 + n)));
      },
    ),
    { numRuns: 1000 },
  );
});

test.run();
