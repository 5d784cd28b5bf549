/**
 * `pnpm bench`: tsgrad against TensorFlow.js (cpu and wasm backends), jax-js (wasm)
 * and js-pytorch, all in this one process on the same inputs, and against PyTorch on
 * the same CPU in a child process when it is installed (bench/lib/pytorch.ts). Prints a table of
 * median times with ratios (peer time / tsgrad time: above 1 means tsgrad is faster),
 * checks the targets of the benchmark issue, and writes everything to
 * results/bench.json.
 *
 * Usage (bench/cli.ts installs the peers first): pnpm bench [--quick] [--only=matmul,ops,conv,mlp,gpt] [--skip=js-pytorch,PyTorch,...] [--out=FILE]
 */
import { execSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { getBackend, listBackends, matmulPoolReady, matmulPoolStats, matmulThreads, setBackend, setMatmulThreads } from '@tsgrad/tensor';
// registers 'gpu' (gpu.js loads only if the gpu column or TSGRAD_BACKEND=gpu uses it)
import '@tsgrad/tensor/gpu';
import { CONV, convInputs, GPT, gptBatch, mlpInputs, normals } from './lib/inputs.ts';
import * as jx from './lib/jaxjs.ts';
import * as pt from './lib/jspytorch.ts';
import { lossesAgree, runTorch, torchAvailable, type TorchTensor } from './lib/pytorch.ts';
import * as tfl from './lib/tfjs.ts';
import { allocationPerStep, type Allocation } from './lib/alloc.ts';
import { time, type TimeOptions } from './lib/timing.ts';
import * as ts from './lib/tsgrad.ts';

const args = process.argv.slice(2);
const flag = (name: string) => args.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
const listFlag = (name: string) => flag(name)?.split('=')[1]?.split(',') ?? null;
const quick = flag('quick') !== undefined;
const only = listFlag('only');
const skip = new Set(listFlag('skip') ?? []);
const outFile = flag('out')?.split('=')[1] ?? join(import.meta.dirname, '..', 'results', 'bench.json');
const runs = (o: TimeOptions): TimeOptions => (quick ? { ...o, budgetMs: Math.min(o.budgetMs ?? 1000, 300), minRuns: Math.min(o.minRuns ?? 3, 2) } : o);

/** Columns of the table; `tsgrad` is the reference the ratios divide by. */
const LIBS = ['tsgrad', 'tsgrad 1 thread', 'tsgrad gpu', 'PyTorch', 'TF.js cpu', 'TF.js wasm', 'jax-js wasm', 'js-pytorch'] as const;
type Lib = (typeof LIBS)[number];

interface Row {
  case: string;
  lib: Lib;
  ms: number | null;
  runs: number[];
  error?: string;
}
const rows: Row[] = [];
/** Bytes tsgrad allocates per training step (bench/lib/alloc.ts), by case. */
const allocation: Record<string, Allocation> = {};

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

async function measure(name: string, lib: Lib, make: () => (() => unknown) | Promise<() => unknown>, opts: TimeOptions): Promise<void> {
  if (skip.has(lib) || (lib.startsWith('TF.js') && skip.has('TF.js')) || (lib.startsWith('tsgrad ') && skip.has('tsgrad-extra'))) return;
  try {
    const fn = await make();
    // Slow libraries get fewer runs: if one run exceeds the budget, time just two.
    const t0 = performance.now();
    await fn();
    const first = performance.now() - t0;
    const o = runs(opts);
    const t = first > (o.budgetMs ?? 1000) ? await time(fn, { warmup: 0, minRuns: 2, budgetMs: 0 }) : await time(fn, { ...o, warmup: Math.max(0, (o.warmup ?? 1) - 1) });
    rows.push({ case: name, lib, ms: t.ms, runs: t.runs });
    log(`  ${name.padEnd(22)} ${lib.padEnd(16)} ${t.ms.toFixed(1).padStart(9)} ms  (${t.runs.length} runs)`);
  } catch (e) {
    const error = (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 160);
    rows.push({ case: name, lib, ms: null, runs: [], error });
    log(`  ${name.padEnd(22)} ${lib.padEnd(16)} failed: ${error}`);
  }
}

const want = (group: string) => only === null || only.includes(group);

async function main(): Promise<void> {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const load0 = os.loadavg();
  setBackend(process.env.TSGRAD_BACKEND || 'fast');
  const poolOn = await matmulPoolReady();
  log(`tsgrad backend ${getBackend().name}, matmul threads ${matmulThreads()} (pool ${poolOn ? 'on' : 'off'}); ${os.cpus().length} x ${cpu}; node ${process.version}; load ${load0.map((l) => l.toFixed(2)).join(' ')}`);

  const withThreads = async (threads: number, fn: () => Promise<void>) => {
    setMatmulThreads(threads);
    await matmulPoolReady();
    try {
      await fn();
    } finally {
      setMatmulThreads(null);
      await matmulPoolReady();
    }
  };
  const withTsBackend = async (name: string, fn: () => Promise<void>) => {
    const prev = getBackend().name;
    setBackend(name);
    try {
      await fn();
    } finally {
      setBackend(prev);
    }
  };
  const tf = async (backend: tfl.TfBackend, name: string, make: () => () => unknown, opts: TimeOptions) =>
    measure(name, backend === 'cpu' ? 'TF.js cpu' : 'TF.js wasm', async () => {
      await tfl.useBackend(backend);
      return make();
    }, opts);

  if (want('matmul')) {
    log('matmul (float32, n x n @ n x n)');
    for (const n of [256, 512, 1024]) {
      const a = normals(n * n, 10 + n);
      const b = normals(n * n, 20 + n);
      const name = `matmul ${n}`;
      const budget = { budgetMs: 2000, minRuns: 5, warmup: 2 };
      await measure(name, 'tsgrad', () => ts.matmulCase(n, a, b), budget);
      await withThreads(1, () => measure(name, 'tsgrad 1 thread', () => ts.matmulCase(n, a, b), budget));
      if (listBackends().includes('gpu')) await withTsBackend('gpu', () => measure(name, 'tsgrad gpu', () => ts.matmulCase(n, a, b), budget));
      for (const be of ['cpu', 'wasm'] as const) await tf(be, name, () => tfl.matmulCase(n, a, b), budget);
      await measure(name, 'jax-js wasm', async () => jx.matmulCase(await jx.load(), n, a, b), budget);
      await measure(name, 'js-pytorch', () => pt.matmulCase(n, a, b), { budgetMs: 2000, minRuns: 3, warmup: 1 });
    }
  }

  if (want('ops')) {
    log('elementwise + reduction ops (float32, 4096 x 512)');
    const [r, c] = [4096, 512];
    const data = normals(r * c, 30);
    const budget = { budgetMs: 1500, minRuns: 5, warmup: 2 };
    await measure('softmax 4096x512', 'tsgrad', () => ts.softmaxCase(r, c, data), budget);
    for (const be of ['cpu', 'wasm'] as const) await tf(be, 'softmax 4096x512', () => tfl.softmaxCase(r, c, data), budget);
    await measure('softmax 4096x512', 'jax-js wasm', async () => jx.softmaxCase(await jx.load(), r, c, data), budget);
    await measure('softmax 4096x512', 'js-pytorch', () => pt.softmaxCase(r, c, data), budget);
    await measure('layernorm fwd+bwd', 'tsgrad', () => ts.layerNormCase(r, c, data), budget);
    for (const be of ['cpu', 'wasm'] as const) await tf(be, 'layernorm fwd+bwd', () => tfl.layerNormCase(r, c, data), budget);
  }

  if (want('conv')) {
    const { batch, cin, size, cout, kernel, padding } = CONV;
    log(`conv2d [${batch}, ${cin}, ${size}, ${size}] -> ${cout} channels, ${kernel}x${kernel}, padding ${padding}: forward + backward (float32)`);
    const inp = convInputs();
    const budget = { budgetMs: 3000, minRuns: 5, warmup: 2 };
    await measure('conv fwd+bwd', 'tsgrad', () => ts.convCase(inp), budget);
    await withThreads(1, () => measure('conv fwd+bwd', 'tsgrad 1 thread', () => ts.convCase(inp), budget));
    // TF.js wasm cannot differentiate conv2d (no Conv2DBackpropFilter kernel): that cell shows as
    // failed, and "conv fwd" times its forward. TF.js cpu takes about a minute a run (three runs
    // at least), so only the full run times it.
    if (quick) log('  conv fwd+bwd           TF.js cpu        skipped with --quick (about 3 minutes; the full run times it)');
    for (const be of quick ? (['wasm'] as const) : (['cpu', 'wasm'] as const)) await tf(be, 'conv fwd+bwd', () => tfl.convCase(inp), budget);
    await measure('conv fwd', 'tsgrad', () => ts.convForwardCase(inp), budget);
    await tf('wasm', 'conv fwd', () => tfl.convCase(inp, true), budget);
  }

  if (want('mlp')) {
    log('MLP 784-512-512-10, batch 128: one training step (forward, backward, Adam)');
    const inp = mlpInputs();
    const budget = { budgetMs: 4000, minRuns: 5, warmup: 2 };
    await measure('MLP train step', 'tsgrad', () => ts.mlpStep(inp), budget);
    await withThreads(1, () => measure('MLP train step', 'tsgrad 1 thread', () => ts.mlpStep(inp), budget));
    if (!skip.has('tsgrad')) allocation['MLP train step'] = allocationPerStep(ts.mlpStep(inp), 5);
    for (const be of ['cpu', 'wasm'] as const) await tf(be, 'MLP train step', () => tfl.mlpStep(inp), budget);
  }

  if (want('gpt')) {
    log(`GPT (${GPT.layers} layers, d=${GPT.dModel}, ${GPT.heads} heads, context ${GPT.context}, batch ${GPT.batch}): one training step`);
    const batch = gptBatch();
    const init = new Map<string, { shape: readonly number[]; data: Float32Array }>();
    for (const [name, p] of ts.gptModel().namedParameters()) init.set(name, { shape: p.shape, data: Float32Array.from(p.data.toTyped()) });
    const budget = { budgetMs: 8000, minRuns: 3, warmup: 1 };
    await measure('GPT train step', 'tsgrad', () => ts.gptStep(ts.gptModel(), batch), budget);
    await withThreads(1, () => measure('GPT train step', 'tsgrad 1 thread', () => ts.gptStep(ts.gptModel(), batch), budget));
    if (!skip.has('tsgrad')) allocation['GPT train step'] = allocationPerStep(ts.gptStep(ts.gptModel(), batch), 2);
    for (const be of ['cpu', 'wasm'] as const) await tf(be, 'GPT train step', () => tfl.gptStep(init, batch), budget);
    await measure('GPT train step', 'js-pytorch', () => pt.gptStep(batch), { budgetMs: 1, minRuns: 1, warmup: 0 });
  }

  const torch = skip.has('PyTorch') ? null : await pytorchPeer();

  const load1 = os.loadavg();
  const table = renderTable();
  process.stdout.write(`\n${table}\n`);
  const allocLines = Object.entries(allocation).map(([c, a]) => `  ${c}: ${mib(a.storageBytes)} of typed-array storage + ${mib(a.heapBytes)} of JS heap`);
  if (allocLines.length > 0) process.stdout.write(`\nAllocated per tsgrad step (new buffers counted in an untimed pass; JS heap from GC statistics; see bench/lib/alloc.ts):\n${allocLines.join('\n')}\n`);
  const targets = checkTargets();
  process.stdout.write(`\n${targets.map((t) => `${t.holds === null ? 'n/a ' : t.holds ? 'PASS' : 'MISS'}  ${t.text}${t.ratio === null ? '' : ` (${t.ratio.toFixed(2)}x)`}`).join('\n')}\n`);
  const machine = {
    cpu,
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    loadBefore: load0,
    loadAfter: load1,
  };
  const tsgrad = { backend: getBackend().name, matmulThreads: matmulThreads(), pool: matmulPoolStats, commit: gitCommit() };
  peersExtra.PyTorch = torch;
  const peers = Object.fromEntries(
    ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', '@jax-js/jax', 'js-pytorch'].map((name) => {
      try {
        const pkg = JSON.parse(readFileSync(join(import.meta.dirname, 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
        return [name, pkg.version];
      } catch {
        return [name, null];
      }
    }),
  );
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, `${JSON.stringify({ date: new Date().toISOString(), quick, machine, tsgrad, peers: { ...peers, ...peersExtra }, rows, targets, allocation }, null, 2)}\n`);
  process.stdout.write(`\npeers: ${Object.entries(peers).map(([k, v]) => `${k} ${v}`).join(', ')}; tsgrad pool: ${JSON.stringify(matmulPoolStats)}`);
  process.stdout.write(`\nload average ${load0.map((l) => l.toFixed(2)).join(' ')} before, ${load1.map((l) => l.toFixed(2)).join(' ')} after; wrote ${outFile}\n`);
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(2)} MiB`;
}

/** What the PyTorch peer reported beyond the timing rows (version, threads, loss agreement). */
const peersExtra: Record<string, unknown> = {};

/**
 * Runs the same cases in PyTorch from the same inputs (a child process), after checking
 * that its first three training losses match tsgrad's; adds a `PyTorch` column with its
 * best thread count. Returns what metadata it has, or null when torch is missing.
 */
async function pytorchPeer(): Promise<Record<string, unknown> | null> {
  const found = torchAvailable();
  if (!found.ok) {
    log(`PyTorch: skipped (${found.reason})`);
    return null;
  }
  log(`PyTorch ${found.version} (${found.python}), threads 1 and 2, in a child process`);
  const tensors: TorchTensor[] = [];
  const matmul = want('matmul') ? [256, 512, 1024] : [];
  for (const n of matmul) tensors.push({ name: `matmul.a${n}`, shape: [n, n], data: normals(n * n, 10 + n) }, { name: `matmul.b${n}`, shape: [n, n], data: normals(n * n, 20 + n) });
  if (want('ops')) tensors.push({ name: 'softmax.x', shape: [4096, 512], data: normals(4096 * 512, 30) });
  if (want('conv')) {
    const c = convInputs();
    const { batch, cin, size, cout, kernel } = CONV;
    tensors.push({ name: 'conv.x', shape: [batch, cin, size, size], data: c.x }, { name: 'conv.w', shape: [cout, cin, kernel, kernel], data: c.w }, { name: 'conv.b', shape: [cout], data: c.b });
  }
  const inp = mlpInputs();
  const ourLosses: Record<string, number[]> = {};
  if (want('mlp')) {
    inp.weights.forEach((w, l) => tensors.push({ name: `mlp.w${l}`, shape: [inp.sizes[l]!, inp.sizes[l + 1]!], data: w.w }, { name: `mlp.b${l}`, shape: [inp.sizes[l + 1]!], data: w.b }));
    tensors.push({ name: 'mlp.x', shape: [inp.batch, inp.sizes[0]!], data: inp.x }, { name: 'mlp.y', shape: [inp.batch], data: inp.y });
    const step = ts.mlpStep(inp);
    ourLosses['MLP train step'] = [step(), step(), step()];
  }
  if (want('gpt')) {
    const batch = gptBatch();
    const model = ts.gptModel();
    for (const [name, p] of model.namedParameters()) tensors.push({ name: `gpt.param.${name}`, shape: p.shape, data: Float32Array.from(p.data.toTyped()) });
    tensors.push({ name: 'gpt.ids', shape: [GPT.batch, GPT.context], data: batch.ids }, { name: 'gpt.targets', shape: [GPT.batch, GPT.context], data: batch.targets });
    const step = ts.gptStep(model, batch);
    ourLosses['GPT train step'] = [step(), step(), step()];
  }
  try {
    const res = runTorch(found.python, tensors, { quick, threads: [1, 2], matmul, mlp: { sizes: inp.sizes }, gpt: GPT, conv: CONV });
    const agreement: Record<string, { tsgrad: number[]; pytorch: number[]; agree: boolean }> = {};
    for (const [name, ours] of Object.entries(ourLosses)) {
      const theirs = res.losses[name] ?? [];
      agreement[name] = { tsgrad: ours, pytorch: theirs, agree: lossesAgree(ours, theirs) };
      log(`  ${name}: losses over 3 steps tsgrad ${ours.map((l) => l.toFixed(5)).join(' ')} | PyTorch ${theirs.map((l) => l.toFixed(5)).join(' ')} -> ${agreement[name]!.agree ? 'agree' : 'DISAGREE (timings not comparable)'}`);
    }
    for (const [name, c] of Object.entries(res.cases)) {
      const bad = agreement[name] !== undefined && !agreement[name]!.agree;
      rows.push(bad ? { case: name, lib: 'PyTorch', ms: null, runs: [], error: 'losses disagree with tsgrad' } : { case: name, lib: 'PyTorch', ms: c.best, runs: c.threads[String(c.bestThreads)]!.runs });
    }
    return { version: res.torch, python: found.python, perThreads: res.cases, lossAgreement: agreement };
  } catch (e) {
    log(`PyTorch: failed (${e instanceof Error ? e.message : String(e)})`);
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

function gitCommit(): string | null {
  try {
    return execSync('git rev-parse --short HEAD', { cwd: import.meta.dirname, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function find(c: string, lib: Lib): Row | undefined {
  return rows.find((r) => r.case === c && r.lib === lib);
}

/** peer time / tsgrad time for a case, or null when either is missing. */
function ratio(c: string, lib: Lib): number | null {
  const base = find(c, 'tsgrad')?.ms;
  const other = find(c, lib)?.ms;
  return base && other ? other / base : null;
}

function renderTable(): string {
  const cases = [...new Set(rows.map((r) => r.case))];
  const libs = LIBS.filter((l) => rows.some((r) => r.lib === l));
  const cell = (c: string, lib: Lib): string => {
    const r = find(c, lib);
    if (!r) return '';
    if (r.ms === null) return 'failed';
    const ms = r.ms >= 100 ? r.ms.toFixed(0) : r.ms.toFixed(1);
    const q = lib === 'tsgrad' ? null : ratio(c, lib);
    return q === null ? `${ms} ms` : `${ms} ms (${q.toFixed(2)}x)`;
  };
  const header = ['case', ...libs];
  const body = cases.map((c) => [c, ...libs.map((l) => cell(c, l))]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((v, i) => v.padEnd(widths[i]!)).join(' | ')} |`;
  const notes = rows.filter((r) => r.error).map((r) => `  ${r.lib} on ${r.case}: ${r.error}`);
  return [
    'Median wall time per run; (Nx) = that library\'s time / tsgrad\'s, so above 1 means tsgrad is faster.',
    line(header),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...body.map(line),
    ...(notes.length > 0 ? ['failures:', ...notes] : []),
  ].join('\n');
}

