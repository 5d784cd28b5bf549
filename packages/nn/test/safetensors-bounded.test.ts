/**
 * Bounded work on hostile or huge safetensors files (issue 10 §3): the reader reads
 * the length prefix and the header first and then only the tensors asked for, so a
 * file over 2 GiB loads through the same path (tested on sparse files, which take no
 * disk) and a bad header is refused without reading the body; a header listing
 * hundreds of thousands of tensors validates in one pass, and a bad entry at its end
 * is found.
 */
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { NDArray } from '@tsgrad/tensor';
import { inspectSafetensors, loadSafetensors } from '../src/node/safetensors-file.ts';
import { parseSafetensors, SafetensorsError, serializeSafetensors } from '../src/safetensors.ts';

const enc = new TextEncoder();

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'tsgrad-st-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The length prefix and the header padded with spaces to a multiple of 8. */
function prefixAndHeader(header: string): Uint8Array {
  const h = enc.encode(header);
  const n = Math.ceil(h.length / 8) * 8;
  const out = new Uint8Array(8 + n).fill(0x20);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  out.set(h, 8);
  return out;
}

/** A sparse file of `size` bytes with `parts` written at their positions (the rest reads as zeros and takes no disk). */
function sparseFile(path: string, size: number, parts: [number, Uint8Array][]): void {
  const fd = openSync(path, 'w');
  try {
    ftruncateSync(fd, size);
    for (const [at, bytes] of parts) writeSync(fd, bytes, 0, bytes.length, at);
  } finally {
    closeSync(fd);
  }
}

function rejectsWith(fn: () => unknown, re: RegExp): void {
  try {
    fn();
  } catch (err) {
    assert.instance(err, SafetensorsError);
    assert.match((err as Error).message, re);
    return;
  }
  assert.unreachable(`expected a SafetensorsError matching ${re}`);
}

const BIG = 2 ** 31 + 8; // one byte tensor just over 2 GiB

test('a checkpoint over 2 GiB loads the tensors asked for through positioned reads', () => {
  withDir((dir) => {
    const head = prefixAndHeader(
      `{"big":{"dtype":"U8","shape":[${BIG}],"data_offsets":[0,${BIG}]},"small":{"dtype":"F32","shape":[4],"data_offsets":[${BIG},${BIG + 16}]}}`,
    );
    const small = new Uint8Array(Float32Array.from([1.5, -2, 3.25, 1e-3]).buffer);
    const path = join(dir, 'huge.safetensors');
    sparseFile(path, head.length + BIG + 16, [[0, head], [head.length + BIG, small]]);

    const { tensors } = loadSafetensors(path, { names: ['small'] });
    assert.equal(Object.keys(tensors), ['small']);
    assert.equal(tensors.small!.toArray(), [1.5, -2, 3.25, Math.fround(1e-3)]);
    const info = inspectSafetensors(path).tensors;
    assert.equal(info[0], { name: 'big', dtype: 'U8', shape: [BIG], begin: 0, end: BIG });
    rejectsWith(() => loadSafetensors(path, { names: ['nope'] }), /no tensor named "nope" in the file \(it has 2\)/);
  });
});

test('a 3 GiB file with a bad header is refused from its header alone', () => {
  withDir((dir) => {
    const path = join(dir, 'bad.safetensors');
    sparseFile(path, 3 * 2 ** 30, [[0, prefixAndHeader('{"x": not json}')]]);
    rejectsWith(() => loadSafetensors(path), /^header is not valid JSON/);
    // a legal header whose offsets do not tile the (huge) body is refused before any tensor is read
    const path2 = join(dir, 'gap.safetensors');
    sparseFile(path2, 3 * 2 ** 30, [[0, prefixAndHeader('{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}')]]);
    rejectsWith(() => loadSafetensors(path2), /bytes after the last tensor/);
  });
});

