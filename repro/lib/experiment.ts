/**
 * What every reproduction exports from `repro/<name>/main.ts`, and what the CLI hands it.
 */

export type Preset = 'quick' | 'full';

export interface RunOptions {
  /** 'quick' (minutes on 2 cores, the default) or 'full'. */
  preset: Preset;
  /** The folder to write metrics.json, *.svg and report.md into (already created). */
  outDir: string;
  /** How many seeds to run (0..seeds-1); undefined means the preset's own default. */
  seeds?: number;
}

/** The module shape of `repro/<name>/main.ts`. */
export interface Experiment {
  run(opts: RunOptions): Promise<void> | void;
}

/**
 * The seeds to run: 0..opts.seeds-1, or 0..defaultCount-1 when the user gave none.
 * @example seedList({ preset: 'quick', outDir: 'x' }, 3) // [0, 1, 2]
 */
export function seedList(opts: RunOptions, defaultCount: number): number[] {
  return Array.from({ length: opts.seeds ?? defaultCount }, (_, i) => i);
}
