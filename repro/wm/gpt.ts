/**
 * The transformer part: character GPTs trained until validation loss stops improving, matched
 * in pairs by WM with whole-head permutations, with the residual stream left alone ('identity')
 * or permuted by one shared permutation ('shared'). Barrier, and L2 and R by layer type.
 * With the shared residual, a second stage also permutes inside each head (matchWithinHeads).
 */
import { GPT } from '@tsgrad/nn';
import {
  alignmentR,
  applyPermutation,
  assertInvariance,
  gptPermutationSpec,
  interpolate,
  l2Distance,
  layerSVDs,
  matchWithinHeads,
  linspace01,
  randomPermutation,
  weightMatching,
  weightMatrixKeys,
  type ArrayBatch as Batch,
  type InterpolationCurve,
  type StateDict,
} from '@tsgrad/wm';
import { Progress } from '../lib/progress.ts';
import { GAMMAS } from './mlp.ts';
import { windowBatches, type CharData, type GptTrainConfig } from './train.ts';

export const RESIDUALS = ['identity', 'shared'] as const;
export const LAYER_TYPES = ['attention', 'mlp', 'embedding'] as const;
export type LayerType = (typeof LAYER_TYPES)[number];

/** Which part of the GPT a 2-D parameter belongs to. */
export function layerType(key: string): LayerType {
  if (/\.attn\./.test(key)) return 'attention';
  if (/\.mlp\./.test(key)) return 'mlp';
  return 'embedding';
}

export interface GptPairResult {
  endpoints: { valLoss: number[]; valAcc: number[] };
  curves: Record<'naive' | `wm_${(typeof RESIDUALS)[number]}` | 'wm_shared_inhead', InterpolationCurve>;
  /** L2(a, pi(b)) / L2(a, b) per residual mode and layer type ('all' too); random permutation alongside. */
  l2Ratio: Record<string, Record<LayerType | 'all', number>>;
  /** R(cross) per method ('naive', 'wm_identity', 'wm_shared') and layer type, per gamma. */
  R: Record<string, Record<LayerType | 'all', number[]>>;
  invarianceMaxAbsDiff: Record<string, number>;
  wmSweeps: Record<string, number>;
}

export function gptModel(cfg: GptTrainConfig, vocabSize: number): GPT {
  return new GPT({ vocabSize, contextLength: cfg.contextLength, dModel: cfg.dModel, nHeads: cfg.nHeads, nLayers: cfg.nLayers, seed: 0 });
}

export function analyseGptPair(cfg: GptTrainConfig, data: CharData, sdA: StateDict, sdB: StateDict, pair: number, lambdaCount: number): GptPairResult {
  const net = gptModel(cfg, data.tokenizer.vocabSize);
  net.loadStateDict(sdA);
  const evalTrain: Batch[] = windowBatches(data.train, cfg.contextLength, cfg.evalWindows, 32);
  const evalVal: Batch[] = windowBatches(data.val, cfg.contextLength, cfg.evalWindows, 32);
  const probe = evalVal[0]!.input.slice(0, 0, 4).contiguous();
  const lambdas = linspace01(lambdaCount);
  const interp = (x: StateDict, y: StateDict, label: string) => {
    const progress = new Progress(lambdas.length, { label });
    const out = interpolate(x, y, lambdas, { train: evalTrain, test: evalVal, net, onPoint: (i) => progress.update(i + 1) });
    progress.stop();
    return out;
  };
  const curves = { naive: interp(sdA, sdB, `gpt pair ${pair} naive`) } as GptPairResult['curves'];
  const specAny = gptPermutationSpec(net, { residual: 'shared', heads: true });
  const keys = weightMatrixKeys(specAny, sdA);
  const byType = (t: LayerType | 'all') => keys.filter((k) => t === 'all' || layerType(k) === t);
  const svdA = layerSVDs(sdA, keys);
  const svdB = layerSVDs(sdB, keys);
  const rByType = (res: ReturnType<typeof alignmentR>) =>
    Object.fromEntries(
      (['all', ...LAYER_TYPES] as const).map((t) => [
        t,
        GAMMAS.map((_, g) => {
          let num = 0;
          let den = 0;
          for (const k of byType(t)) {
            num += res.perLayer[k]![g]! * res.counts[k]![g]!;
            den += res.counts[k]![g]!;
          }
          return den > 0 ? num / den : 0;
        }),
      ]),
    ) as Record<LayerType | 'all', number[]>;
  const l2ByType = (x: StateDict) =>
    Object.fromEntries((['all', ...LAYER_TYPES] as const).map((t) => [t, l2Distance(sdA, x, byType(t)) / l2Distance(sdA, sdB, byType(t))])) as Record<LayerType | 'all', number>;

  const R: GptPairResult['R'] = { naive: rByType(alignmentR(specAny, svdA, svdB, null, GAMMAS)) };
  const l2Ratio: GptPairResult['l2Ratio'] = {};
  const invarianceMaxAbsDiff: Record<string, number> = {};
  const wmSweeps: Record<string, number> = {};
  for (const residual of RESIDUALS) {
    const spec = gptPermutationSpec(net, { residual, heads: true });
    invarianceMaxAbsDiff[residual] = assertInvariance(net, applyPermutation(spec, randomPermutation(spec, sdA, 5 + pair), sdA), probe, {
      what: `GPT spec, residual ${residual}`,
    }).maxAbsDiff;
    const res = weightMatching(spec, sdA, sdB, { seed: pair });
    wmSweeps[residual] = res.sweeps;
    const permuted = applyPermutation(spec, res.perm, sdB);
    net.loadStateDict(sdB);
    assertInvariance(net, permuted, probe, { what: `GPT WM permutation, residual ${residual}` });
    net.loadStateDict(sdA);
    curves[`wm_${residual}`] = interp(sdA, permuted, `gpt pair ${pair} wm ${residual}`);
    l2Ratio[`wm_${residual}`] = l2ByType(permuted);
    l2Ratio[`random_${residual}`] = l2ByType(applyPermutation(spec, randomPermutation(spec, sdB, 77 + pair), sdB));
    R[`wm_${residual}`] = rByType(alignmentR(spec, svdA, svdB, res.perm, GAMMAS));
    if (residual !== 'shared') continue;
    // second stage: permutations inside each head (q/k rows; v rows with out_proj columns)
    const inHead = matchWithinHeads(sdA, permuted, cfg.nHeads).params;
    net.loadStateDict(sdB);
    assertInvariance(net, inHead, probe, { what: 'GPT WM + within-head permutation' });
    net.loadStateDict(sdA);
    curves.wm_shared_inhead = interp(sdA, inHead, `gpt pair ${pair} wm shared + in-head`);
    l2Ratio.wm_shared_inhead = l2ByType(inHead);
    // pi(B)'s SVD directly (the in-head stage is not a spec permutation), compared unpermuted
    R.wm_shared_inhead = rByType(alignmentR(specAny, svdA, layerSVDs(inHead, keys), null, GAMMAS));
  }
  return {
    endpoints: { valLoss: [curves.naive.testLoss[0]!, curves.naive.testLoss.at(-1)!], valAcc: [curves.naive.testAcc[0]!, curves.naive.testAcc.at(-1)!] },
    curves,
    l2Ratio,
    R,
    invarianceMaxAbsDiff,
    wmSweeps,
  };
}
