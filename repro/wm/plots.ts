/** The WM reproduction's plots: means over independent pairs with ± std bands / error bars. */
import { join } from 'node:path';
import type { InterpolationCurve } from '@tsgrad/wm';
import { barChart, lineChart, writeSvg, type LineSeries } from '../lib/plot.ts';
import { meanStdCurves } from '../lib/results.ts';
import { stat } from '../lib/stats.ts';
import type { CnnPairResult } from './cnn.ts';
import type { GptPairResult } from './gpt.ts';
import { GAMMAS, MATCHERS, type PairResult } from './mlp.ts';
import type { ValPoint } from './train.ts';

type Field = 'testLoss' | 'testAcc' | 'trainLoss';

function banded(name: string, curves: InterpolationCurve[], field: Field): LineSeries {
  const m = meanStdCurves(curves.map((c) => c[field]));
  return { name, x: curves[0]!.lambdas, y: m.mean, lower: m.lower, upper: m.upper };
}

export async function writeWmPlots(outDir: string, pairs: PairResult[], gptPairs: GptPairResult[], gptCurves: ValPoint[][], cnnPairs: Record<string, CnnPairResult[]> = {}): Promise<void> {
  for (const [arch, ps] of Object.entries(cnnPairs)) {
    if (ps.length === 0) continue;
    writeSvg(
      join(outDir, `cnn_${arch}_interp_testLoss.svg`),
      await lineChart({
        title: `${arch} a -> pi(b), mean ± std over ${ps.length} pairs: test loss (BatchNorm reset unless noted)`,
        xLabel: 'lambda',
        yLabel: 'test loss',
        series: [banded('naive', ps.map((p) => p.curves.naive), 'testLoss'), banded('wm', ps.map((p) => p.curves.wm), 'testLoss'), banded('wm, no reset', ps.map((p) => p.wmNoReset), 'testLoss')],
      }),
    );
  }
  const n = pairs.length;
  for (const [field, name] of [['testLoss', 'test loss'], ['testAcc', 'test accuracy'], ['trainLoss', 'train loss']] as const) {
    writeSvg(
      join(outDir, `interp_${field}.svg`),
      await lineChart({
        title: `MLP a -> pi(b), mean ± std over ${n} pairs: ${name}`,
        xLabel: 'lambda',
        yLabel: name,
        series: (['naive', ...MATCHERS] as const).map((m) => banded(m, pairs.map((p) => p.curves[m]), field)),
      }),
    );
    writeSvg(
      join(outDir, `three_model_${field}.svg`),
      await lineChart({
        title: `pi_b(b) -> pi_c(c), both matched to a (${n} triplets): ${name}`,
        xLabel: 'lambda',
        yLabel: name,
        series: (['naive', 'wm', 'ste'] as const).map((m) => banded(m, pairs.map((p) => p.threeModel[m]), field)),
      }),
    );
  }
  const methods = ['naive', ...MATCHERS] as const;
  writeSvg(
    join(outDir, 'R_gamma.svg'),
    await barChart({
      title: `R(gamma), cross terms, mean ± std over ${n} pairs`,
      xLabel: 'gamma',
      yLabel: 'R',
      categories: GAMMAS.map(String),
      series: methods.map((m) => {
        const s = GAMMAS.map((_, i) => stat(pairs.map((p) => p.R[m].cross[i]!)));
        return { name: m, values: s.map((x) => x.mean), errors: s.map((x) => x.std) };
      }),
    }),
  );
  const epochs = Math.min(...pairs.map((p) => p.ste.meanLoss.length));
  if (epochs >= 1) {
    const xs = Array.from({ length: epochs }, (_, e) => e + 1);
    const band = (name: string, rows: number[][]): LineSeries => {
      const s = xs.map((_, e) => stat(rows.map((r) => r[e]!)));
      return { name, x: xs, y: s.map((v) => v.mean), lower: s.map((v) => v.mean - v.std), upper: s.map((v) => v.mean + v.std) };
    };
    writeSvg(
      join(outDir, 'ste_trace.svg'),
      await lineChart({
        title: 'STE per epoch: mean minibatch loss, permutation change rate, agreement with WM',
        xLabel: 'epoch',
        yLabel: 'value',
        series: [
          band('mean loss', pairs.map((p) => p.ste.meanLoss)),
          band('perm change rate', pairs.map((p) => p.ste.permChangeRate)),
          band('agreement with WM', pairs.map((p) => p.ste.agreementWithWm)),
        ],
      }),
    );
  }
  if (gptPairs.length > 0) {
    const keys = Object.keys(gptPairs[0]!.curves) as (keyof GptPairResult['curves'])[];
    writeSvg(
      join(outDir, 'gpt_interp_testLoss.svg'),
      await lineChart({
        title: `GPT a -> pi(b), mean ± std over ${gptPairs.length} pairs: validation loss`,
        xLabel: 'lambda',
        yLabel: 'validation loss',
        series: keys.map((k) => banded(k, gptPairs.map((p) => p.curves[k]), 'testLoss')),
      }),
    );
    writeSvg(
      join(outDir, 'gpt_training.svg'),
      await lineChart({
        title: 'GPT validation loss during training (early stopping)',
        xLabel: 'step',
        yLabel: 'validation loss',
        series: gptCurves.map((c, i) => ({ name: `seed ${i}`, x: c.map((p) => p.step), y: c.map((p) => p.valLoss) })),
      }),
    );
  }
}
