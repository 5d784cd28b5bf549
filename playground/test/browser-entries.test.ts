/**
 * Every package's browser entry bundles for a browser with no Node built-in: esbuild (platform
 * browser, no stubs) bundles `@tsgrad/<pkg>` as a page would import it, and the bundle must
 * succeed and contain no `node:` module. File I/O lives behind the Node-only entries
 * (`@tsgrad/nn/node`, `@tsgrad/eva/node`, and the main entries under the "node" export
 * condition); the last test checks that those really do reach Node built-ins, so this check
 * can fail. And a bundle whose identifiers were minified turns the matmul pool off rather than
 * starting workers that cannot run (the playground's own bundle must keep identifiers for its
 * threads). Run by `pnpm test` (scripts/test.ts runs playground/test too).
 */
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = join(import.meta.dirname, '..', '..');

/** The browser entries a page imports. */
const ENTRIES = ['@tsgrad/tensor', '@tsgrad/tensor/gpu', '@tsgrad/autograd', '@tsgrad/nn', '@tsgrad/eva', '@tsgrad/wm'];

/** Bundles `import * as m from spec` for `platform`; the errors (none when it bundled) and the node: inputs. */
async function bundle(spec: string, platform: 'browser' | 'node'): Promise<{ errors: string[]; nodeInputs: string[] }> {
  try {
    const result = await esbuild.build({
      stdin: { contents: `export * from ${JSON.stringify(spec)};`, resolveDir: root, loader: 'ts', sourcefile: 'entry.ts' },
      bundle: true,
      platform,
      format: 'esm',
      target: 'es2022',
      write: false,
      metafile: true,
      // on the node platform built-ins stay imports (listed below); on browser they are errors
      logLevel: 'silent',
    });
    const nodeInputs = Object.values(result.metafile!.inputs).flatMap((i) => i.imports.filter((im) => im.path.startsWith('node:')).map((im) => im.path));
    return { errors: [], nodeInputs };
  } catch (e) {
    const failure = e as { errors?: { text: string; location?: { file: string } | null }[] };
    return { errors: (failure.errors ?? [{ text: String(e) }]).map((x) => `${x.location?.file ?? '?'}: ${x.text}`), nodeInputs: [] };
  }
}

for (const spec of ENTRIES) {
  test(`${spec} bundles for the browser without Node built-ins`, async () => {
    const { errors, nodeInputs } = await bundle(spec, 'browser');
    assert.equal(errors, [], `${spec} reaches Node-only code in a browser bundle:\n${errors.join('\n')}`);
    assert.equal(nodeInputs, []);
  });
}

test('the Node entries do use Node built-ins (so the check above can fail)', async () => {
  for (const spec of ['@tsgrad/nn/node', '@tsgrad/eva/node']) {
    const browser = await bundle(spec, 'browser');
    assert.ok(browser.errors.some((e) => /node:fs/.test(e)), `${spec} should not bundle for a browser: ${browser.errors.join('; ')}`);
    const node = await bundle(spec, 'node');
    assert.equal(node.errors, []);
    assert.ok(node.nodeInputs.includes('node:fs'), `${spec} imports node:fs (${node.nodeInputs.join(', ')})`);
  }
});

test('a bundle with minified identifiers runs matmul single-threaded (its workers could not run the kernels), one without keeps the pool', async () => {
  // the pool ships the kernels' source text to its workers; minified names would break the calls between them
  const entry = `import { matmulPoolReady, setMatmulThreads } from ${JSON.stringify(join(root, 'packages/tensor/src/index.ts'))};
setMatmulThreads(2);
console.log(String(await matmulPoolReady()));`;
  const ready: Record<string, string> = {};
  for (const minifyIdentifiers of [true, false]) {
    const out = await esbuild.build({ stdin: { contents: entry, resolveDir: root, loader: 'ts' }, bundle: true, platform: 'node', format: 'esm', write: false, minifyIdentifiers, minifySyntax: true, keepNames: true, logLevel: 'silent' });
    const file = join(tmpdir(), `tsgrad-minified-${minifyIdentifiers}-${process.pid}.mjs`);
    writeFileSync(file, out.outputFiles[0]!.text);
    const run = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 120_000 });
    rmSync(file, { force: true });
    assert.is(run.status, 0, run.stderr);
    ready[String(minifyIdentifiers)] = run.stdout.trim();
  }
  assert.equal(ready, { true: 'false', false: 'true' });
});

test.run();
