import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PhasePlan } from '../lib/phases.ts';

function fakeClock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

test('PhasePlan: overall ETA from the cost per unit of weight', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'phases-'));
  const clock = fakeClock();
  const lines: string[] = [];
  const plan = new PhasePlan({ outDir: dir, resume: false, settings: { a: 1 }, now: clock.now, log: (l) => lines.push(l) });
  plan.expect('a', 1);
  plan.expect('b', 3);
  assert.ok(Number.isNaN(plan.etaSeconds()));
  const r = await plan.run('a', () => {
    clock.advance(2000);
    return { x: 1 };
  });
  assert.equal(r, { x: 1 });
  assert.is(plan.etaSeconds(), 6); // 2 s per unit, 3 units left
  assert.match(lines.at(-1)!, /1\/2 done \(a\); overall ETA 6s/);
  rmSync(dir, { recursive: true });
});

test('PhasePlan: --resume reuses stored phases, recomputes when the settings differ', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'phases-'));
  let calls = 0;
  const compute = () => ({ calls: ++calls });
  const quiet = { log: () => {} };
  await new PhasePlan({ outDir: dir, resume: false, settings: { s: 1 }, ...quiet }).run('task/seed0', compute);
  assert.is(calls, 1);
  assert.ok(readFileSync(join(dir, 'phases', 'task_seed0.json'), 'utf8').includes('"calls": 1'));
  const resumed = new PhasePlan({ outDir: dir, resume: true, settings: { s: 1 }, ...quiet });
  assert.equal(await resumed.run('task/seed0', compute), { calls: 1 });
  assert.is(resumed.resumed, 1);
  assert.is(calls, 1);
  // other settings: the stored phase is not reused
  assert.equal(await new PhasePlan({ outDir: dir, resume: true, settings: { s: 2 }, ...quiet }).run('task/seed0', compute), { calls: 2 });
  // without --resume it always recomputes
  assert.equal(await new PhasePlan({ outDir: dir, resume: false, settings: { s: 2 }, ...quiet }).run('task/seed0', compute), { calls: 3 });
  assert.throws(() => new PhasePlan({ outDir: dir, resume: false, settings: {}, ...quiet }).expect('x', 0), /positive/);
  rmSync(dir, { recursive: true });
});

test.run();
