import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { formatDuration } from '../src/index.ts';

/** Seconds that a formatted duration stands for, and its resolution. */
function parse(text: string): [number, number] {
  const h = /^(\d+)h(\d\d)m$/.exec(text);
  if (h) return [3600 * Number(h[1]) + 60 * Number(h[2]), 60];
  const m = /^(\d+)m(\d\d)s$/.exec(text);
  if (m) return [60 * Number(m[1]) + Number(m[2]), 1];
  const s = /^(\d+)s$/.exec(text);
  if (s) return [Number(s[1]), 1];
  throw new Error(`not a duration: '${text}'`);
}

test('formatDuration: examples, and "?" for what cannot be a duration', () => {
  assert.is(formatDuration(42), '42s');
  assert.is(formatDuration(185), '3m05s');
  assert.is(formatDuration(3720), '1h02m');
  for (const v of [Infinity, NaN, -1]) assert.is(formatDuration(v), '?');
});

test('formatDuration: the text reads back as the rounded seconds, to its resolution (property)', () => {
  fc.assert(
    fc.property(fc.double({ min: 0, max: 1e7, noNaN: true }), (sec) => {
      const [back, resolution] = parse(formatDuration(sec));
      const rounded = Math.round(sec);
      assert.ok(back <= rounded && rounded - back < resolution, `${sec} -> ${formatDuration(sec)}`);
    }),
    { numRuns: 300, seed: 5 },
  );
});

test.run();
