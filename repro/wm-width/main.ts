/**
 * `pnpm repro wm-width`: the width study of the WM reproduction's CNNs (presets.ts says why).
 * For each architecture and width: 2 * pairs models from independent seeds (stored as
 * safetensors under outDir/models), each pair matched by WM and interpolated with the BatchNorm
 * statistics reset at every point, as in `pnpm repro wm`. Models and pairs are phases, so
 * `--resume` continues and `--jobs N` runs N of them at a time in child processes.
 */
import { join } from 'node:path';
import { presetOf, type RunOptions } from '../lib/experiment.ts';
import { PhasePlan } from '../lib/phases.ts';
import { lineChart, writeSvg } from '../lib/plot.ts';
import { runInfo, writeJson, writeReport } from '../lib/results.ts';
import type { CnnPairResult } from '../wm/cnn.ts';
import { childArgs, modelPhases, WmPhaseEnv } from '../wm/phase-env.ts';
import { WIDTH_PRESETS, widthEnvConfig } from './presets.ts';
import { writeWidthReport } from './report.ts';
import { summariseWidths, type WidthPoint, type WidthSummary } from './summary.ts';

export { WIDTH_PRESETS as PRESETS };

function log(msg: string): void {
  console.error(`[wm-width] ${msg}`);
}

export async function run(opts: RunOptions): Promise<string> {
  const wp = presetOf(WIDTH_PRESETS, opts.preset, 'wm-width');
  const pairs = opts.seeds !== undefined ? Math.max(1, Math.floor(opts.seeds / 2)) : wp.cnn.pairs;
  const t0 = performance.now();
  const plan = new PhasePlan({ outDir: opts.outDir, resume: opts.resume ?? false, settings: { ...wp, pairs } });
  const env = new WmPhaseEnv(widthEnvConfig(opts.preset), pairs, opts.outDir, log);
  const child = childArgs({ experiment: 'wm-width', preset: opts.preset, outDir: opts.outDir, pairs });
  const jobs = opts.jobs ?? 1;
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  const points: WidthPoint[] = [];
  for (const arch of wp.cnn.archs) {
    for (const width of wp.widths[arch] ?? []) {
      const stem = `cnn/${arch}/w${width}`;
      for (const s of range(2 * pairs)) plan.expect(`${stem}/seed${s}`, width * width);
      const models = await modelPhases<WidthPoint['training'][number]>(plan, env, range(2 * pairs).map((s) => `${stem}/seed${s}`), jobs, child);
      const results = await plan.runParallel(range(pairs).map((p) => `${stem}/pair${p}`), jobs, (k) => env.computePhase(k) as CnnPairResult, child);
      points.push({ arch, width, training: models.map((m) => m.info), pairs: results });
      const bar = (k: 'naive' | 'wm') => results.map((r) => r.curves[k].barrier.loss.test.maxGapToLinear.toFixed(3)).join(', ');
      log(`${arch} width ${width}: barrier naive ${bar('naive')}; wm ${bar('wm')}`);
    }
  }
  const trainExamples = env.cnn.trainImages.shape[0]!;
  const summary = summariseWidths(points, wp.cnn, trainExamples);
  const wallSeconds = (performance.now() - t0) / 1000;
  const metrics = {
    experiment: 'wm-width',
    preset: opts.preset,
    config: { ...wp, pairs },
    run: runInfo(),
    wallSeconds,
    resumedPhases: plan.resumed,
    dataset: { name: env.data.name, train: env.data.train.images.shape[0]!, test: env.data.test.images.shape[0]!, cnnTrainExamples: trainExamples },
    pairs,
    ...summary,
    perPair: points.map((p) => ({ arch: p.arch, width: p.width, pairs: p.pairs })),
  };
  writeJson(join(opts.outDir, 'metrics.json'), metrics);
  await writeWidthPlots(opts.outDir, summary);
  log(`done in ${wallSeconds.toFixed(0)} s`);
  return writeReport(opts.outDir, writeWidthReport({ preset: opts.preset, metrics }));
}

/** Barrier against width per architecture: naive, WM and WM without the reset, mean ± std over pairs. */
async function writeWidthPlots(outDir: string, s: WidthSummary): Promise<void> {
  for (const arch of [...new Set(s.points.map((p) => p.arch))]) {
    const mine = s.points.filter((p) => p.arch === arch);
    const series = (['naive', 'wm', 'wmNoReset'] as const).map((k) => {
      const st = mine.map((p) => p.barrier[k].lossMaxGap);
      return { name: k === 'wmNoReset' ? 'wm, no reset' : k, x: mine.map((p) => p.width), y: st.map((v) => v.mean), lower: st.map((v) => v.mean - v.std), upper: st.map((v) => v.mean + v.std) };
    });
    writeSvg(join(outDir, `width_${arch}_barrier.svg`), await lineChart({ title: `${arch}: test-loss barrier against width (mean ± std over pairs)`, xLabel: 'width multiplier', yLabel: 'barrier (max gap, nats)', series }));
  }
}
