import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { IdxError, parseIdx, parseIdxImages, parseIdxLabels } from '../src/data/index.ts';
import { loadMnistOfficial, mnistOfficialRaw } from '../src/node.ts';

/** An IDX file of unsigned bytes: magic 0x0000 08 <dims.length>, big-endian sizes, then `body`. */
function idx(dims: number[], body: ArrayLike<number>, magic = 0x0800 + dims.length): Uint8Array {
  const buf = new Uint8Array(4 + 4 * dims.length + body.length);
  const view = new DataView(buf.buffer);
  view.setUint32(0, magic, false);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  buf.set(Array.from(body), 4 + 4 * dims.length);
  return buf;
}

test('parseIdx: round-trips any sizes and bytes (property)', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 3 }), fc.integer({ min: 0, max: 1000 }), (dims, seed) => {
      const n = dims.reduce((a, b) => a * b, 1);
      const body = Array.from({ length: n }, (_, i) => (seed + 31 * i) % 256);
      const r = parseIdx(idx(dims, body), dims.length);
      assert.equal(r.dims, dims);
      assert.equal(Array.from(r.data), body);
    }),
    { numRuns: 60 },
  );
});

test('parseIdx: a truncated or padded file is rejected with the byte counts (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: -5, max: 5 }).filter((d) => d !== 0), (a, b, delta) => {
      const good = idx([a, 2, b], new Array(2 * a * b).fill(7));
      const bad = delta < 0 ? good.subarray(0, Math.max(16, good.length + delta)) : Uint8Array.from([...good, ...new Array(delta).fill(0)]);
      if (bad.length === good.length) return;
      assert.throws(() => parseIdxImages(bad, 'x'), (e: Error) => e instanceof IdxError && e.message.includes(`the file has ${bad.length}`));
    }),
    { numRuns: 60 },
  );
});

test('malformed headers: each rejected with its reason', () => {
  const reject = (buf: Uint8Array, dims: number, pattern: RegExp) =>
    assert.throws(() => parseIdx(buf, dims, 'f'), (e: Error) => e instanceof IdxError && pattern.test(e.message), `expected ${pattern}`);
  reject(Uint8Array.from([0, 0, 8]), 1, /too short for the 4-byte magic/);
  reject(idx([2], [1, 2], 0x01000801), 1, /0x01000801, expected 0x00000801 \(the first two bytes must be zero\)/);
  reject(idx([2], [1, 2], 0x00000d01), 1, /element type 0xd is not unsigned byte/);
  reject(idx([1, 1, 2], [1, 2]), 1, /magic number 0x00000803, expected 0x00000801 \(it has 3 dimensions, expected 1\)/);
  reject(Uint8Array.from([0, 0, 8, 3, 0, 0, 0, 1, 0, 0]), 3, /too short for the 16-byte header/);
  // a labels file handed to the image reader, and the other way round
  assert.throws(() => parseIdxImages(idx([3], [1, 2, 3]), 'lbl'), /lbl: magic number 0x00000801, expected 0x00000803/);
  assert.throws(() => parseIdxLabels(idx([1, 1, 1], [1]), 'img'), /img: magic number 0x00000803, expected 0x00000801/);
  assert.throws(() => parseIdxLabels(idx([3], [1, 10, 2]), 'lbl'), /label 10 at index 1 is not below 10/);
  assert.throws(() => parseIdxImages(idx([4, 0, 28], []), 'img'), /images of 0 x 28 pixels/);
});

test('parseIdxImages / parseIdxLabels read a tiny valid pair', () => {
  const img = parseIdxImages(idx([2, 1, 3], [0, 1, 2, 253, 254, 255]));
  assert.equal([img.count, img.rows, img.cols], [2, 1, 3]);
  assert.equal(Array.from(img.pixels), [0, 1, 2, 253, 254, 255]);
  assert.equal(Array.from(parseIdxLabels(idx([2], [9, 0]))), [9, 0]);
});

test('the real official files: 60,000 / 10,000, the known label histograms, bytes 0..255', () => {
  const { train, test: te } = mnistOfficialRaw();
  assert.is(train.labels.length, 60000);
  assert.is(te.labels.length, 10000);
  assert.is(train.pixels.length, 60000 * 784);
  const hist = (l: Uint8Array) => l.reduce((h, v) => (h[v]!++, h), new Array<number>(10).fill(0));
  // The published per-digit counts of LeCun's files.
  assert.equal(hist(train.labels), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
  assert.equal(hist(te.labels), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
  assert.equal(Array.from(te.labels.subarray(0, 5)), [7, 2, 1, 0, 4]);
  let max = 0;
  for (let i = 0; i < 784 * 100; i++) max = Math.max(max, train.pixels[i]!);
  assert.is(max, 255);
});

test('loadMnistOfficial: shapes, [0, 1] floats, seeded subsets and digit filter, dataset info', () => {
  const full = loadMnistOfficial({ seed: 0 });
  assert.is(full.dataset.name, 'mnist-official');
  assert.match(full.dataset.test, /10000 digits from t10k/);
  assert.equal([...full.train.images.shape], [60000, 784]);
  assert.equal([...full.test.images.shape], [10000, 784]);
  const raw = mnistOfficialRaw();
  const i = 17;
  const id = full.test.ids[i]!;
  assert.is(full.test.labels.data[i], raw.test.labels[id]);
  const px = Array.from(full.test.images.data.subarray(i * 784, i * 784 + 784));
  assert.equal(px, Array.from(raw.test.pixels.subarray(id * 784, id * 784 + 784), (b) => Math.fround(b / 255)));

  const a = loadMnistOfficial({ seed: 3, trainSize: 500, testSize: 200, digits: [1, 7] });
  const b = loadMnistOfficial({ seed: 3, trainSize: 500, testSize: 200, digits: [1, 7] });
  assert.equal(Array.from(a.train.ids), Array.from(b.train.ids));
  assert.is(a.train.labels.shape[0], 500);
  for (const l of a.test.labels.data) assert.ok(l === 1 || l === 7);
  assert.is(new Set(a.train.ids).size, 500);
  assert.match(a.dataset.train, /500 digits of digits \[1, 7\]/);
  assert.not.equal(Array.from(loadMnistOfficial({ seed: 4, trainSize: 500 }).train.ids), Array.from(a.train.ids));
  assert.throws(() => loadMnistOfficial({ trainSize: 60001 }), /trainSize must be an integer in \[0, 60000\]/);
  assert.throws(() => loadMnistOfficial({ digits: [11] }), /digits/);
});

test('loadMnistOfficial: missing files fall back to the 10k split and say so; fallback: false throws; bad files throw', () => {
  const fb = loadMnistOfficial({ dir: '/nonexistent-mnist-dir' });
  assert.is(fb.dataset.name, 'mnist-10k');
  assert.match(fb.dataset.fallbackReason ?? '', /not found/);
  assert.equal([...fb.train.images.shape], [8000, 784]);
  assert.throws(() => loadMnistOfficial({ dir: '/nonexistent-mnist-dir', fallback: false }), /ENOENT/);
  // a folder whose training images are truncated: an error, never a silent fallback
  const dir = mkdtempSync(join(tmpdir(), 'idx-'));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'train-images-idx3-ubyte'), idx([60000, 28, 28], new Array(10).fill(0)));
  assert.throws(() => loadMnistOfficial({ dir }), (e: Error) => e instanceof IdxError && /train-images-idx3-ubyte: dimensions \[60000, 28, 28\]/.test(e.message));
});

test.run();
