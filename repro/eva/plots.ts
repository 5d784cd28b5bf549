/** The EVA reproduction's figures: loss curves, EVA's ranks, the lr sweep, convergence, init share, gradient norm. */
import { join } from 'node:path';
import { barChart, lineChart, writeSvg } from '../lib/plot.ts';
import { stat } from '../lib/stats.ts';
import type { TaskSummary } from './summary.ts';

/** `blocks.0.attn.q_proj` -> `0.q_proj` so bar labels stay short. */
function shortName(layer: string): string {
  return layer.replace(/^blocks\./, '').replace(/\.(attn|mlp)\./, '.');
}

/** The figures of one task. */
export async function taskPlots(outDir: string, s: TaskSummary): Promise<void> {
  const n = s.methods['eva']!.runs.length;
  const curves = (names: string[]) =>
    names.map((name) => {
      const c = s.methods[name]!.curve;
      return { name, x: c.map((p) => p.step), y: c.map((p) => p.evalLoss.mean), lower: c.map((p) => p.evalLoss.mean - p.evalLoss.std), upper: c.map((p) => p.evalLoss.mean + p.evalLoss.std) };
    });
  writeSvg(
    join(outDir, `loss-${s.task}.svg`),
    await lineChart({ title: `${s.task}: test loss during LoRA fine-tuning, each init at its chosen lr (mean ± std, ${n} seeds)`, xLabel: 'step', yLabel: 'test cross-entropy', series: curves([...s.groups.inits, ...s.groups.matched]) }),
  );
  if (s.groups.ablations.length) {
    writeSvg(
      join(outDir, `ablations-${s.task}.svg`),
      await lineChart({ title: `${s.task}: EVA and its ablations (mean ± std)`, xLabel: 'step', yLabel: 'test cross-entropy', series: curves(['eva', ...s.groups.ablations]) }),
    );
  }
  const layers = Object.keys(s.eva.ranks);
  writeSvg(
    join(outDir, `ranks-${s.task}.svg`),
    await barChart({
      title: `${s.task}: EVA rank per layer (rho 2, mean ± std over seeds; budget ${s.eva.rankBudget})`,
      xLabel: 'layer',
      yLabel: 'rank',
      width: Math.max(480, 60 * layers.length),
      categories: layers.map(shortName),
      series: [
        { name: 'EVA rho=2', values: layers.map((l) => s.eva.ranksMean[l]!), errors: layers.map((l) => stat(s.eva.ranksBySeed.map((r) => r.ranks[l]!)).std) },
        { name: 'uniform r', values: layers.map(() => s.eva.rankBudget / layers.length) },
      ],
    }),
  );
  const swept = Object.entries(s.lrSweep.inits);
  if (swept.length) {
    writeSvg(
      join(outDir, `lr-sweep-${s.task}.svg`),
      await lineChart({
        title: `${s.task}: final validation loss against learning rate (mean ± std, ${s.lrSweep.seeds.length} seeds)`,
        xLabel: 'log10 learning rate',
        yLabel: 'validation cross-entropy',
        smallMultiples: false,
        series: swept.map(([name, w]) => ({ name, x: w.byLr.map((b) => Math.log10(b.lr)), y: w.byLr.map((b) => b.finalValLoss.mean) })),
      }),
    );
  }
  if (s.convergence.length) {
    writeSvg(
      join(outDir, `convergence-${s.task}.svg`),
      await lineChart({
        title: `${s.task}: batches EVA needs to converge (tau ${s.finetune.tau}) against its batch size`,
        xLabel: 'log2 EVA batch size',
        yLabel: 'batches',
        series: [{ name: 'EVA', x: s.convergence.map((c) => Math.log2(c.batchSize)), y: s.convergence.map((c) => c.batches.mean), lower: s.convergence.map((c) => c.batches.mean - c.batches.std), upper: s.convergence.map((c) => c.batches.mean + c.batches.std) }],
      }),
    );
  }
}

/** The figures across tasks: init-time share and gradient norm at step 0. */
export async function summaryPlots(outDir: string, summaries: TaskSummary[]): Promise<void> {
  const inits = summaries[0]!.groups.inits;
  writeSvg(
    join(outDir, 'init-share.svg'),
    await barChart({
      title: 'Init time as % of fine-tuning time (mean over seeds)',
      xLabel: 'init',
      yLabel: '% of training time',
      categories: inits,
      series: summaries.map((s) => ({ name: s.task, values: inits.map((m) => s.methods[m]!.initSharePercent.mean) })),
    }),
  );
  writeSvg(
    join(outDir, 'grad-norm.svg'),
    await barChart({
      title: 'Gradient norm of the LoRA parameters at step 0 (mean ± std)',
      xLabel: 'init',
      yLabel: '||grad||',
      categories: inits,
      series: summaries.map((s) => ({ name: s.task, values: inits.map((m) => s.methods[m]!.gradNormAtStep0.mean), errors: inits.map((m) => s.methods[m]!.gradNormAtStep0.std) })),
    }),
  );
}
