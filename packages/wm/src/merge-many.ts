/**
 * MergeMany (Ainsworth et al., Git Re-Basin, Sec. 4.3 / Algorithm 2; git-re-basin's
 * `mnist_mlp_wm_many.py`): align N models to a common basis by matching each, in turn, to the
 * mean of the others' current permuted versions, until a sweep over the models makes no progress.
 */
import type { StateDict } from '@tsgrad/nn';
import { Rng } from '@tsgrad/tensor';
import { checkCount } from './options.ts';
import { applyPermutation, identityPermutation } from './permute.ts';
import { stateDictOf, type HasStateDict, type Permutation, type PermutationSpec } from './spec.ts';
import { l2Distance, meanStateDicts } from './state.ts';
import { weightMatching } from './weight-matching.ts';

export interface MergeManyOptions {
  /** Sweeps over the models at most (default 100). */
  maxIter?: number;
  seed?: number;
  /** Called after each sweep with the summed distance of every model to the mean of the others. */
  onSweep?: (sweep: number, totalDistance: number) => void;
}

export interface MergeManyResult {
  /** One permutation per model, mapping it into the common basis. */
  perms: Permutation[];
  /** The permuted models. */
  aligned: StateDict[];
  /** Their mean: the merged model. */
  merged: StateDict;
  sweeps: number;
  /** Summed distance of each model to the mean of the others, at the start and after each sweep. */
  distances: number[];
}

/**
 * Merges several models of one architecture by MergeMany.
 * @example
 * const { merged } = mergeMany(spec, [sd1, sd2, sd3, sd4], { seed: 0 });
 */
export function mergeMany(spec: PermutationSpec, models: readonly HasStateDict[], opts: MergeManyOptions = {}): MergeManyResult {
  if (models.length < 2) throw new Error(`mergeMany: need at least 2 models, got ${models.length}`);
  checkCount('mergeMany', 'maxIter', opts.maxIter, 1);
  checkCount('mergeMany', 'seed', opts.seed, -(2 ** 53));
  const maxIter = opts.maxIter ?? 100;
  const rng = new Rng(opts.seed ?? 0);
  const originals = models.map((m) => stateDictOf(m));
  const perms = originals.map((sd) => identityPermutation(spec, sd));
  const aligned = [...originals];
  const meanOfOthers = (i: number) => meanStateDicts(aligned.filter((_, j) => j !== i));
  const total = () => aligned.reduce((s, sd, i) => s + l2Distance(meanOfOthers(i), sd), 0);
  const distances = [total()];
  let sweeps = 0;
  for (let it = 0; it < maxIter; it++) {
    sweeps++;
    let progress = false;
    for (const i of rng.permutation(models.length)) {
      const target = meanOfOthers(i);
      const before = l2Distance(target, aligned[i]!);
      const wm = weightMatching(spec, target, originals[i]!, { initPerm: perms[i], seed: rng.nextUint32() });
      const candidate = applyPermutation(spec, wm.perm, originals[i]!);
      const after = l2Distance(target, candidate);
      // WM never worsens its own objective, which is this distance; only accept real gains.
      if (after < before - 1e-12 * Math.max(1, before)) {
        progress = true;
        perms[i] = wm.perm;
        aligned[i] = candidate;
      }
    }
    distances.push(total());
    opts.onSweep?.(sweeps, distances.at(-1)!);
    if (!progress) break;
  }
  return { perms, aligned, merged: meanStateDicts(aligned), sweeps, distances };
}