interface Target {
  text: string;
  ratio: number | null;
  holds: boolean | null;
}

/** The ratio targets of the benchmark issue, checked on this run. */
function checkTargets(): Target[] {
  const t = (c: string, lib: Lib, min: number): Target => {
    const q = ratio(c, lib);
    return { text: `${c}: tsgrad >= ${min}x faster than ${lib}`, ratio: q, holds: q === null ? null : q >= min };
  };
  return [
    t('matmul 512', 'TF.js cpu', 4),
    t('matmul 1024', 'TF.js cpu', 4),
    t('matmul 512', 'js-pytorch', 8),
    t('matmul 1024', 'js-pytorch', 8),
    t('matmul 512', 'TF.js wasm', 1),
    t('matmul 1024', 'TF.js wasm', 1),
    t('MLP train step', 'TF.js cpu', 3),
    t('GPT train step', 'TF.js cpu', 3),
    // the native bar (the speed issue): tsgrad within 2x / 2.5x of PyTorch, so PyTorch time / ours >= 0.5 / 0.4
    t('MLP train step', 'PyTorch', 0.5),
    t('GPT train step', 'PyTorch', 0.4),
    t('softmax 4096x512', 'TF.js wasm', 1),
    // two threads never slower than one
    ...['matmul 512', 'matmul 1024', 'MLP train step', 'GPT train step'].map((c) => t(c, 'tsgrad 1 thread', 1)),
  ];
}

await main();
