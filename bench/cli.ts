/**
 * `pnpm bench [options]`: installs the benchmark's own dependencies on first use, then runs
 * bench/run.ts with the options (see there). `pnpm bench --check` type-checks bench/ instead.
 *
 * Why: the peer libraries measured against (TF.js, jax-js, js-pytorch: about 390 MB) are not
 * part of the repository's default `pnpm install`. bench/ is a pnpm workspace of its own with
 * its own lockfile (bench/pnpm-lock.yaml), installed here with `--frozen-lockfile`, so every
 * machine benchmarks the same versions. @tsgrad/* are linked from ../packages.
 *
 * `--check --if-installed` (run by `pnpm test` and `pnpm typecheck`) type-checks bench/ only
 * when its dependencies are already there, and says so when it skips.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const here = import.meta.dirname;
const args = process.argv.slice(2);
const check = args.includes('--check');
const ifInstalled = args.includes('--if-installed');
const require = createRequire(import.meta.url);

/** Whether bench/node_modules holds exactly what bench/pnpm-lock.yaml describes (pnpm keeps a copy of the lockfile it installed). */
function installed(): boolean {
  const current = join(here, 'node_modules', '.pnpm', 'lock.yaml');
  return existsSync(current) && readFileSync(current, 'utf8') === readFileSync(join(here, 'pnpm-lock.yaml'), 'utf8');
}

/** Runs a command in the foreground; exits with its status if it fails. */
function run(command: string, argv: string[], cwd: string): void {
  const r = spawnSync(command, argv, { cwd, stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.error) {
    console.error(`bench: cannot run ${command}: ${r.error.message}`);
    process.exit(1);
  }
  if (r.status !== 0) process.exit(r.status ?? 1);
}

if (!installed()) {
  if (check && ifInstalled) {
    console.log('bench: type check skipped (its dependencies are not installed; `pnpm bench --check` installs and checks them)');
    process.exit(0);
  }
  console.error('bench: installing the benchmark dependencies (TF.js, jax-js, js-pytorch) into bench/node_modules, once');
  run('pnpm', ['install', '--frozen-lockfile'], here);
}

if (check) {
  run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(here, 'tsconfig.json'), '--noEmit'], join(here, '..'));
} else {
  run(process.execPath, [require.resolve('tsx/cli'), join(here, 'run.ts'), ...args], join(here, '..'));
}
