/**
 * The registry of reproductions that `pnpm repro <name>` can run. To add one, write
 * `repro/<name>/main.ts` exporting `run(opts: RunOptions)` and add a line here; the
 * import is lazy so one experiment's dependencies do not load for another.
 */
import type { Experiment, Preset } from './lib/experiment.ts';

export interface ExperimentEntry {
  description: string;
  /** The presets this experiment defines. */
  presets: readonly Preset[];
  load: () => Promise<Experiment>;
}

export const EXPERIMENTS: Record<string, ExperimentEntry> = {
  demo: {
    description: 'softmax regression on MNIST: a template that exercises data, progress, plots and the report',
    presets: ['quick', 'full'],
    load: () => import('./demo/main.ts'),
  },
  eva: {
    description: 'EVA vs LoRA inits (default, gaussian, PiSSA, OLoRA, EVA rho 2 / rho 1) with lr sweeps, parameter-matched controls and ablations: char GPT Moby Dick -> names, MLP MNIST 0-4 -> digit subsets',
    presets: ['quick', 'standard', 'full'],
    load: () => import('./eva/main.ts'),
  },
  wm: {
    description: 'weight matching, AM, STE, MergeMany and the LMC / singular-vector analysis of Ito et al. (independent MNIST MLP pairs with paired 95% intervals, GPT pairs trained to early stopping)',
    presets: ['quick', 'standard', 'full'],
    load: () => import('./wm/main.ts'),
  },
  'wm-width': {
    description: "the WM reproduction's VGG-11 and ResNet-20 pairs at several widths (git-re-basin's width study on MNIST): barriers with BatchNorm reset, L2, R, and whether WM's barrier shrinks with width",
    presets: ['quick', 'standard', 'full'],
    load: () => import('./wm-width/main.ts'),
  },
};
