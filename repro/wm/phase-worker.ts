/**
 * A child process of `pnpm repro wm --jobs N`: computes one phase (phase-env.ts) and stores it
 * under outDir/phases (and its weights under outDir/models), exactly as the parent process
 * would have; the parent then reads it back. Argument: one JSON-encoded `PhaseJob`.
 */
import { presetOf } from '../lib/experiment.ts';
import { PhasePlan } from '../lib/phases.ts';
import { WIDTH_PRESETS, widthEnvConfig } from '../wm-width/presets.ts';
import { WmPhaseEnv, type PhaseJob } from './phase-env.ts';
import { PRESETS } from './presets.ts';

const job = JSON.parse(process.argv[2] ?? '{}') as PhaseJob;
const width = job.experiment === 'wm-width';
const cfg = width ? widthEnvConfig(job.preset) : presetOf(PRESETS, job.preset, 'wm');
// the same settings the parent's plan fingerprints (see ../wm/main.ts, ../wm-width/main.ts)
const settings = width ? { ...presetOf(WIDTH_PRESETS, job.preset, 'wm-width'), pairs: job.pairs } : { ...cfg, pairs: job.pairs };
// quiet: the parent reports the phase and the overall ETA
const plan = new PhasePlan({ outDir: job.outDir, resume: false, settings, log: () => {} });
const env = new WmPhaseEnv(cfg, job.pairs, job.outDir, (msg) => console.error(`[wm] ${msg}`));
await plan.run(job.key, () => env.computePhase(job.key));