test('a file shorter than its header claims is refused; truncated tensor data is refused', () => {
  withDir((dir) => {
    const path = join(dir, 't.safetensors');
    const bytes = serializeSafetensors({ a: NDArray.fromTyped(Float32Array.from([1, 2, 3]), [3]) });
    writeFileSync(path, bytes.subarray(0, bytes.length - 1));
    rejectsWith(() => loadSafetensors(path), /run past the 11-byte data buffer|bytes after the last tensor|run past/);
    writeFileSync(path, bytes.subarray(0, 5));
    rejectsWith(() => loadSafetensors(path), /shorter than the 8-byte header length/);
    writeFileSync(path, bytes);
    assert.equal(loadSafetensors(path).tensors.a!.toArray(), [1, 2, 3]);
  });
});

/** A header listing `n` zero-length tensors, optionally with the last entry replaced. */
function manyEmpty(n: number, last?: string): string {
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(`"t${i}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`);
  if (last !== undefined) parts[n - 1] = last;
  return `{${parts.join(',')}}`;
}

test('a header listing 100k zero-length tensors validates in one pass; a bad entry at its end is found', () => {
  const n = 100_000;
  withDir((dir) => {
    const path = join(dir, 'many.safetensors');
    writeFileSync(path, prefixAndHeader(manyEmpty(n)));
    const info = inspectSafetensors(path).tensors;
    assert.is(info.length, n);
    assert.equal(info[n - 1], { name: `t${n - 1}`, dtype: 'F32', shape: [0], begin: 0, end: 0 });
  });
  const badDtype = prefixAndHeader(manyEmpty(n, `"t${n - 1}":{"dtype":"F8","shape":[0],"data_offsets":[0,0]}`));
  rejectsWith(() => parseSafetensors(badDtype), new RegExp(`^tensor "t${n - 1}": unsupported dtype "F8"`));
  // the same at a smaller scale for the other faults a long header can end with
  const m = 20_000;
  const dup = prefixAndHeader(manyEmpty(m, `"t0":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`));
  rejectsWith(() => parseSafetensors(dup), /^header has the key "t0" more than once/);
  const broken = prefixAndHeader(manyEmpty(m).slice(0, -1));
  rejectsWith(() => parseSafetensors(broken), /^header is not valid JSON: expected ',' or '\}' in an object, found end of text/);
  const { tensors } = parseSafetensors(prefixAndHeader(manyEmpty(m)));
  assert.is(Object.keys(tensors).length, m);
});

test('deeply nested values are refused with a SafetensorsError, not a stack overflow', () => {
  const deep = `{"__metadata__":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
  rejectsWith(() => parseSafetensors(prefixAndHeader(deep)), /nests values deeper than 64 levels/);
});


/** The header reader's verdict on a text: 'json' when it is refused as invalid JSON, else 'ok'. */
function verdict(text: string): 'json' | 'ok' {
  try {
    parseSafetensors(prefixAndHeader(text));
  } catch (err) {
    assert.instance(err, SafetensorsError);
    return /^header is not valid JSON/.test((err as Error).message) ? 'json' : 'ok';
  }
  return 'ok';
}

test('the streaming header reader accepts exactly the texts JSON.parse accepts (differential, fast-check)', () => {
  const edit = fc.tuple(fc.nat(), fc.nat({ max: 3 }), fc.string({ unit: fc.constantFrom(...'{}[]",:0123456789-+.eE \\u\ttrufalsn'), maxLength: 3 }));
  fc.assert(
    fc.property(fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 3 })), fc.array(edit, { maxLength: 3 }), (obj, edits) => {
      let text = JSON.stringify(obj);
      for (const [at, del, ins] of edits) {
        const k = 1 + (at % Math.max(1, text.length - 1)); // keep the leading '{'
        text = text.slice(0, k) + ins + text.slice(k + del);
      }
      let parses = true;
      try {
        JSON.parse(text);
      } catch {
        parses = false;
      }
      // padding spaces are legal JSON whitespace, so the framed text parses iff the text does
      assert.is(verdict(text), parses ? 'ok' : 'json', text);
    }),
    { numRuns: 1500, seed: 42 },
  );
});

test.run();
