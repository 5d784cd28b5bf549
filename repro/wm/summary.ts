/**
 * From per-pair results to what metrics.json and the report quote: every seed-dependent scalar
 * as `{ mean, std, values }` (one value per independent pair), and one verdict per claim of the
 * paper, each decided from a paired comparison over pairs with its 95% t interval.
 */
import type { InterpolationCurve } from '@tsgrad/wm';
import { direction, pairedDiff, stat, type PairedComparison, type Stat, type Verdict } from '../lib/stats.ts';
import type { CnnConfig, CnnPairResult } from './cnn.ts';
import { LAYER_TYPES, type GptPairResult } from './gpt.ts';
import { GAMMAS, MATCHERS, VARIANTS, type PairResult } from './mlp.ts';

const g = (i: number) => String(GAMMAS[i]);

/** The barrier the verdicts use: test loss, max gap to the linear path (never negative), and the midpoint (Ito et al.'s tables). */
function barrierStats(curves: InterpolationCurve[]): { lossMaxGap: Stat; lossMidpoint: Stat; accMaxGap: Stat } {
  return {
    lossMaxGap: stat(curves.map((c) => c.barrier.loss.test.maxGapToLinear)),
    lossMidpoint: stat(curves.map((c) => c.barrier.loss.test.midpoint)),
    accMaxGap: stat(curves.map((c) => c.barrier.acc.test.maxGapToLinear)),
  };
}

function perEpoch(rows: number[][]): Stat[] {
  const n = Math.min(...rows.map((r) => r.length));
  return Array.from({ length: Number.isFinite(n) ? n : 0 }, (_, e) => stat(rows.map((r) => r[e]!)));
}

/** A paired comparison as a verdict's `value`: the interval and the per-pair differences. */
export function cmp(c: PairedComparison): { meanDiff: number; ci95: [number, number]; n: number; diffs: number[] } {
  return { meanDiff: c.diff.mean, ci95: c.ci95, n: c.n, diffs: c.diff.values };
}

function both(a: boolean, b: boolean): Verdict['held'] {
  return a && b ? true : a || b ? 'partly' : false;
}

export function summarise(pairs: PairResult[], merges: { models: number; sweeps: number; merged: { loss: number; acc: number }; naiveMean: { loss: number; acc: number }; endpointsMeanAcc: number }[], gptPairs: GptPairResult[]) {
  const methods = ['naive', ...MATCHERS] as const;
  const barrier = Object.fromEntries(methods.map((m) => [m, barrierStats(pairs.map((p) => p.curves[m]))])) as Record<(typeof methods)[number], ReturnType<typeof barrierStats>>;
  const l2Ratio = Object.fromEntries((['wm', 'am', 'ste', 'random'] as const).map((m) => [m, stat(pairs.map((p) => p.l2Ratio[m]))]));
  const R = Object.fromEntries(
    methods.map((m) => [m, Object.fromEntries(VARIANTS.map((v) => [v, Object.fromEntries(GAMMAS.map((_, i) => [g(i), stat(pairs.map((p) => p.R[m][v][i]!))]))]))]),
  ) as Record<string, Record<string, Record<string, Stat>>>;
  const layers = Object.keys(pairs[0]?.RPerLayer.wm ?? {});
  const RPerLayer = Object.fromEntries(
    (['naive', 'wm'] as const).map((m) => [m, Object.fromEntries(layers.map((l) => [l, Object.fromEntries(GAMMAS.map((_, i) => [g(i), stat(pairs.map((p) => p.RPerLayer[m][l]![i]!))]))]))]),
  );
  // spread of R over the WM searches within a pair (different random layer orders)
  const RWmSearchStd = Object.fromEntries(GAMMAS.map((_, i) => [g(i), stat(pairs.map((p) => stat(p.RWmSearches.map((r) => r[i]!)).std))]));
  const three = Object.fromEntries((['naive', 'wm', 'ste'] as const).map((m) => [m, barrierStats(pairs.map((p) => p.threeModel[m]))])) as Record<'naive' | 'wm' | 'ste', ReturnType<typeof barrierStats>>;
  const ste = {
    seconds: stat(pairs.map((p) => p.ste.seconds)),
    steps: pairs[0]?.ste.steps ?? 0,
    meanLossPerEpoch: perEpoch(pairs.map((p) => p.ste.meanLoss)),
    permChangeRatePerEpoch: perEpoch(pairs.map((p) => p.ste.permChangeRate)),
    agreementWithWmPerEpoch: perEpoch(pairs.map((p) => p.ste.agreementWithWm)),
  };
  const verdicts = verdictsOf(pairs, ste, barrier.wm.lossMaxGap.mean);
  const gpt = gptSummary(gptPairs);

  return {
    endpoints: { testAcc: stat(pairs.flatMap((p) => p.endpoints.testAcc)), testLoss: stat(pairs.flatMap((p) => p.endpoints.testLoss)) },
    barrier,
    l2Ratio,
    svMaxAbsDiff: stat(pairs.map((p) => p.svMaxAbsDiff)),
    R,
    RPerLayer,
    RWmSearchStd,
    agreement: { amWm: stat(pairs.map((p) => p.agreement.amWm)), steWm: stat(pairs.map((p) => p.agreement.steWm)) },
    ste,
    threeModel: three,
    mergeMany: merges.map((m) => ({ models: m.models, sweeps: m.sweeps, mergedTestAcc: stat([m.merged.acc]), naiveMeanTestAcc: stat([m.naiveMean.acc]), endpointsMeanTestAcc: stat([m.endpointsMeanAcc]) })),
    gpt,
    verdicts,
  };
}

