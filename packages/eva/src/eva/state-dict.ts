/**
 * Phase 4 of EVA: the state dict. Layer l's A init is the first r_l principal components of
 * its hook layer's PCA (each divided by the square root of its singular value when
 * whitening, PEFT's definition); a rank-0 layer gets a [0, in] entry, which tells the loader
 * to remove its adapter.
 */
import * as nd from '@tsgrad/tensor';
import type { PcaHook } from './pca-hook.ts';
import type { EvaStateDict, EvaTarget } from './types.ts';

/**
 * The A inits of every target, in model order. With `peftInPlace` (PEFT parity, see
 * `EvaOptions.peftCompatibleWhitening`), row i of a layer whose PCA is shared is divided by
 * sqrt(s_i) once for every member of its group whose rank exceeds i, as PEFT's in-place
 * division of the shared components does.
 */
export function buildEvaStateDict(
  targets: readonly EvaTarget[],
  hookOf: (name: string) => PcaHook,
  ranks: ReadonlyMap<string, number>,
  whiten: boolean,
  peftInPlace = false,
): EvaStateDict {
  // times row i of each shared PCA is divided: 1 per member with rank > i under PEFT, else 1
  const divisions = new Map<PcaHook, number[]>();
  for (const t of targets) {
    const h = hookOf(t.name);
    const d = divisions.get(h) ?? [];
    for (let i = 0; i < ranks.get(t.name)!; i++) d[i] = (d[i] ?? 0) + 1;
    divisions.set(h, d);
  }
  const stateDict: EvaStateDict = {};
  for (const t of targets) {
    const rank = ranks.get(t.name)!;
    const h = hookOf(t.name);
    if (!h.done(rank)) throw new Error(`EVA: internal error, layer '${t.name}' finished unconverged`);
    const d = h.pca.nFeatures;
    const a = h.pca.componentsData.slice(0, rank * d);
    if (whiten) {
      const s = h.pca.singularValues.toFloat64Array();
      const times = divisions.get(h)!;
      for (let i = 0; i < rank; i++) {
        const f = Math.sqrt(s[i]!) ** -(peftInPlace ? times[i]! : 1);
        for (let j = 0; j < d; j++) a[i * d + j]! *= f;
      }
    }
    stateDict[t.name] = nd.NDArray.fromTyped(a, [rank, d]);
  }
  return stateDict;
}

/**
 * Target layers whose input had zero variance over every row the PCA saw (a constant
 * input, e.g. after a dead ReLU layer). All their explained-variance ratios are 0, so the
 * redistribution ranks them last (rank 0 whenever the other layers can take the budget),
 * and their principal directions are arbitrary.
 */
export function zeroVarianceLayers(targets: readonly EvaTarget[], hookOf: (name: string) => PcaHook): string[] {
  const out: string[] = [];
  for (const t of targets) {
    const h = hookOf(t.name);
    if (h.pca.fitted && h.pca.variance.toFloat64Array().every((v) => v === 0)) out.push(t.name);
  }
  return out;
}
