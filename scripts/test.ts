/**
 * Runs every package's uvu suite in its own process and ends with one line
 * `N passed, N failed` summed over all packages (the line CI reads).
 * Usage: tsx scripts/test.ts [package ...]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const wanted = process.argv.slice(2);
// every packages/<name>/test, plus repro/test (the @tsgrad/repro workspace package), docs/test (README
// snippets) and playground/test (its *.test.ts: the browser entries bundle without Node built-ins;
// the Chromium run itself is `pnpm test:browser`)
const suites = [
  ...readdirSync(join(root, 'packages')).map((p) => ({ name: p, dir: join('packages', p, 'test') })),
  { name: 'repro', dir: join('repro', 'test') },
  { name: 'docs', dir: join('docs', 'test') },
  { name: 'playground', dir: join('playground', 'test') },
].filter((s) => existsSync(join(root, s.dir)) && (wanted.length === 0 || wanted.includes(s.name)));

let passed = 0;
let failed = 0;
let skipped = 0;
const failures: string[] = [];
for (const { name: pkg, dir } of suites) {
  const started = Date.now();
  const run = spawnSync(process.execPath, [join(root, 'node_modules/uvu/bin.js'), '-r', 'tsx', dir, '\\.test\\.ts$'], {
    cwd: root,
    env: { ...process.env, NODE_DISABLE_COLORS: '1', FORCE_COLOR: '0' },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const output = `${run.stdout ?? ''}${run.stderr ?? ''}`;
  process.stdout.write(output);
  const count = (label: string) => Number(new RegExp(`${label}:\\s+(\\d+)`).exec(output)?.[1] ?? 0);
  const total = count('Total');
  const ok = count('Passed');
  const skip = count('Skipped');
  passed += ok;
  skipped += skip;
  // a crash before uvu's summary counts as one failure so it cannot go unnoticed
  const bad = run.status !== 0 && total === ok ? 1 : total - ok - skip;
  failed += bad;
  if (bad > 0 || run.status !== 0) failures.push(pkg);
  console.log(`[${pkg}] ${ok} passed, ${bad} failed, ${skip} skipped in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
if (failures.length > 0) console.log(`failing packages: ${failures.join(', ')}`);
console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);