export type WmSummary = ReturnType<typeof summarise>;

/** One verdict per claim of the paper, each from a paired comparison over the pairs. */
function verdictsOf(pairs: PairResult[], ste: { meanLossPerEpoch: Stat[]; permChangeRatePerEpoch: Stat[] }, wmBarrierMean: number): Verdict[] {
  const methods = ['naive', ...MATCHERS] as const;
  const bar = (m: (typeof methods)[number]) => pairs.map((p) => p.curves[m].barrier.loss.test.maxGapToLinear);
  const r = (m: (typeof methods)[number], gi: number) => pairs.map((p) => p.R[m].cross[gi]!);
  const ones = pairs.map(() => 1);
  const wmVsNaive = pairedDiff(bar('wm'), bar('naive'));
  const l2 = pairedDiff(pairs.map((p) => p.l2Ratio.wm), ones);
  const r03vs0 = pairedDiff(r('wm', 1), r('wm', 0));
  const r0vsNaive = pairedDiff(r('wm', 0), r('naive', 0));
  const amBar = pairedDiff(bar('am'), bar('naive'));
  const amR = pairedDiff(r('am', 1), r('naive', 1));
  const steBar = pairedDiff(bar('ste'), bar('naive'));
  const steR = pairedDiff(r('ste', 1), r('wm', 1));
  // STE's share of WM's alignment gain: (R_STE - R_none) - 1/2 (R_WM - R_none) at gamma 0.3
  const steHalfGain = pairedDiff(
    pairs.map((p) => p.R.ste.cross[1]! - p.R.naive.cross[1]!),
    pairs.map((p) => 0.5 * (p.R.wm.cross[1]! - p.R.naive.cross[1]!)),
  );
  const threeCmp = pairedDiff(
    pairs.map((p) => p.threeModel.wm.barrier.loss.test.maxGapToLinear),
    pairs.map((p) => p.threeModel.ste.barrier.loss.test.maxGapToLinear),
  );
  const threeMid = pairedDiff(
    pairs.map((p) => p.threeModel.wm.barrier.loss.test.midpoint),
    pairs.map((p) => p.threeModel.ste.barrier.loss.test.midpoint),
  );
  const svMax = Math.max(...pairs.map((p) => p.svMaxAbsDiff));
  const lastChange = ste.permChangeRatePerEpoch.at(-1)?.mean ?? NaN;
  const losses = ste.meanLossPerEpoch.map((s) => s.mean);
  const lossTrend = losses.length >= 2 ? (losses.at(-2)! - losses.at(-1)!) / losses.at(-2)! : NaN;
  const steConverged = losses.length >= 2 && lossTrend < 0.02 && lastChange < 0.5;
  const wmBarrierSmall = wmBarrierMean < 0.1;
  return [
    {
      claim: 'LMC after WM (the loss barrier after WM is small, far below the naive one)',
      rule: 'paired 95% CI of barrier(WM) - barrier(naive) below 0 (test loss, max gap to the linear path), and mean WM barrier < 0.1 nats; one of the two: partly',
      value: { ...cmp(wmVsNaive), wmBarrierMean },
      held: both(direction(wmVsNaive) === 'lower', wmBarrierSmall),
    },
    {
      claim: 'WM reduces the L2 distance only a little (paper: 6-20 %)',
      rule: 'paired 95% CI of L2(a, pi(b)) / L2(a, b) - 1 lies inside (-0.35, 0): a reduction, and less than 35 %',
      value: cmp(l2),
      held: l2.ci95[0] > -0.35 && l2.ci95[1] < 0 ? true : l2.ci95[1] < 0 ? 'partly' : false,
    },
    {
      claim: 'Singular values are unchanged by the permutation',
      rule: 'max over pairs and layers of |sigma(b) - sigma(pi_WM(b))| < 1e-4 (exact in exact arithmetic; no interval needed)',
      value: { maxAbsDiff: svMax },
      held: svMax < 1e-4,
    },
    {
      claim: 'Large singular vectors are aligned more: R(0.3) > R(0) after WM',
      rule: 'paired 95% CI of R_WM(0.3) - R_WM(0) (cross terms, mean of the WM searches) above 0',
      value: cmp(r03vs0),
      held: direction(r03vs0) === 'higher',
    },
    {
      claim: 'R(0) after WM > R without permutation',
      rule: 'paired 95% CI of R_WM(0) - R_none(0) above 0',
      value: cmp(r0vsNaive),
      held: direction(r0vsNaive) === 'higher',
    },
    {
      claim: 'AM behaves like WM (LMC and aligned large singular vectors)',
      rule: 'paired CIs: barrier(AM) - barrier(naive) below 0 and R_AM(0.3) - R_none(0.3) above 0; one of the two: partly',
      value: { barrier: cmp(amBar), R03: cmp(amR) },
      held: both(direction(amBar) === 'lower', direction(amR) === 'higher'),
    },
    {
      claim: 'STE reaches LMC without aligning singular vectors',
      rule: `paired CIs: barrier(STE) - barrier(naive) below 0 (LMC), and (R_STE(0.3) - R_none(0.3)) - 1/2 (R_WM(0.3) - R_none(0.3)) below 0 (STE recovers less than half of WM's alignment gain; the paper has R_STE near R_none); one of the two: partly. R_STE(0.3) - R_WM(0.3) is reported alongside. STE counted as converged when its last epoch lowered the mean loss by < 2 % and changed the permutation on < 50 % of steps (here: ${steConverged ? 'converged' : 'not shown converged'})`,
      value: { barrier: cmp(steBar), halfGain: cmp(steHalfGain), R03VsWm: cmp(steR), steConverged, lastEpochPermChangeRate: lastChange, lastEpochRelativeLossDrop: lossTrend },
      held: both(direction(steBar) === 'lower', direction(steHalfGain) === 'lower'),
    },
    {
      claim: 'WM beats STE with three models (barrier between pi_b(b) and pi_c(c), both matched to a)',
      rule: 'paired 95% CI of barrier_WM - barrier_STE (three-model, test loss, max gap) below 0',
      // the paper's table is presumably the midpoint barrier (it can be negative): reported alongside
      value: { maxGap: cmp(threeCmp), midpoint: cmp(threeMid) },
      held: direction(threeCmp) === 'lower',
    },
  ];

}

