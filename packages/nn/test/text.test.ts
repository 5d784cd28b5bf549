import * as fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng } from '@tsgrad/tensor';
import { CharTokenizer, CORPORA, DataLoader, nextTokenBatches, splitTokens, TextDataset } from '../src/data/index.ts';
import { loadCorpus } from '../src/node.ts';

test('corpora load offline, are sizeable English text, and are cached', () => {
  const moby = loadCorpus('moby-dick');
  assert.ok(moby.length > 1_000_000, `moby-dick has ${moby.length} characters`);
  assert.ok(moby.startsWith('CHAPTER 1. Loomings.'));
  assert.match(moby, /Call me Ishmael\./);
  assert.is(loadCorpus('moby-dick'), moby);
  const f = loadCorpus('female-first-names').split('\n').filter(Boolean);
  const m = loadCorpus('male-first-names').split('\n').filter(Boolean);
  assert.is(f.length, 4951);
  assert.is(m.length, 3898);
  const both = loadCorpus('first-names').split('\n').filter(Boolean);
  assert.is(both.length, new Set([...f, ...m]).size);
  assert.equal(both, [...both].sort());
  assert.ok(loadCorpus('first-names').endsWith('\n'));
  assert.equal(Object.keys(CORPORA).sort(), ['female-first-names', 'first-names', 'male-first-names', 'moby-dick']);
  assert.throws(() => loadCorpus('nope' as 'moby-dick'), /unknown corpus 'nope'/);
});

test('CharTokenizer: encode/decode round trip on random text (fast-check)', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 }), (vocabText, extra) => {
      const text = vocabText + extra;
      const tok = CharTokenizer.fromText(text);
      const ids = tok.encode(text);
      assert.is(ids.length, [...text].length);
      assert.is(tok.decode(ids), text);
      for (const id of ids) assert.ok(id >= 0 && id < tok.vocabSize);
      const again = CharTokenizer.fromJSON(JSON.parse(JSON.stringify(tok)));
      assert.equal(Array.from(again.encode(text)), Array.from(ids));
    }),
    { numRuns: 200 },
  );
});

test('CharTokenizer: code-point vocab, sorted ids, unknown-character policies', () => {
  const tok = new CharTokenizer('abc\n');
  assert.equal(Array.from(tok.encode('cab\n')), [3, 1, 2, 0]);
  assert.is(CharTokenizer.fromText('hello').vocabSize, 4);
  assert.is(CharTokenizer.fromText('a😀').vocabSize, 2);
  assert.throws(() => tok.encode('abz'), /character "z" \(U\+007A\) at position 2 is not in the vocabulary of 4/);
  assert.equal(Array.from(new CharTokenizer('abc', { unknown: 'skip' }).encode('axbyc')), [0, 1, 2]);
  const rep = new CharTokenizer('ab', { unknown: 'replace' });
  assert.is(rep.vocabSize, 3);
  assert.is(rep.decode(rep.encode('a?b')), 'a\uFFFDb');
  assert.is(new CharTokenizer('ab_', { unknown: 'replace', unkChar: '_' }).vocabSize, 3);
  assert.throws(() => tok.decode([4]), /id 4 at position 0 is outside the vocabulary of 4/);
  const names = CharTokenizer.fromText(loadCorpus('first-names'));
  assert.is(names.vocabSize, 54); // '\n', '-', A-Z, a-z
  const moby = loadCorpus('moby-dick');
  const mt = CharTokenizer.fromText(moby);
  assert.is(mt.decode(mt.encode(moby.slice(0, 5000))), moby.slice(0, 5000));
});

test('TextDataset: shifted pairs, shapes, seeded sampling', () => {
  const tokens = Int32Array.from({ length: 20 }, (_, i) => i);
  const ds = new TextDataset(tokens, 5);
  assert.is(ds.length, 15);
  const [x, y] = ds.get(3);
  assert.equal(x.toArray(), [3, 4, 5, 6, 7]);
  assert.equal(y.toArray(), [4, 5, 6, 7, 8]);
  assert.is(x.dtype, 'int32');
  const [xb, yb] = ds.sample(8, new Rng(0));
  assert.equal([...xb.shape], [8, 5]);
  assert.equal([...yb.shape], [8, 5]);
  const xs = xb.toTyped();
  const ys = yb.toTyped();
  for (let i = 0; i < xs.length; i++) assert.is(ys[i], xs[i]! + 1);
  assert.equal(Array.from(ds.sample(8, new Rng(0))[0].toTyped()), Array.from(xs));
  assert.throws(() => ds.get(15), /out of range/);
  assert.throws(() => new TextDataset(tokens, 20), /too few/);
  // last window reaches the last token
  assert.equal(ds.get(14)[1].toArray(), [15, 16, 17, 18, 19]);
  // the DataLoader batches it through getBatch
  const [first] = [...new DataLoader(ds, { batchSize: 4, shuffle: true, seed: 1 })];
  assert.equal([...first![0].shape], [4, 5]);
});

test('nextTokenBatches: endless, deterministic per seed; splitTokens is contiguous', () => {
  const tok = CharTokenizer.fromText(loadCorpus('female-first-names'));
  const ids = tok.encode(loadCorpus('female-first-names'));
  const a = nextTokenBatches(ids, { contextLength: 8, batchSize: 4, seed: 5 });
  const b = nextTokenBatches(ids, { contextLength: 8, batchSize: 4, seed: 5 });
  const c = nextTokenBatches(ids, { contextLength: 8, batchSize: 4, seed: 6 });
  for (let step = 0; step < 3; step++) {
    const [xa, ya] = a.next().value;
    const [xb] = b.next().value;
    const [xc] = c.next().value;
    assert.equal([...xa.shape], [4, 8]);
    assert.equal(Array.from(xa.toTyped()), Array.from(xb.toTyped()));
    assert.not.equal(Array.from(xa.toTyped()), Array.from(xc.toTyped()));
    assert.equal(Array.from(xa.toTyped()).slice(1, 8), Array.from(ya.toTyped()).slice(0, 7));
  }
  const { train, val } = splitTokens(ids, 0.9);
  assert.is(train.length + val.length, ids.length);
  assert.is(train.length, Math.round(ids.length * 0.9));
  assert.is(val[0], ids[train.length]);
});

test.run();
