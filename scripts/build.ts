/**
 * `pnpm build`: compiles every package's src/ into ESM JavaScript plus .d.ts in its dist/,
 * in dependency order (each package builds against the declarations the previous ones
 * emitted; see packages/<pkg>/tsconfig.build.json). The workspace itself keeps running
 * from src/: only the packed tarballs point at dist/ (publishConfig in each package.json).
 *
 *   pnpm build            all packages
 *   pnpm build nn wm      only these (their dependencies must be built already)
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Every publishable package, each after the ones it imports. */
export const PACKAGES = ['tensor', 'autograd', 'nn', 'eva', 'wm'] as const;

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

/** Cleans and compiles one package (throws with tsc's output when it fails). */
export function buildPackage(name: string): void {
  const dir = join(root, 'packages', name);
  rmSync(join(dir, 'dist'), { recursive: true, force: true });
  execFileSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.build.json')], { stdio: 'inherit' });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const wanted = process.argv.slice(2);
  for (const name of wanted) {
    if (!(PACKAGES as readonly string[]).includes(name)) throw new Error(`build: unknown package '${name}' (packages: ${PACKAGES.join(', ')})`);
  }
  for (const name of PACKAGES) {
    if (wanted.length > 0 && !wanted.includes(name)) continue;
    const t0 = performance.now();
    buildPackage(name);
    console.log(`built @tsgrad/${name} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
}
