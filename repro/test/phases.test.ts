import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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

const child = fileURLToPath(new URL('./fixtures/phase-child.ts', import.meta.url));
const compute = (key: string) => ({ key, square: key.length ** 2, pid: 'any' });

test('PhasePlan.runParallel: child processes give what running here gives, in key order', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'phases-'));
  const settings = { s: 7 };
  const keys = ['a', 'bb/x', 'ccc', 'dddd'];
  const here = await new PhasePlan({ outDir: dir, resume: false, settings, log: () => {} }).runParallel(keys, 1, compute, () => []);
  rmSync(join(dir, 'phases'), { recursive: true });
  const plan = new PhasePlan({ outDir: dir, resume: false, settings, log: () => {} });
  const spawned: string[] = [];
  const viaChildren = await plan.runParallel(keys, 2, () => assert.unreachable('computed in the parent'), (k) => (spawned.push(k), [child, dir, JSON.stringify(settings), k]));
  assert.equal(viaChildren, here);
  assert.equal(spawned.sort(), [...keys].sort());
  // resuming, stored phases are neither recomputed nor respawned
  const resumed = new PhasePlan({ outDir: dir, resume: true, settings, log: () => {} });
  const again = await resumed.runParallel(keys, 2, () => assert.unreachable('recomputed'), () => {
    assert.unreachable('respawned');
    return [];
  });
  assert.equal(again, here);
  assert.is(resumed.resumed, keys.length);
  rmSync(dir, { recursive: true });
});

test('PhasePlan.runParallel: a failing child rejects, naming the phase and its exit status', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'phases-'));
  const plan = new PhasePlan({ outDir: dir, resume: false, settings: {}, log: () => {} });
  try {
    await plan.runParallel(['ok', 'fail-me'], 2, compute, (k) => [child, dir, '{}', k]);
    assert.unreachable('should have rejected');
  } catch (e) {
    assert.match((e as Error).message, /phase 'fail-me' failed in its child process \(exit 3\)/);
  }
  rmSync(dir, { recursive: true });
});

test.run();
