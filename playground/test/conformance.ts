/**
 * The tensor backends' own test files, bundled for the browser and run in a Chromium page:
 * the fast backend (JS kernels, the wasm SIMD GEMM, the worker pool) and the gpu.js backend's
 * equivalence suite on WebGL. uvu runs in the page as it does in Node; its summary is read from
 * the console.
 *
 * KNOWN_GAPS lists tests that fail in the browser today, each with why. A listed test that
 * passes fails this check too ("remove it from KNOWN_GAPS"), so the list cannot go stale.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import * as esbuild from 'esbuild';
import type { Browser } from 'puppeteer-core';
import { nodeBuiltinStubs } from '../node-stubs.ts';

export interface Suite {
  /** Test file, relative to the repository root. */
  file: string;
  /** The page registers the gpu backend with gpu.js's GPU class first (`useGpuJs`). */
  gpu?: boolean;
  /** process.env as the test file sees it in the page. */
  env?: Record<string, string>;
}

export const SUITES: Suite[] = [
  { file: 'packages/tensor/test/matmul.test.ts' },
  { file: 'packages/tensor/test/kernels.test.ts' },
  { file: 'packages/tensor/test/wasm-gemm.test.ts' },
  { file: 'packages/tensor/test/elementwise.test.ts' },
  { file: 'packages/tensor/test/reduce.test.ts' },
  // gpu.js mode 'gpu' picks WebGL2 in Chromium (SwiftShader's software GL when headless): the
  // conformance suite for the gpu backend against the reference, and the gpu-only checks
  { file: 'packages/tensor/test/conformance.test.ts', env: { TSGRAD_CONFORMANCE_BACKENDS: 'gpu', TSGRAD_GPU_MODE: 'gpu' }, gpu: true },
  { file: 'packages/tensor/test/gpu.test.ts', env: { TSGRAD_GPU_MODE: 'gpu' }, gpu: true },
];

/** Test name -> why it fails in the browser today. */
export const KNOWN_GAPS: Record<string, string> = {
  'gpu: unary, every op on every dtype and layout, NaN and infinities included': 'gpu.js on WebGL2/SwiftShader: exp of a NaN element of a float32 [3, 1] view differs from the reference (GL special values)',
  'gpu: softmax and logSoftmax (the composed ops) on strided views with NaN and infinities': 'gpu.js on WebGL2/SwiftShader: softmax over rows holding Infinity / -Infinity differs from the reference (GL special values)',
  'specials: GL-sensitive cases (NaN/Infinity, pow edge cases, tiny and huge arguments)': 'gpu.js on WebGL2/SwiftShader: expm1 gives Infinity where the fast backend gives NaN',
};

/** The seed every in-page fast-check run uses (the repository's usual one). */
export const FC_SEED = 20_240_611;

export interface SuiteResult {
  file: string;
  total: number;
  passed: number;
  failed: string[];
  seconds: number;
}

const strip = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

/** Registers the gpu backend with gpu.js's GPU class, which a page imports itself. */
function gpuPrelude(root: string): string {
  const gpuIndex = JSON.stringify(join(root, 'packages', 'tensor', 'src', 'backends', 'gpu', 'index.ts'));
  return `import { GPU } from 'gpu.js';\nimport { useGpuJs } from ${gpuIndex};\nuseGpuJs(GPU);\n`;
}

