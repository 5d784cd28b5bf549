import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatMeanStd, markdownTable, meanStd, meanStdCurves, runInfo, timestamp, verdictTally, writeJson, writeReport } from '../lib/results.ts';

test('meanStd uses the sample standard deviation', () => {
  assert.equal(meanStd([1, 2, 3]), { mean: 2, std: 1, n: 3 });
  assert.equal(meanStd([5]), { mean: 5, std: 0, n: 1 });
  assert.ok(Number.isNaN(meanStd([]).mean));
  assert.is(formatMeanStd([1, 2, 3], 2), '2.00 ± 1.00');
  const c = meanStdCurves([[1, 2], [3, 4]]);
  assert.equal(c.mean, [2, 3]);
  assert.equal(c.lower.map((v) => +v.toFixed(6)), [2 - Math.SQRT2, 3 - Math.SQRT2].map((v) => +v.toFixed(6)));
  assert.throws(() => meanStdCurves([[1], [1, 2]]), /lengths 1, 2/);
});

test('timestamp is sortable and file-name safe', () => {
  assert.is(timestamp(new Date(Date.UTC(2026, 10, 28, 23, 45, 12, 345))), '2026-11-28T23-45-12Z');
});

test('writeJson (typed arrays, non-finite numbers, folders) and writeReport', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsgrad-results-'));
  try {
    writeJson(join(dir, 'a', 'metrics.json'), { acc: Float32Array.from([0.5, 1]), loss: NaN, big: Infinity, n: 3 });
    assert.equal(JSON.parse(readFileSync(join(dir, 'a', 'metrics.json'), 'utf8')), { acc: [0.5, 1], loss: 'NaN', big: 'Infinity', n: 3 });
    const path = writeReport(dir, '# Title');
    assert.is(readFileSync(path, 'utf8'), '# Title\n');
    assert.is(markdownTable(['a', 'b'], [[1, 'x']]), '| a | b |\n| --- | --- |\n| 1 | x |');
    const info = runInfo();
    assert.match(info.node, /^v\d+/);
    assert.ok(info.cores >= 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('verdictTally counts held, partly, did not and not testable, and skips folders without verdicts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsgrad-tally-'));
  try {
    assert.is(verdictTally('x', dir), null, 'no metrics.json');
    writeJson(join(dir, 'metrics.json'), { results: [] });
    assert.is(verdictTally('demo', dir), null, 'no verdicts');
    writeJson(join(dir, 'metrics.json'), { verdicts: [{ held: true }, { held: 'partly' }, { held: false }, { held: true }, { held: null }] });
    assert.is(verdictTally('wm', dir), 'wm 2 held, 1 partly, 1 did not, 1 not testable (of 5)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
