/**
 * report.md of the width study: the verdicts with their paired intervals, then one table per
 * architecture with a row per width (mean ± std over pairs).
 */
import { markdownTable } from '../lib/results.ts';
import { formatStat, verdictWord, type Verdict } from '../lib/stats.ts';
import type { WidthPreset } from './presets.ts';
import type { WidthSummary } from './summary.ts';

interface Metrics extends WidthSummary {
  config: WidthPreset & { pairs: number };
  wallSeconds: number;
  resumedPhases: number;
  pairs: number;
  dataset: { name: string; cnnTrainExamples: number };
  verdicts: (Verdict & { paper: string })[];
}

function interval(v: unknown): string {
  const one = (c: { meanDiff: number; ci95: [number, number]; n: number }) => `${c.meanDiff.toFixed(3)} [${c.ci95[0].toFixed(3)}, ${c.ci95[1].toFixed(3)}] (n = ${c.n})`;
  const o = v as { meanDiff?: number; ci95?: [number, number]; n?: number; naive?: { meanDiff: number; ci95: [number, number]; n: number } };
  if (o && typeof o.meanDiff === 'number') return one(o as never) + (o.naive ? `; naive: ${one(o.naive)}` : '');
  return JSON.stringify(v);
}

export function writeWidthReport({ preset, metrics: m }: { preset: string; metrics: Metrics }): string {
  const c = m.config;
  const o: string[] = [];
  o.push(`# CNN width study for weight matching (preset \`${preset}\`)`, '');
  o.push(
    `${m.pairs} independent pair(s) per architecture and width (seeds 2p, 2p + 1 at every width), ${c.cnn.epochs} epoch(s) of Adam ${c.cnn.lr} (batch ${c.cnn.batchSize}) ` +
      `on ${m.dataset.cnnTrainExamples} training digits of ${m.dataset.name}; ${c.cnn.lambdas} interpolation points on ${c.cnn.evalTest} test digits, ` +
      `BatchNorm statistics reset at every point on ${c.cnn.statsBatches} training batches of 100 (git-re-basin's protocol). Width 1 is nn's default ` +
      `(VGG-11: 16-128 channels; ResNet-20: 16 / 32 / 64). Wall time ${(m.wallSeconds / 60).toFixed(1)} min` +
      (m.resumedPhases > 0 ? ` (this invocation only: ${m.resumedPhases} phases were resumed)` : '') + '.',
    '',
  );
  o.push('## Verdicts', '', 'Each verdict comes from a paired comparison over the pairs: mean difference [95% t interval].', '');
  o.push(markdownTable(['claim', 'measured: mean diff [95% CI]', 'paper', 'rule', 'verdict'], m.verdicts.map((v) => [v.claim, interval(v.value), v.paper, v.rule, verdictWord(v.held)])), '');
  for (const arch of [...new Set(m.points.map((p) => p.arch))]) {
    o.push(`## ${arch}`, '');
    const rows = m.points
      .filter((p) => p.arch === arch)
      .map((p) => [
        String(p.width),
        formatStat(p.endpointTestAcc, 4),
        formatStat(p.barrier.naive.lossMaxGap),
        formatStat(p.barrier.wm.lossMaxGap),
        `${p.wmVsNaive.meanDiff.toFixed(3)} [${p.wmVsNaive.ci95[0].toFixed(3)}, ${p.wmVsNaive.ci95[1].toFixed(3)}]`,
        formatStat(p.barrier.wmNoReset.lossMaxGap),
        formatStat(p.l2Ratio),
        formatStat(p.R.wm!['0']!),
        formatStat(p.R.wm!['0.3']!),
        formatStat(p.trainSeconds, 1),
      ]);
    o.push(markdownTable(['width', 'endpoint test acc', 'barrier naive', 'barrier WM', 'WM - naive [95% CI]', 'WM without reset', 'L2 ratio', 'R(0) WM', 'R(0.3) WM', 'train s/model'], rows), '');
    o.push(`![${arch} barrier against width](width_${arch}_barrier.svg)`, '');
  }
  o.push(
    '## Notes',
    '',
    '- Barriers are the largest gap between the test loss along the path and the straight line between the endpoints (nats).',
    '- Every width trains for the same epochs on the same digits, so the wider nets are also better fitted; the papers\' width studies train each width to convergence. A trend here is the combined effect.',
    '- R(0.3) = R(0) means gamma = 0.3 kept every singular value (flat spectra); the R verdict is then "not applicable".',
    '- Wall times come from a shared 2-core machine; the losses and barriers are deterministic for a given seed.',
  );
  return o.join('\n') + '\n';
}
