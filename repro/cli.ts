/**
 * `pnpm repro <name> [--preset quick|standard|full] [--out DIR] [--seeds N] [--resume] [--jobs N]`
 *
 * Runs one registered reproduction (see experiments.ts), or every one with `all`, each
 * writing metrics.json, SVG plots and report.md into its output folder
 * (default results/<name> at the repository root, which git ignores; with `all` and --out, DIR/<name>).
 */
import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { EXPERIMENTS } from './experiments.ts';
import { PRESET_NAMES, type Preset, type RunOptions } from './lib/experiment.ts';
import { verdictTally } from './lib/results.ts';

const root = resolve(import.meta.dirname, '..');
// The gpu backend registers itself only when imported, so TSGRAD_BACKEND=gpu needs this import.
if (process.env.TSGRAD_BACKEND === 'gpu') await import('@tsgrad/tensor/gpu');

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

/** Runs one experiment; returns where its report is (or the output folder), or null when it failed. */
async function runOne(name: string, opts: RunOptions): Promise<string | null> {
  const entry = EXPERIMENTS[name]!;
  mkdirSync(opts.outDir, { recursive: true });
  const started = Date.now();
  console.error(`[repro] ${name}: preset ${opts.preset}${opts.seeds ? `, ${opts.seeds} seed(s)` : ''}${opts.resume ? ', resuming' : ''}, writing to ${opts.outDir}`);
  try {
    const experiment = await entry.load();
    const report = await experiment.run(opts);
    console.error(`[repro] ${name}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return typeof report === 'string' ? report : opts.outDir;
  } catch (err) {
    console.error(`[repro] ${name}: FAILED after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    return null;
  }
}

const names = Object.keys(EXPERIMENTS);
const program = new Command()
  .name('pnpm repro')
  .description('Run a tsgrad reproduction and write metrics.json, SVG plots and report.md.')
  .argument('<name>', `one of: ${[...names, 'all'].join(', ')}`)
  .addOption(new Option('--preset <preset>', 'quick (minutes, CI-sized), standard (the README numbers, < 45 min) or full').choices([...PRESET_NAMES]).default('quick'))
  .option('--out <dir>', 'output folder (default results/<name>)')
  .option('--seeds <n>', "number of seeds (default: the preset's)", positiveInt)
  .option('--resume', 'continue an interrupted run from the phases already stored in the output folder')
  .option('--jobs <n>', 'child processes for independent phases (wm: trained models, MLP pairs); same results for any n (default: CPU cores, at most 4)', positiveInt)
  .addHelpText('after', `\nExperiments:\n${names.map((n) => `  ${n.padEnd(10)} ${EXPERIMENTS[n]!.description}`).join('\n')}`)
  .action(async (name: string, o: { preset: Preset; out?: string; seeds?: number; resume?: boolean; jobs?: number }) => {
    const which = name === 'all' ? names : [name];
    if (name !== 'all' && !Object.hasOwn(EXPERIMENTS, name)) {
      program.error(`unknown experiment '${name}'; choose one of: ${[...names, 'all'].join(', ')}`);
    }
    const lacking = which.filter((n) => !EXPERIMENTS[n]!.presets.includes(o.preset));
    if (lacking.length > 0) {
      program.error(`no '${o.preset}' preset yet for: ${lacking.map((n) => `${n} (has ${EXPERIMENTS[n]!.presets.join(', ')})`).join('; ')}`);
    }
    const failed: string[] = [];
    const reports: string[] = [];
    const tallies: string[] = [];
    for (const n of which) {
      const outDir =
        o.out === undefined ? join(root, 'results', n) : name === 'all' ? resolve(o.out, n) : resolve(o.out);
      const report = await runOne(n, { preset: o.preset, outDir, seeds: o.seeds, resume: o.resume, jobs: o.jobs ?? Math.min(availableParallelism(), 4) });
      if (report === null) failed.push(n);
      else reports.push(`  ${n.padEnd(6)} ${report}`);
      const tally = report === null ? null : verdictTally(n, outDir);
      if (tally !== null) tallies.push(tally);
    }
    if (reports.length > 0) console.error(`[repro] reports:\n${reports.join('\n')}`);
    if (tallies.length > 0) console.error(`[repro] claims: ${tallies.join('; ')}`);
    if (failed.length > 0) {
      console.error(`[repro] failed: ${failed.join(', ')}`);
      process.exitCode = 1;
    }
  });

await program.parseAsync(process.argv);
