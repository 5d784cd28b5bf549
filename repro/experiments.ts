/**
 * The registry of reproductions that `pnpm repro <name>` can run. To add one, write
 * `repro/<name>/main.ts` exporting `run(opts: RunOptions)` and add a line here; the
 * import is lazy so one experiment's dependencies do not load for another.
 */
import type { Experiment } from './lib/experiment.ts';

export interface ExperimentEntry {
  description: string;
  load: () => Promise<Experiment>;
}

export const EXPERIMENTS: Record<string, ExperimentEntry> = {
  demo: {
    description: 'softmax regression on MNIST: a template that exercises data, progress, plots and the report',
    load: () => import('./demo/main.ts'),
  },
  eva: { description: 'EVA vs LoRA inits (default, gaussian, PiSSA, OLoRA, EVA rho 2 / rho 1): char GPT Moby Dick -> names, MLP MNIST 0-4 -> 5-9', load: () => import('./eva/main.ts') },
  wm: { description: 'weight matching, AM, STE, MergeMany and the LMC / singular-vector analysis of Ito et al. (MNIST MLPs, two GPTs)', load: () => import('./wm/main.ts') },
};
