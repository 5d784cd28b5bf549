/**
 * What the WM reproduction's long, independent phases need, built lazily, and how each of them
 * is computed: training one MLP, GPT or CNN (stored as safetensors under outDir/models) and
 * analysing one MLP pair. main.ts computes them here in this process or, with `jobs` > 1, in
 * child processes (phase-worker.ts) that call the same `computePhase`: the same code from the
 * same stored inputs, so the same bits either way.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSafetensors, saveSafetensors } from '@tsgrad/nn';
import type { StateDict } from '@tsgrad/wm';
import type { Preset } from '../lib/experiment.ts';
import type { PhasePlan } from '../lib/phases.ts';
import { analyseCnnPair, cnnData, trainCnn, type CnnArch, type CnnData } from './cnn.ts';
import { analysePair, MlpContext, mnistData, type MnistData } from './mlp.ts';
import type { WmPreset } from './presets.ts';
import { charData, trainGpt, trainMlp, type CharData } from './train.ts';

/** What a child process needs to recompute one phase exactly as the parent would. */
export interface PhaseJob {
  /** Whose presets to read: the WM reproduction's (default) or its CNN width study's. */
  experiment?: 'wm' | 'wm-width';
  preset: Preset;
  outDir: string;
  pairs: number;
  key: string;
}

/** The arguments of a child process that computes phase `key` (see phase-worker.ts). */
export function childArgs(job: Omit<PhaseJob, 'key'>): (key: string) => string[] {
  return (key) => [fileURLToPath(new URL('./phase-worker.ts', import.meta.url)), JSON.stringify({ ...job, key })];
}

/**
 * Trained models as phases: trained once (here, or `jobs` at a time in child processes) and
 * stored as safetensors. Every later phase reads the stored copies, whichever process trained
 * them, so `--jobs` and `--resume` cannot change a bit (a state dict's key order, which the
 * loaded copy may not share with the trained model, decides the order of sums over parameters).
 */
export async function modelPhases<T>(plan: PhasePlan, env: WmPhaseEnv, keys: string[], jobs: number, child: (key: string) => string[]): Promise<{ sd: StateDict; info: T }[]> {
  const infos = await plan.runParallel(keys, jobs, (k) => env.computePhase(k) as T, child);
  return keys.map((k, i) => ({ sd: env.loadModel(k), info: infos[i]! }));
}

export class WmPhaseEnv {
  private mnist?: MnistData;
  private mlpCtx?: MlpContext;
  private chars?: CharData;
  private cnnD?: CnnData;

  constructor(
    readonly cfg: WmPreset,
    readonly pairs: number,
    readonly outDir: string,
    private readonly log: (msg: string) => void,
  ) {}

  get data(): MnistData {
    return (this.mnist ??= mnistData(this.cfg.data));
  }
  get ctx(): MlpContext {
    return (this.mlpCtx ??= new MlpContext(this.cfg, this.data));
  }
  get text(): CharData {
    return (this.chars ??= charData(0));
  }
  get cnn(): CnnData {
    return (this.cnnD ??= cnnData(this.cfg.cnn, this.data));
  }

  /** Where a model phase's weights are stored. */
  modelPath(key: string): string {
    return join(this.outDir, 'models', `${key.replace(/[^A-Za-z0-9._-]+/g, '_')}.safetensors`);
  }

  /** The weights a model phase stored (it must have run, here, in a child, or in an earlier run). */
  loadModel(key: string): StateDict {
    const path = this.modelPath(key);
    if (!existsSync(path)) throw new Error(`wm: phase '${key}' is stored but its weights '${path}' are missing; rerun without --resume`);
    return loadSafetensors(path).tensors;
  }

  private saveModel(key: string, sd: StateDict): void {
    const path = this.modelPath(key);
    mkdirSync(dirname(path), { recursive: true });
    saveSafetensors(path, sd);
  }

  /**
   * Computes one phase and returns its JSON result; a model phase also stores its weights.
   * Keys: `mlp/model/seedS`, `gpt/model/seedS`, `cnn/<arch>[/w<width>]/seedS`; `mlp/pairP`,
   * which reads the stored models 3P, 3P + 1 and 3P + 2; `cnn/<arch>[/w<width>]/pairP`, which
   * reads models 2P and 2P + 1 of that architecture and width.
   */
  computePhase(key: string): unknown {
    const seedOf = (m: RegExpMatchArray) => Number(m[m.length - 1]);
    let m = key.match(/^mlp\/model\/seed(\d+)$/);
    if (m) {
      const s = seedOf(m);
      const t = trainMlp(s, this.cfg.mlp, this.data.train.images, this.data.train.labels, `wm mlp seed ${s}`);
      return this.stored(key, t.model.stateDict({ clone: true }), { seed: s, seconds: t.seconds });
    }
    m = key.match(/^gpt\/model\/seed(\d+)$/);
    if (m) {
      const s = seedOf(m);
      const t = trainGpt(s, this.cfg.gpt, this.text, `wm gpt seed ${s}`);
      this.log(`gpt seed ${s}: best val loss ${Math.min(...t.curve.map((c) => c.valLoss)).toFixed(4)} at step ${t.bestStep}${t.stoppedEarly ? ' (early stop)' : ' (max steps)'}`);
      const info = { seed: s, seconds: t.seconds, curve: t.curve, bestStep: t.bestStep, stoppedEarly: t.stoppedEarly };
      return this.stored(key, t.model.stateDict({ clone: true }), info);
    }
    // cnn/<arch>/seedS at the preset's width, cnn/<arch>/w<width>/seedS at another (the width study)
    m = key.match(/^cnn\/(vgg11|resnet20)(?:\/w(\d+(?:\.\d+)?))?\/(seed|pair)(\d+)$/);
    if (m) {
      const arch = m[1] as CnnArch;
      const cfg = m[2] === undefined ? this.cfg.cnn : { ...this.cfg.cnn, width: Number(m[2]) };
      const s = seedOf(m);
      if (m[3] === 'pair') {
        const stem = key.slice(0, key.lastIndexOf('/pair'));
        return analyseCnnPair(arch, cfg, this.cnn, this.loadModel(`${stem}/seed${2 * s}`), this.loadModel(`${stem}/seed${2 * s + 1}`), s);
      }
      const t = trainCnn(arch, s, cfg, this.cnn, `wm ${arch}${m[2] === undefined ? '' : ` width ${m[2]}`} seed ${s}`);
      return this.stored(key, t.sd, { seed: s, seconds: t.seconds, finalLoss: t.finalLoss });
    }
    m = key.match(/^mlp\/pair(\d+)$/);
    if (m) {
      const p = seedOf(m);
      const [a, b, c] = [0, 1, 2].map((i) => this.loadModel(`mlp/model/seed${3 * p + i}`));
      return analysePair(this.ctx, a!, b!, c!, p, this.log);
    }
    throw new Error(`wm: no phase named '${key}'`);
  }

  private stored<T>(key: string, sd: StateDict, info: T): T {
    this.saveModel(key, sd);
    return info;
  }
}
