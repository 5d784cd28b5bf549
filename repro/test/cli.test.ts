import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = join(import.meta.dirname, '..', '..');
const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const cli = (args: string[]) =>
  spawnSync(process.execPath, [tsx, join(root, 'repro', 'cli.ts'), ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });

test('pnpm repro demo --seeds 1 --out DIR writes metrics.json, SVG plots and report.md', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsgrad-cli-'));
  try {
    const r = cli(['demo', '--seeds', '1', '--out', dir]);
    assert.is(r.status, 0, r.stderr);
    for (const f of ['metrics.json', 'loss.svg', 'accuracy.svg', 'report.md']) assert.ok(existsSync(join(dir, f)), f);
    const metrics = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8'));
    assert.equal(metrics.seeds, [0]);
    assert.is(metrics.preset, 'quick');
    assert.ok(metrics.results[0].testAccuracy.at(-1) > 0.7, 'softmax regression learns');
    assert.match(r.stderr, /\[demo seed 0\] step \d+\/\d+/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('unknown experiments and bad options fail with a message', () => {
  const r = cli(['nope']);
  assert.is.not(r.status, 0);
  assert.match(r.stderr, /unknown experiment 'nope'; choose one of: demo.*all/);
  const s = cli(['demo', '--seeds', '0']);
  assert.is.not(s.status, 0);
  assert.match(s.stderr, /positive integer/);
  const p = cli(['demo', '--preset', 'huge']);
  assert.is.not(p.status, 0);
  assert.match(p.stderr, /quick, standard, full|"quick", "standard", "full"/);
  // a preset the experiment does not define yet is refused before anything runs
  const q = cli(['demo', '--preset', 'standard']);
  assert.is.not(q.status, 0);
  assert.match(q.stderr, /no 'standard' preset yet for: demo \(has quick, full\)/);
  const h = cli(['--help']);
  assert.is(h.status, 0);
  assert.match(h.stdout, /demo\s+softmax regression/);
});

test.run();