/** Bundles each suite into `dir` as <name>.js plus an HTML page loading it. */
async function bundleSuites(root: string, dir: string): Promise<void> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const s of SUITES) {
    const entry = join(root, s.file);
    if (!existsSync(entry)) throw new Error(`conformance: ${s.file} does not exist (renamed? update SUITES in playground/test/conformance.ts)`);
    const name = basename(s.file, '.ts');
    await esbuild.build({
      // fast-check gets a fixed seed first (some suites draw without one), so a page run is repeatable
      stdin: { contents: `import fc from 'fast-check';\nfc.configureGlobal({ seed: ${FC_SEED} });\n${s.gpu ? gpuPrelude(root) : ''}await import(${JSON.stringify(entry)});`, resolveDir: join(root, 'packages', 'tensor'), sourcefile: `${name}.entry.ts`, loader: 'ts' },
      bundle: true,
      format: 'esm',
      platform: 'browser',
      outfile: join(dir, `${name}.js`),
      logLevel: 'error',
      plugins: [nodeBuiltinStubs()],
      // the test files read a few settings from process.env (seeds, gpu.js mode)
      banner: { js: `globalThis.process ??= { env: ${JSON.stringify(s.env ?? {})} };` },
    });
    writeFileSync(join(dir, `${name}.html`), `<!doctype html><meta charset="utf-8"><script type="module" src="${name}.js"></script>`);
  }
}

/** Runs one suite in a fresh page and reads uvu's summary from the console. */
async function runSuite(browser: Browser, url: string, file: string, timeoutMs: number): Promise<SuiteResult> {
  const page = await browser.newPage();
  const lines: string[] = [];
  page.on('console', (m) => lines.push(strip(m.text())));
  page.on('pageerror', (e) => lines.push(`PAGEERROR ${(e as Error).message}`));
  const t0 = performance.now();
  // the suite runs synchronously for long stretches, so do not wait on the page's load event
  void page.goto(url, { timeout: 0 }).catch(() => undefined);
  const deadline = Date.now() + timeoutMs;
  while (!lines.some((l) => /Duration:/.test(l) || l.startsWith('PAGEERROR'))) {
    if (Date.now() > deadline) throw new Error(`conformance: ${file} did not finish in ${timeoutMs / 1000} s; last output: ${lines.slice(-3).join(' | ')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  await page.close();
  const text = lines.join('\n');
  const error = lines.find((l) => l.startsWith('PAGEERROR'));
  if (error) throw new Error(`conformance: ${file} threw in the page: ${error}`);
  const total = Number(/Total:\s+(\d+)/.exec(text)?.[1]);
  const passed = Number(/Passed:\s+(\d+)/.exec(text)?.[1]);
  const failed = [...text.matchAll(/FAIL\s+"([^"]+)"/g)].map((m) => m[1]!);
  return { file, total, passed, failed: [...new Set(failed)], seconds: (performance.now() - t0) / 1000 };
}

/**
 * Bundles and runs every suite; returns the results and the problems (unexpected failures,
 * known gaps that now pass, suites that ran no tests).
 */
export async function runConformance(browser: Browser, opts: { root: string; dir: string; origin: string; urlPath: string; timeoutMs?: number }): Promise<{ results: SuiteResult[]; problems: string[] }> {
  await bundleSuites(opts.root, opts.dir);
  const results: SuiteResult[] = [];
  const problems: string[] = [];
  for (const s of SUITES) {
    const name = basename(s.file, '.ts');
    const r = await runSuite(browser, `${opts.origin}/${opts.urlPath}/${name}.html`, s.file, opts.timeoutMs ?? 300_000);
    results.push(r);
    if (!(r.total > 0)) problems.push(`${s.file}: ran no tests`);
    for (const f of r.failed) if (!(f in KNOWN_GAPS)) problems.push(`${s.file}: "${f}" fails in the browser`);
    if (r.passed + r.failed.length !== r.total) problems.push(`${s.file}: ${r.total} tests but ${r.passed} passed and ${r.failed.length} failed`);
  }
  const failedAnywhere = new Set(results.flatMap((r) => r.failed));
  const ranAnywhere = results.length === SUITES.length;
  if (ranAnywhere) for (const gap of Object.keys(KNOWN_GAPS)) if (!failedAnywhere.has(gap)) problems.push(`known gap "${gap}" passes now: remove it from KNOWN_GAPS`);
  return { results, problems };
}
