/**
 * `pnpm repro <name> [--preset quick|full] [--out DIR] [--seeds N]`
 *
 * Runs one registered reproduction (see experiments.ts), or every one with `all`, each
 * writing metrics.json, SVG plots and report.md into its output folder
 * (default results/<name> at the repository root, which git ignores; with `all` and --out, DIR/<name>).
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { EXPERIMENTS } from './experiments.ts';
import type { Preset, RunOptions } from './lib/experiment.ts';

const root = resolve(import.meta.dirname, '..');
// The gpu backend registers itself only when imported, so TSGRAD_BACKEND=gpu needs this import.
if (process.env.TSGRAD_BACKEND === 'gpu') await import('@tsgrad/tensor/gpu');

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

async function runOne(name: string, opts: RunOptions): Promise<boolean> {
  const entry = EXPERIMENTS[name]!;
  mkdirSync(opts.outDir, { recursive: true });
  const started = Date.now();
  console.error(`[repro] ${name}: preset ${opts.preset}${opts.seeds ? `, ${opts.seeds} seed(s)` : ''}, writing to ${opts.outDir}`);
  try {
    const experiment = await entry.load();
    await experiment.run(opts);
    console.error(`[repro] ${name}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return true;
  } catch (err) {
    console.error(`[repro] ${name}: FAILED after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    return false;
  }
}

const names = Object.keys(EXPERIMENTS);
const program = new Command()
  .name('pnpm repro')
  .description('Run a tsgrad reproduction and write metrics.json, SVG plots and report.md.')
  .argument('<name>', `one of: ${[...names, 'all'].join(', ')}`)
  .addOption(new Option('--preset <preset>', 'quick (minutes) or full').choices(['quick', 'full']).default('quick'))
  .option('--out <dir>', 'output folder (default results/<name>)')
  .option('--seeds <n>', "number of seeds (default: the preset's)", positiveInt)
  .addHelpText('after', `\nExperiments:\n${names.map((n) => `  ${n.padEnd(10)} ${EXPERIMENTS[n]!.description}`).join('\n')}`)
  .action(async (name: string, o: { preset: Preset; out?: string; seeds?: number }) => {
    const which = name === 'all' ? names : [name];
    if (name !== 'all' && !Object.hasOwn(EXPERIMENTS, name)) {
      program.error(`unknown experiment '${name}'; choose one of: ${[...names, 'all'].join(', ')}`);
    }
    const failed: string[] = [];
    for (const n of which) {
      const outDir =
        o.out === undefined ? join(root, 'results', n) : name === 'all' ? resolve(o.out, n) : resolve(o.out);
      if (!(await runOne(n, { preset: o.preset, outDir, seeds: o.seeds }))) failed.push(n);
    }
    if (failed.length > 0) {
      console.error(`[repro] failed: ${failed.join(', ')}`);
      process.exitCode = 1;
    }
  });

await program.parseAsync(process.argv);
