/**
 * What every reproduction exports from `repro/<name>/main.ts`, and what the CLI hands it.
 */

/**
 * 'quick': CI-sized, what `pnpm start` runs (minutes on 2 cores); 'standard': the numbers
 * the READMEs quote (under 45 minutes on 2 cores); 'full': the largest run that makes
 * sense on one machine. An experiment lists the presets it has (see experiments.ts).
 */
export type Preset = 'quick' | 'standard' | 'full';

export const PRESET_NAMES: readonly Preset[] = ['quick', 'standard', 'full'];

export interface RunOptions {
  /** Which preset to run (default 'quick'). */
  preset: Preset;
  /** The folder to write metrics.json, *.svg and report.md into (already created). */
  outDir: string;
  /** How many seeds to run (0..seeds-1); undefined means the preset's own default. */
  seeds?: number;
  /** Continue an interrupted run: reuse the phases already stored in outDir (see phases.ts). */
  resume?: boolean;
  /**
   * Independent long phases (trained models, analysed pairs) run in up to this many child
   * processes at once; 1 (the default) runs everything in this process. Results are the same
   * bits either way. Only experiments built from such phases use it (wm).
   */
  jobs?: number;
}

/** The module shape of `repro/<name>/main.ts`. */
export interface Experiment {
  /** Runs the experiment; returns the path of its report when it wrote one. */
  run(opts: RunOptions): Promise<string | void> | string | void;
}

/**
 * The settings of `preset` from an experiment's table, or an error naming the presets it has.
 * @example const cfg = presetOf({ quick: { steps: 10 } }, opts.preset, 'demo');
 */
export function presetOf<Table extends Partial<Record<Preset, unknown>>>(table: Table, preset: Preset, experiment: string): NonNullable<Table[keyof Table]> {
  const cfg = (table as Partial<Record<Preset, unknown>>)[preset];
  if (cfg === undefined) throw new Error(`${experiment}: no '${preset}' preset yet (available: ${Object.keys(table).join(', ')})`);
  return cfg as NonNullable<Table[keyof Table]>;
}

/**
 * The seeds to run: 0..opts.seeds-1, or 0..defaultCount-1 when the user gave none.
 * @example seedList({ preset: 'quick', outDir: 'x' }, 3) // [0, 1, 2]
 */
export function seedList(opts: RunOptions, defaultCount: number): number[] {
  return Array.from({ length: opts.seeds ?? defaultCount }, (_, i) => i);
}
