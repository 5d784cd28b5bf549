import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatDuration, Progress } from '../lib/progress.ts';

function fakeStream(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, stream: { isTTY, write: (s: string) => (chunks.push(s), true) } as unknown as NodeJS.WritableStream & { isTTY?: boolean } };
}

test('plain mode (not a TTY): periodic lines with step, metrics, throughput and ETA, then a final line', () => {
  const { chunks, stream } = fakeStream(false);
  let t = 0;
  const p = new Progress(100, { label: 'train', stream, itemsPerStep: 32, itemName: 'ex', plainEveryMs: 5000, now: () => t });
  for (let step = 1; step <= 100; step++) {
    t += 1000; // one step per second
    p.update(step, { loss: 1 / step });
  }
  p.stop();
  p.stop(); // idempotent
  // a line every 5 s of the 100 s run, plus the final one
  assert.is(chunks.length, 21);
  assert.is(chunks[0], '[train] step 5/100 (5%) loss 0.2000 | 1.00 steps/s 32 ex/s | ETA 1m35s\n');
  assert.match(chunks.at(-1)!, /^\[train\] step 100\/100 \(100%\) loss 0\.0100 .* done in 1m40s\n$/);
  assert.is(p.rate, 1);
});

test('integer metrics print as integers (epoch 8, not 8.0000), fractions to 4 decimals', () => {
  const { chunks, stream } = fakeStream(false);
  const p = new Progress(2, { label: 'run', stream, plainEveryMs: 0, now: () => 0 });
  p.update(1, { epoch: 8, loss: 0.25, tiny: 2e-5 });
  p.stop();
  assert.match(chunks[0]!, /epoch 8 loss 0\.2500 tiny 2\.000e-5/);
});

test('tick advances; TTY mode draws a bar and does not print plain lines', () => {
  const { chunks, stream } = fakeStream(true);
  let t = 0;
  const p = new Progress(10, { label: 'bar', stream, tty: true, now: () => t });
  for (let i = 0; i < 10; i++) {
    t += 100;
    p.tick(1, { loss: 0.5 });
  }
  p.stop();
  const out = chunks.join('');
  assert.not.match(out, /\[bar\] step/);
  assert.match(out, /bar \|/);
  assert.match(out, /10\/10/);
  assert.match(out, /loss 0\.5000/);
});

test('formatDuration', () => {
  assert.is(formatDuration(42), '42s');
  assert.is(formatDuration(185), '3m05s');
  assert.is(formatDuration(3720), '1h02m');
  assert.is(formatDuration(Infinity), '?');
});

test.run();
