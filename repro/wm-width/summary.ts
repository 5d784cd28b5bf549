/**
 * The width study's statistics: per architecture and width, the WM reproduction's CNN summary
 * (barriers with the BatchNorm reset, L2 ratio, R; mean ± std over pairs), and per
 * architecture the trend verdicts. Pair p has seeds 2p and 2p + 1 at every width, so widths are
 * compared pair by pair (a paired t interval over p).
 */
import { direction, pairedDiff, stat, type Verdict } from '../lib/stats.ts';
import type { CnnArch, CnnConfig, CnnPairResult } from '../wm/cnn.ts';
import { cmp, summariseCnn } from '../wm/summary.ts';

export interface WidthPoint {
  arch: CnnArch;
  width: number;
  training: { seed: number; seconds: number; finalLoss: number }[];
  pairs: CnnPairResult[];
}

const barrierOf = (p: WidthPoint, k: 'naive' | 'wm') => p.pairs.map((r) => r.curves[k].barrier.loss.test.maxGapToLinear);

/**
 * Summaries per point, and per architecture three verdicts: WM's barrier at the widest width
 * is below the narrowest's; LMC after WM at the widest width; R_WM(0.3) > R_WM(0) there.
 * @example const { points, verdicts } = summariseWidths(points, cfg, 4000);
 */
export function summariseWidths(points: WidthPoint[], cnn: CnnConfig, trainExamples: number) {
  const verdicts: (Verdict & { paper: string })[] = [];
  const summaries = points.map((p) => {
    const one = summariseCnn({ [p.arch]: { training: p.training, pairs: p.pairs } }, { ...cnn, width: p.width }, trainExamples);
    return { arch: p.arch, width: p.width, ...one.archs[p.arch]!, wmVsNaive: cmp(pairedDiff(barrierOf(p, 'wm'), barrierOf(p, 'naive'))), verdicts: one.verdicts };
  });
  for (const arch of [...new Set(points.map((p) => p.arch))]) {
    const mine = points.filter((p) => p.arch === arch).sort((a, b) => a.width - b.width);
    if (mine.length < 2) continue;
    const [narrow, wide] = [mine[0]!, mine.at(-1)!];
    const trend = pairedDiff(barrierOf(wide, 'wm'), barrierOf(narrow, 'wm'));
    const naiveTrend = pairedDiff(barrierOf(wide, 'naive'), barrierOf(narrow, 'naive'));
    verdicts.push({
      claim: `WM's barrier shrinks as the width grows (${arch}, width ${narrow.width} -> ${wide.width})`,
      rule: 'paired 95% CI (over pair index p: seeds 2p, 2p + 1 at both widths) of barrier_WM(widest) - barrier_WM(narrowest) below 0; the naive barrier\'s change is reported alongside',
      value: { ...cmp(trend), naive: cmp(naiveTrend) },
      held: direction(trend) === 'lower',
      paper: 'git-re-basin (Fig. 4, width study): the barrier after matching falls towards 0 as the width grows; Ito et al. see LMC only at large width',
    });
    const widest = summaries.find((s) => s.arch === arch && s.width === wide.width)!;
    for (const v of widest.verdicts) verdicts.push({ ...v, claim: `${v.claim} at width ${wide.width}` });
  }
  return { points: summaries.map(({ verdicts: _v, ...rest }) => rest), verdicts, trainSeconds: stat(points.flatMap((p) => p.training.map((t) => t.seconds))) };
}

export type WidthSummary = ReturnType<typeof summariseWidths>;