/** The GPT pairs: barriers, and L2 ratio and R by layer type, as Stats over pairs. */
function gptSummary(gptPairs: GptPairResult[]) {
  const gptKeys = Object.keys(gptPairs[0]?.curves ?? {}) as (keyof GptPairResult['curves'])[];
  return {
    barrier: Object.fromEntries(gptKeys.map((k) => [k, barrierStats(gptPairs.map((p) => p.curves[k]))])),
    l2Ratio: Object.fromEntries(
      Object.keys(gptPairs[0]?.l2Ratio ?? {}).map((m) => [m, Object.fromEntries((['all', ...LAYER_TYPES] as const).map((t) => [t, stat(gptPairs.map((p) => p.l2Ratio[m]![t]))]))]),
    ),
    R: Object.fromEntries(
      Object.keys(gptPairs[0]?.R ?? {}).map((m) => [
        m,
        Object.fromEntries((['all', ...LAYER_TYPES] as const).map((t) => [t, Object.fromEntries(GAMMAS.map((_, i) => [g(i), stat(gptPairs.map((p) => p.R[m]![t][i]!))]))])),
      ]),
    ),
    endpointValLoss: stat(gptPairs.flatMap((p) => p.endpoints.valLoss)),
    endpointValAcc: stat(gptPairs.flatMap((p) => p.endpoints.valAcc)),
    invarianceMaxAbsDiff: Math.max(...gptPairs.flatMap((p) => Object.values(p.invarianceMaxAbsDiff))),
    wmVsNaive:
      gptPairs.length > 0
        ? Object.fromEntries(
            gptKeys
              .filter((k) => k !== 'naive')
              .map((k) => [k, cmp(pairedDiff(gptPairs.map((p) => p.curves[k].barrier.loss.test.maxGapToLinear), gptPairs.map((p) => p.curves.naive.barrier.loss.test.maxGapToLinear)))]),
          )
        : {},
  };

}

