/**
 * How the gpu backend joins a process: `import '@tsgrad/tensor'` leaves gpu.js unloaded and
 * `gpu` unregistered (with an error that names the import), importing the gpu entry registers
 * it without loading gpu.js, and only creating the backend loads gpu.js. A missing gpu.js
 * gives an install hint. The import checks run in a fresh process: in this one, other test
 * files may already have imported the gpu entry.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { explainMissingBackend, setBackend } from '../src/index.ts';
import { gpuJsInstalled, loadGpuJs, MISSING_GPUJS } from '../src/backends/gpu/gpujs.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const url = (path: string) => pathToFileURL(join(import.meta.dirname, '..', 'src', path)).href;

/** Runs `script` as an ES module under tsx in a new process and parses the JSON it prints last. */
function inFreshProcess(script: string): Record<string, unknown> {
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, TSGRAD_BACKEND: '', TSGRAD_GPU_MODE: 'cpu' },
  });
  assert.is(run.status, 0, run.stderr);
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

test("import '@tsgrad/tensor' does not load gpu.js; the gpu entry registers 'gpu'; creating it loads gpu.js", () => {
  const out = inFreshProcess(`
    import { createRequire } from 'node:module';
    const cache = createRequire(import.meta.url).cache;
    const gpujsLoaded = () => Object.keys(cache).some((k) => /[\\\\/]gpu\\.js[\\\\/]/.test(k));
    const nd = await import(${JSON.stringify(url('index.ts'))});
    const core = { loaded: gpujsLoaded(), listed: nd.listBackends().includes('gpu'), error: '' };
    try { nd.setBackend('gpu'); } catch (e) { core.error = e.message; }
    await import(${JSON.stringify(url('backends/gpu/index.ts'))});
    const entry = { loaded: gpujsLoaded(), listed: nd.listBackends().includes('gpu'), error: '' };
    let selected = null;
    try {
      const name = nd.setBackend('gpu').name;
      selected = { loaded: gpujsLoaded(), name, sum: nd.sum(nd.ones([3, 4])).toArray() };
    } catch (e) { entry.error = e.message; }
    console.log(JSON.stringify({ core, entry, selected }));
  `);
  const core = out.core as { loaded: boolean; listed: boolean; error: string };
  assert.is(core.loaded, false, 'gpu.js loaded by the core import');
  assert.is(core.listed, false, "'gpu' listed before its import");
  assert.match(core.error, "setBackend: backend 'gpu' is not registered; import '@tsgrad/tensor/gpu' first");
  const entry = out.entry as { loaded: boolean; listed: boolean; error: string };
  assert.is(entry.loaded, false, 'gpu.js loaded by the gpu entry import (it should wait for the backend to be created)');
  if (gpuJsInstalled()) {
    assert.is(entry.listed, true);
    // the positive control: the same check does see gpu.js once the backend exists
    assert.equal(out.selected, { loaded: true, name: 'gpu', sum: 12 });
  } else {
    // a lean install (pnpm install --no-optional): 'gpu' stays unlisted and selecting it says what to install
    assert.is(entry.listed, false);
    assert.match(entry.error, 'install gpu.js to use the gpu backend');
  }
});

test('a missing gpu.js gives an install hint; a broken gpu.js keeps its own error', () => {
  const missing = (id: string) => {
    throw Object.assign(new Error(`Cannot find module '${id}'`), { code: 'MODULE_NOT_FOUND' });
  };
  assert.throws(() => loadGpuJs(missing), (e: Error) => e.message === `gpu backend: ${MISSING_GPUJS}`);
  assert.match(MISSING_GPUJS, 'install gpu.js to use the gpu backend');
  const brokenInside = () => missing('acorn');
  assert.throws(() => loadGpuJs(brokenInside), /Cannot find module 'acorn'/);
  assert.throws(() => loadGpuJs(() => ({})), /no GPU class/);
  assert.is(gpuJsInstalled(missing), false);
  assert.is(gpuJsInstalled((id) => `/somewhere/${id}/index.js`), true);
});

test('setBackend names what to do for a known backend that is not registered, and lists the usable ones', () => {
  explainMissingBackend('registration-test-backend', 'install the registration-test package');
  assert.throws(
    () => setBackend('registration-test-backend'),
    (e: Error) => e.message.includes("backend 'registration-test-backend' is not registered; install the registration-test package") && e.message.includes('fast'),
  );
  assert.throws(() => setBackend('no-such-backend'), /unknown backend 'no-such-backend' \(available: .*fast/);
});

test.run();
