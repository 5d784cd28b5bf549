/**
 * `pnpm test:pack`: the packages as a user gets them from npm. Builds dist/, `pnpm pack`s
 * every package (pnpm swaps `workspace:*` for the version and applies publishConfig, so the
 * tarballs' exports point at dist/), installs the tarballs with npm into an empty project
 * outside the workspace, type-checks a consumer file against the shipped .d.ts and runs
 * scripts/pack-test.consumer.mjs there with plain Node: train a tiny MLP, EVA-initialised
 * LoRA, weight matching.
 *
 *   pnpm test:pack              build, pack, install, run
 *   pnpm test:pack --keep       keep the temp project (its path is printed)
 *   pnpm test:pack --no-build   reuse the dist/ folders already built
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildPackage, PACKAGES } from './build.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const keep = process.argv.includes('--keep');
const t0 = performance.now();
const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(1)} s`;

function run(cmd: string, args: string[], cwd: string): string {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`pack test: \`${cmd} ${args.join(' ')}\` failed in ${cwd}\n${err.stdout ?? ''}${err.stderr ?? err.message}`);
  }
}

if (!process.argv.includes('--no-build')) {
  for (const name of PACKAGES) buildPackage(name);
  console.log(`[${elapsed()}] built ${PACKAGES.length} packages`);
}

const work = mkdtempSync(join(tmpdir(), 'tsgrad-pack-'));
const tarballs = join(work, 'tarballs');
const project = join(work, 'project');
mkdirSync(tarballs);
mkdirSync(project);
try {
  const deps: Record<string, string> = {};
  for (const name of PACKAGES) {
    const dir = join(root, 'packages', name);
    if (!existsSync(join(dir, 'dist', 'index.js'))) throw new Error(`pack test: packages/${name}/dist is missing; run without --no-build`);
    const before = new Set(readdirSync(tarballs));
    run('pnpm', ['pack', '--pack-destination', tarballs], dir);
    const file = readdirSync(tarballs).find((f) => !before.has(f));
    if (!file) throw new Error(`pack test: pnpm pack wrote no tarball for @tsgrad/${name}`);
    const listing = run('tar', ['-tzf', join(tarballs, file)], tarballs).split('\n');
    for (const needed of ['package/dist/index.js', 'package/dist/index.d.ts', 'package/LICENSE', 'package/README.md']) {
      if (!listing.includes(needed)) throw new Error(`pack test: ${file} lacks ${needed}`);
    }
    if (listing.some((f) => f.startsWith('package/test/') || f.startsWith('package/node_modules/'))) throw new Error(`pack test: ${file} ships tests or node_modules`);
    const manifest = JSON.parse(run('tar', ['-xzOf', join(tarballs, file), 'package/package.json'], tarballs)) as Record<string, unknown>;
    const text = JSON.stringify(manifest);
    if (text.includes('workspace:') || text.includes('./src/index.ts')) throw new Error(`pack test: ${file}'s package.json still says workspace: or ./src: ${text}`);
    deps[`@tsgrad/${name}`] = `file:../tarballs/${file}`;
  }
  console.log(`[${elapsed()}] packed: ${Object.values(deps).map((d) => d.slice('file:../tarballs/'.length)).join(', ')}`);

  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'tsgrad-pack-test', private: true, type: 'module', dependencies: deps }, null, 2));
  // --ignore-scripts: gpu.js pulls in headless-gl, whose native build needs X11 headers; the
  // workspace skips it the same way (pnpm-workspace.yaml allowBuilds), and no code here uses it
  run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], project);
  console.log(`[${elapsed()}] npm installed the tarballs into ${project}`);

  copyFileSync(join(root, 'scripts', 'pack-test.types.ts'), join(project, 'consumer.ts'));
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: [] }, files: ['consumer.ts'] }),
  );
  run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], project);
  console.log(`[${elapsed()}] consumer.ts type-checks against the shipped .d.ts`);

  copyFileSync(join(root, 'scripts', 'pack-test.consumer.mjs'), join(project, 'consumer.mjs'));
  process.stdout.write(run(process.execPath, ['consumer.mjs'], project));
  console.log(`[${elapsed()}] pack test passed`);
} finally {
  if (keep) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
