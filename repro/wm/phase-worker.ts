/**
 * A child process of `pnpm repro wm --jobs N`: computes one phase (phase-env.ts) and stores it
 * under outDir/phases (and its weights under outDir/models), exactly as the parent process
 * would have; the parent then reads it back. Argument: one JSON-encoded `PhaseJob`.
 */
import { presetOf } from '../lib/experiment.ts';
import { PhasePlan } from '../lib/phases.ts';
import { WmPhaseEnv, type PhaseJob } from './phase-env.ts';
import { PRESETS } from './presets.ts';

const job = JSON.parse(process.argv[2] ?? '{}') as PhaseJob;
const cfg = presetOf(PRESETS, job.preset, 'wm');
// quiet: the parent reports the phase and the overall ETA
const plan = new PhasePlan({ outDir: job.outDir, resume: false, settings: { ...cfg, pairs: job.pairs }, log: () => {} });
const env = new WmPhaseEnv(cfg, job.pairs, job.outDir, (msg) => console.error(`[wm] ${msg}`));
await plan.run(job.key, () => env.computePhase(job.key));
