/**
 * Issue 11 item 1: user code runs from anywhere in the repository, and scratch files in
 * sandbox/ never break the strict type check that `pnpm test` runs.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = join(import.meta.dirname, '..', '..');
const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const unique = `${process.pid}-${Date.now()}`;

test('a scratch file at the repository root imports all five packages by name', () => {
  const file = join(root, `scratch-${unique}.ts`);
  writeFileSync(
    file,
    [
      "import { NDArray } from '@tsgrad/tensor';",
      "import { tensor } from '@tsgrad/autograd';",
      "import { Linear } from '@tsgrad/nn';",
      "import { applyLora } from '@tsgrad/eva';",
      "import { interpolate } from '@tsgrad/wm';",
      'const x = tensor([[1, 2], [3, 4]], { requiresGrad: true });',
      'x.square().sum().backward();',
      "console.log(JSON.stringify(x.grad!.toArray()), typeof NDArray, typeof Linear, typeof applyLora, typeof interpolate);",
    ].join('\n'),
  );
  try {
    const r = spawnSync(process.execPath, [tsx, file], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    assert.is(r.status, 0, r.stderr);
    assert.is(r.stdout.trim(), '[[2,4],[6,8]] function function function function');
  } finally {
    rmSync(file, { force: true });
  }
});

test('sandbox/ is git-ignored and outside the strict type check', () => {
  const dir = join(root, 'sandbox');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `unused-${unique}.ts`);
  writeFileSync(file, "import { tensor } from '@tsgrad/autograd';\nconst unused = tensor([1]);\n");
  try {
    // the project file list is what `pnpm test` type-checks; the scratch file must not be on it
    const list = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json'), '--listFilesOnly'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    assert.is(list.status, 0, list.stdout + list.stderr);
    assert.ok(list.stdout.includes('packages/autograd/src/tensor.ts'), 'the list names the project files');
    assert.not.ok(list.stdout.includes('sandbox/'), 'no sandbox file is type-checked');
    const ignored = spawnSync('git', ['check-ignore', '-q', file], { cwd: root });
    if (ignored.error === undefined && ignored.status !== 128) assert.is(ignored.status, 0, 'git ignores scratch files');
    assert.match(readFileSync(join(root, '.gitignore'), 'utf8'), /^runs\/$/m, 'runs/ from pnpm example gpt is ignored');
  } finally {
    rmSync(file, { force: true });
  }
});

test.run();
