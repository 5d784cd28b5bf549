/**
 * `pnpm timings [name ...]`: runs the commands whose times the README quotes, one after
 * another, and prints the README's "Timings" table from this one dated run. Also writes
 * every figure to results/timings.json (date, commit, machine, load average around each
 * command, exit status).
 *
 * Why one script: the times a README quotes drift as the code gets faster, and numbers taken
 * from different runs on a shared machine under different loads cannot be compared. Rerun
 * this on a quiet machine and paste its table instead of editing single figures by hand.
 *
 * Names: start, mnist, gpt, cnn, step, fit (default: all, in that order).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');

/** What each row runs, and what the table says it is. */
const COMMANDS: Record<string, { argv: string[]; what: string }> = {
  start: { argv: ['pnpm', 'start'], what: 'the main job: quick EVA, WM and WM width-study reproductions, then the demo' },
  mnist: { argv: ['pnpm', 'example', 'mnist'], what: 'MLP on the 8k/2k MNIST split, 20 epochs' },
  gpt: { argv: ['pnpm', 'example', 'gpt'], what: 'character GPT on Moby Dick, 1,500 steps' },
  cnn: { argv: ['pnpm', 'example', 'cnn'], what: 'BatchNorm CNN on the official 60k/10k split, 2 epochs' },
  step: { argv: ['pnpm', 'example', 'step'], what: 'one timed MLP training step' },
  fit: { argv: ['pnpm', 'example', 'fit'], what: 'fit sin(3x) with plain autograd' },
};

interface Timing {
  name: string;
  command: string;
  seconds: number;
  status: number | null;
  loadBefore: number[];
  loadAfter: number[];
  /** The line that states the command's result (see `resultLine`), or null. */
  result: string | null;
}

/**
 * The line that states a command's result: the last line matching the most specific pattern
 * (a final metric before a progress line), stdout before stderr since progress goes to stderr.
 */
function resultLine(stdout: string, stderr: string): string | null {
  const lines = [...stderr.split('\n'), ...stdout.split('\n')];
  for (const re of [/validation loss|test accuracy|test_accuracy|\[repro\] claims:/i, /took|fitted|median/i, /ms\/step/i]) {
    const hit = lines.filter((l) => re.test(l)).at(-1);
    if (hit) return hit.trim();
  }
  return null;
}

const names = process.argv.slice(2);
for (const n of names) if (!(n in COMMANDS)) throw new Error(`timings: unknown name '${n}' (known: ${Object.keys(COMMANDS).join(', ')})`);
const chosen = names.length > 0 ? names : Object.keys(COMMANDS);

const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim() || null;
const date = new Date().toISOString();
const timings: Timing[] = [];
for (const name of chosen) {
  const { argv } = COMMANDS[name]!;
  const loadBefore = os.loadavg();
  const t0 = performance.now();
  process.stderr.write(`timings: ${argv.join(' ')} ...\n`);
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
  const seconds = (performance.now() - t0) / 1000;
  timings.push({ name, command: argv.join(' '), seconds, status: r.status, loadBefore, loadAfter: os.loadavg(), result: resultLine(r.stdout ?? '', r.stderr ?? '') });
  process.stderr.write(`timings: ${name} took ${seconds.toFixed(1)} s (exit ${r.status})\n`);
}

const machine = { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, node: process.version };
mkdirSync(join(root, 'results'), { recursive: true });
writeFileSync(join(root, 'results', 'timings.json'), `${JSON.stringify({ date, commit, machine, timings }, null, 2)}\n`);

const fmt = (s: number) => (s >= 90 ? `${(s / 60).toFixed(1)} min` : `${s.toFixed(0)} s`);
const load = (l: number[]) => l[0]!.toFixed(2);
process.stdout.write(`Run of ${date.slice(0, 16).replace('T', ' ')} UTC, commit ${commit}, ${machine.cores} x ${machine.cpu}, Node ${machine.node}.\n\n`);
process.stdout.write('| command | what it does | wall time | load average before / after | result |\n|---|---|---|---|---|\n');
for (const t of timings) {
  const res = t.status === 0 ? (t.result ?? '') : `**failed** (exit ${t.status})`;
  process.stdout.write(`| \`${t.command}\` | ${COMMANDS[t.name]!.what} | ${fmt(t.seconds)} | ${load(t.loadBefore)} / ${load(t.loadAfter)} | ${res.replace(/\|/g, '\\|')} |\n`);
}