/** The CNN part per architecture: barriers (BatchNorm reset), L2 ratio and R as Stats over pairs, and its verdicts. */
export function summariseCnn(runs: Record<string, { training: { seed: number; seconds: number; finalLoss: number }[]; pairs: CnnPairResult[] }>, cfg: CnnConfig, trainExamples: number) {
  const verdicts: (Verdict & { paper: string })[] = [];
  const archs = Object.fromEntries(
    Object.entries(runs).map(([arch, { training, pairs }]) => {
      const bar = (k: 'naive' | 'wm') => pairs.map((p) => p.curves[k].barrier.loss.test.maxGapToLinear);
      const rOf = (k: 'naive' | 'wm', gi: number) => pairs.map((p) => p.R[k][gi]!);
      const wmVsNaive = pairedDiff(bar('wm'), bar('naive'));
      const r03vs0 = pairedDiff(rOf('wm', 1), rOf('wm', 0));
      const wmMean = stat(bar('wm')).mean;
      // R(0.3) = R(0) to the last bit in every pair means gamma kept every singular value of every
      // layer (a flat spectrum, as a narrow, briefly trained net still has): the claim is untestable
      const gammaRemovesNothing = pairs.every((p) => (['naive', 'wm'] as const).every((k) => p.R[k][1] === p.R[k][0]));
      verdicts.push(
        {
          claim: `LMC after WM (${arch}, BatchNorm statistics reset along the path)`,
          rule: 'paired 95% CI of barrier(WM) - barrier(naive) below 0 (test loss, max gap), and mean WM barrier < 0.1 nats; one of the two: partly',
          value: { ...cmp(wmVsNaive), wmBarrierMean: wmMean },
          held: both(direction(wmVsNaive) === 'lower', wmMean < 0.1),
          paper: 'VGG / ResNet on CIFAR-10 and MNIST: barrier near 0 after WM at large width (git-re-basin, Ito et al.)',
        },
        {
          claim: `Large singular vectors aligned more: R_WM(0.3) > R_WM(0) (${arch})`,
          rule: 'paired 95% CI of R_WM(0.3) - R_WM(0) above 0 (conv kernels as [out, in kh kw] matrices); not applicable when R(0.3) = R(0) exactly in every pair (no singular value of any layer is below 0.3 x its largest, so gamma selects nothing)',
          value: { ...cmp(r03vs0), gammaRemovesNothing },
          held: gammaRemovesNothing ? null : direction(r03vs0) === 'higher',
          paper: 'R_WM(0.3) about 0.2 for VGG / ResNet',
        },
      );
      const layers = Object.keys(pairs[0]?.RPerLayer.wm ?? {});
      return [
        arch,
        {
          pairs: pairs.length,
          trainSeconds: stat(training.map((t) => t.seconds)),
          endpointTestAcc: stat(pairs.flatMap((p) => p.endpoints.testAcc)),
          barrier: { naive: barrierStats(pairs.map((p) => p.curves.naive)), wm: barrierStats(pairs.map((p) => p.curves.wm)), wmNoReset: barrierStats(pairs.map((p) => p.wmNoReset)) },
          l2Ratio: stat(pairs.map((p) => p.l2Ratio)),
          R: Object.fromEntries((['naive', 'wm'] as const).map((k) => [k, Object.fromEntries(GAMMAS.map((_, i) => [g(i), stat(rOf(k, i))]))])),
          RPerLayer: Object.fromEntries(
            (['naive', 'wm'] as const).map((k) => [k, Object.fromEntries(layers.map((l) => [l, Object.fromEntries(GAMMAS.map((_, i) => [g(i), stat(pairs.map((p) => p.RPerLayer[k][l]![i]!))]))]))]),
          ),
          invarianceMaxAbsDiff: Math.max(...pairs.map((p) => p.invarianceMaxAbsDiff)),
        },
      ];
    }),
  );
  return { config: cfg, trainExamples, archs, verdicts };
}

export type CnnSummary = ReturnType<typeof summariseCnn>;
