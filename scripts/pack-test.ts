/**
 * `pnpm test:pack`: the packages as a user gets them from npm. Builds dist/, `pnpm pack`s
 * every package (pnpm swaps `workspace:*` for the version and applies publishConfig, so the
 * tarballs' exports point at dist/), installs the tarballs with npm into an empty project
 * outside the workspace, type-checks a consumer file against the shipped .d.ts and runs
 * scripts/pack-test.consumer.mjs there with plain Node: train a tiny MLP, EVA-initialised
 * LoRA, weight matching. Then the same packages bundled for a browser: esbuild (platform browser,
 * no stubs) bundles scripts/pack-test.browser.mjs from the installed tarballs, which must reach
 * no Node built-in, and headless Chromium runs it where there is one (CHROMIUM or
 * /usr/bin/chromium; skipped with a notice otherwise).
 *
 *   pnpm test:pack              build, pack, install, run
 *   pnpm test:pack --keep       keep the temp project (its path is printed)
 *   pnpm test:pack --no-build   reuse the dist/ folders already built
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
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
    // nn and eva also ship their Node-only entry and the main entry under the "node" condition
    const nodeEntries = name === 'nn' || name === 'eva' ? ['package/dist/node.js', 'package/dist/node.d.ts', 'package/dist/index.node.js', 'package/dist/index.node.d.ts'] : [];
    for (const needed of ['package/dist/index.js', 'package/dist/index.d.ts', 'package/LICENSE', 'package/README.md', ...nodeEntries]) {
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
  console.log(`[${elapsed()}] the Node consumer passed`);
  await browserConsumer(project);
  console.log(`[${elapsed()}] pack test passed`);
} finally {
  if (keep) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

/** The part of esbuild used here (it is the playground's dependency, not the root's). */
type Esbuild = { build(options: Record<string, unknown>): Promise<{ metafile: { inputs: Record<string, unknown> } }> };
/** The part of puppeteer-core used here (also the playground's). */
type Puppeteer = {
  launch(options: Record<string, unknown>): Promise<{
    newPage(): Promise<{ goto(url: string): Promise<unknown>; waitForFunction(fn: () => boolean, options: object): Promise<unknown>; evaluate<T>(fn: () => T): Promise<T> }>;
    version(): Promise<string>;
    close(): Promise<void>;
  }>;
};

/**
 * Bundles scripts/pack-test.browser.mjs from the installed tarballs for a browser and runs it in
 * headless Chromium when one is installed. esbuild and puppeteer-core come from the playground's
 * dependencies.
 */
async function browserConsumer(project: string): Promise<void> {
  const fromPlayground = createRequire(join(root, 'playground', 'package.json'));
  const esbuild = fromPlayground('esbuild') as Esbuild;
  const web = join(project, 'web');
  mkdirSync(web);
  copyFileSync(join(root, 'scripts', 'pack-test.browser.mjs'), join(project, 'browser.mjs'));
  // platform browser and no stubs: a `node:` import anywhere in the graph fails the build, naming the file
  const result = await esbuild.build({ entryPoints: [join(project, 'browser.mjs')], bundle: true, platform: 'browser', format: 'esm', target: 'es2022', outfile: join(web, 'browser.js'), metafile: true, logLevel: 'silent' });
  const fromDist = Object.keys(result.metafile.inputs).filter((f) => /node_modules[\\/]@tsgrad[\\/][^\\/]+[\\/]dist[\\/]/.test(f));
  if (fromDist.length === 0) throw new Error('pack test: the browser bundle took nothing from the installed dist/ folders');
  console.log(`[${elapsed()}] bundled the browser consumer (${fromDist.length} modules from the tarballs' dist/, no Node built-ins)`);
  const browserPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(browserPath)) {
    console.log(`[${elapsed()}] no browser at ${browserPath}: the browser consumer was bundled but not run`);
    return;
  }
  writeFileSync(join(web, 'index.html'), '<!doctype html><meta charset="utf-8"><script type="module" src="browser.js"></script>');
  const puppeteer = fromPlayground('puppeteer-core') as Puppeteer;
  const { serveStatic } = await import('../playground/serve.ts');
  const server = await serveStatic(web, 0);
  const browser = await puppeteer.launch({ executablePath: browserPath, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => (globalThis as { packTest?: unknown }).packTest !== undefined, { timeout: 300_000, polling: 250 });
    const r = (await page.evaluate(() => (globalThis as { packTest?: unknown }).packTest)) as { ok: boolean; lines?: string[]; error?: string };
    if (!r.ok) throw new Error(`pack test: the browser consumer failed in Chromium: ${r.error}`);
    for (const line of r.lines ?? []) console.log(`  chromium ${line}`);
    console.log(`[${elapsed()}] the browser consumer passed in Chromium ${await browser.version()}`);
  } finally {
    await browser.close();
    server.close();
  }
}
