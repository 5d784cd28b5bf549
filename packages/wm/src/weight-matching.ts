/**
 * Weight matching (Ainsworth et al., "Git Re-Basin", ICLR 2023, Sec. 3.2, Algorithm 1).
 *
 * Find pi maximising sum_k <theta_A[k], pi(theta_B)[k]> (equivalently minimising
 * ||theta_A - pi(theta_B)||^2, since a permutation keeps ||theta_B||). The problem is a sum of
 * bilinear assignment problems (NP-hard), so it is solved by coordinate descent: with every other
 * permutation fixed, the objective is linear in one permutation P_p,
 *     sum_{(k, axis) touched by p} <W_A[k], P_p W_B[k]'>  =  <C_p, P_p>,
 * where C_p[i, j] sums, over every weight touching p, row i of A's slice along that axis dotted
 * with row j of B's slice (B permuted on its other axes). Each such step is one linear assignment
 * (maximise), solved exactly by `linearSumAssignment`.
 */
import { add, matmul, Rng, zeros, type NDArray } from '@tsgrad/tensor';
import { blockRows } from './axis-blocks.ts';
import { linearSumAssignment, type Duals } from './lap.ts';
import { permutedDot } from './permuted-dot.ts';
import { checkCount, firstNonFinite } from './options.ts';
import { checkIsPermutation, clonePermutation, getPermutedParam, identityPermutation } from './permute.ts';
import { axisEntry, permSizes, type Permutation, type PermutationSpec, type StateDict } from './spec.ts';

export interface WeightMatchingOptions {
  /** Maximum number of sweeps over all permutations (git-re-basin: 100); an integer >= 1. */
  maxIter?: number;
  /** Starting permutation (default: identity). STE warm-starts from its previous one. */
  initPerm?: Permutation;
  /**
   * Warm-start LAP duals per permutation id, normally `duals` of a previous call on nearby
   * weights (Ito et al.'s "accelerated WM"). They change only the speed, never the result's
   * optimality, because every cost matrix here is square.
   */
  initDuals?: Record<string, Duals>;
  /** Seed of the random visiting order of the permutations in each sweep. */
  seed?: number;
  /** Called after each sweep with the sweep number (1-based) and the objective. */
  onSweep?: (sweep: number, objective: number) => void;
  /**
   * Precision of the cost matrices (default 'float64'). 'float32' computes them on the float32
   * GEMM (the fast backend's wasm SIMD kernel, several times faster), as git-re-basin does in
   * PyTorch's float32; the LAP and the reported objective stay float64. A permutation is then
   * replaced only when its gain exceeds float32 rounding (relative 1e-5 instead of 1e-12), so
   * "the objective never decreases" holds up to that rounding rather than exactly.
   */
  costDtype?: 'float64' | 'float32';
}

export interface WeightMatchingResult {
  /** The permutation of B's units: `applyPermutation(spec, perm, paramsB)` is close to A. */
  perm: Permutation;
  /**
   * `objective[0]` is sum_k <A_k, pi_0(B)_k> at the start (pi_0 = initPerm or identity, over the
   * spec's parameters); `objective[s]` is its value after sweep s. Never decreases.
   */
  objective: number[];
  /** Sweeps run, including the final one that found no improvement. */
  sweeps: number;
  /** True when a sweep improved nothing (false: stopped by maxIter). */
  converged: boolean;
  /** Final LAP duals per permutation id, to warm-start the next call. */
  duals: Record<string, Duals>;
}

/**
 * Every parameter the spec permutes must be present in both state dicts and finite: a NaN
 * would reach a cost matrix, where the error could only name a cell, not the parameter.
 */
function checkFiniteParams(spec: PermutationSpec, paramsA: StateDict, paramsB: StateDict): void {
  for (const key of Object.keys(spec.axesToPerm)) {
    for (const [side, params] of [['A', paramsA], ['B', paramsB]] as const) {
      const w = params[key];
      if (w === undefined) throw new Error(`weightMatching: '${key}' is missing from ${side}'s state dict`);
      // a dense array is scanned in place (STE checks both models at every step)
      const dense = w.isContiguous() && w.offset === 0 && w.data.length === w.size;
      const bad = firstNonFinite(dense ? w.data : w.toFloat64Array());
      if (bad) {
        throw new RangeError(`weightMatching: parameter '${key}' of ${side} holds ${bad.value} at flat index ${bad.index} (shape [${w.shape.join(', ')}]); weights must be finite`);
      }
    }
  }
}

/** sum over the spec's parameters of <A_k, pi(B)_k>, in float64 (no permuted copies). */
function objectiveOf(spec: PermutationSpec, perm: Permutation, a: StateDict, b: StateDict): number {
  let s = 0;
  for (const [key, axes] of Object.entries(spec.axesToPerm)) s = permutedDot(axes, perm, a[key]!, b[key]!, s);
  return s;
}

/**
 * For each permutation id, the ids its cost matrix is built from: those acting on the other axes
 * of every weight it touches (itself included when it also acts on another axis of one weight).
 */
function costDependencies(spec: PermutationSpec): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [id, touched] of Object.entries(spec.permToAxes)) {
    const set = new Set<string>();
    for (const { key, axis } of touched) {
      spec.axesToPerm[key]!.forEach((entry, other) => {
        const e = axisEntry(entry);
        if (e !== null && other !== axis) set.add(e.id);
      });
    }
    out[id] = [...set].sort();
  }
  return out;
}

/**
 * Coordinate descent over the spec's permutations, as git-re-basin's `weight_matching`: each sweep
 * visits the permutations in a fresh random order; for each one it builds the cost matrix summed
 * over every weight touching it (B permuted on its other axes by the current permutations) and
 * solves a maximising LAP. It stops after a sweep in which no permutation improved the objective
 * (relative tolerance 1e-12), or after `maxIter` sweeps.
 *
 * One deliberate difference: a permutation is replaced only when the LAP's value beats the
 * current one, so a tie or a rounding-level change never moves it (git-re-basin always takes
 * the LAP's answer). That makes "the objective never decreases" hold exactly.
 *
 * Refuses (naming the option or parameter): `maxIter` that is not an integer >= 1 (NaN
 * included), a non-integer `seed`, a `costDtype` other than 'float64' / 'float32', and a permuted parameter missing from either state dict
 * or holding NaN/Inf.
 * @example
 * const { perm, objective } = weightMatching(spec, modelA.stateDict(), modelB.stateDict(), { seed: 0 });
 * const bAligned = applyPermutation(spec, perm, modelB.stateDict());
 */
export function weightMatching(
  spec: PermutationSpec,
  paramsA: StateDict,
  paramsB: StateDict,
  opts: WeightMatchingOptions = {},
): WeightMatchingResult {
  checkCount('weightMatching', 'maxIter', opts.maxIter, 1);
  checkCount('weightMatching', 'seed', opts.seed, -(2 ** 53));
  const maxIter = opts.maxIter ?? 100;
  const costDtype = opts.costDtype ?? 'float64';
  if (costDtype !== 'float64' && costDtype !== 'float32') {
    throw new RangeError(`weightMatching: costDtype must be 'float64' or 'float32', got ${String(costDtype)}`);
  }
  // a gain below this (relative) is rounding, not progress: it never moves a permutation
  const tol = costDtype === 'float64' ? 1e-12 : 1e-5;
  checkFiniteParams(spec, paramsA, paramsB);
  const sizes = permSizes(spec, paramsA);
  const sizesB = permSizes(spec, paramsB);
  for (const [id, n] of Object.entries(sizes)) {
    if (sizesB[id] !== n) {
      throw new Error(`weightMatching: permutation '${id}' has size ${n} in A but ${sizesB[id]} in B`);
    }
  }
  for (const key of Object.keys(spec.axesToPerm)) {
    const sa = paramsA[key]!.shape;
    const sb = paramsB[key]!.shape;
    if (sa.length !== sb.length || sa.some((d, i) => d !== sb[i])) {
      throw new Error(`weightMatching: '${key}' has shape [${sa.join(', ')}] in A but [${sb.join(', ')}] in B`);
    }
  }
  const ids = Object.keys(sizes);
  const perm = opts.initPerm ? clonePermutation(opts.initPerm) : identityPermutation(spec, paramsA);
  for (const id of ids) {
    if (perm[id] === undefined) throw new Error(`weightMatching: initPerm lacks permutation '${id}'`);
    checkIsPermutation(perm[id]!, sizes[id]!, `weightMatching: initPerm '${id}'`);
  }
  const duals: Record<string, Duals> = {};
  if (opts.initDuals) for (const [id, d] of Object.entries(opts.initDuals)) duals[id] = d;

  // A's side of every cost matrix never changes: move each touched axis to the front once.
  const aRows = new Map<string, NDArray>();
  for (const id of ids) {
    for (const { key, axis, group } of spec.permToAxes[id]!) aRows.set(`${key}\u0000${axis}`, blockRows(paramsA[key]!, axis, group, costDtype));
  }

  const rng = new Rng(opts.seed ?? 0);
  const deps = costDependencies(spec);
  // version[id] counts the changes of perm[id]; usedVersions[id] holds the versions of deps[id]
  // that id's last cost matrix was built from. A cost matrix depends only on A, B and those
  // permutations, so when none of them changed the LAP would see the same matrix and again find
  // no gain: the visit is skipped. That makes the confirming last sweep cost only what changed.
  const version: Record<string, number> = Object.fromEntries(ids.map((id) => [id, 0]));
  const usedVersions: Record<string, number[] | undefined> = {};
  let current = objectiveOf(spec, perm, paramsA, paramsB);
  const objective = [current];
  let sweeps = 0;
  let converged = false;
  for (let it = 0; it < maxIter; it++) {
    sweeps++;
    let progress = false;
    const order = rng.permutation(ids.length);
    for (const o of order) {
      const id = ids[o]!;
      const n = sizes[id]!;
      const used = deps[id]!.map((d) => version[d]!);
      const last = usedVersions[id];
      if (last !== undefined && used.every((v, i) => v === last[i])) continue;
      usedVersions[id] = used;
      let costMatrix = zeros([n, n], costDtype);
      for (const { key, axis, group } of spec.permToAxes[id]!) {
        const bRows = blockRows(getPermutedParam(spec, perm, key, paramsB, axis), axis, group, costDtype);
        costMatrix = add(costMatrix, matmul(aRows.get(`${key}\u0000${axis}`)!, bRows.transpose(0, 1)));
      }
      const cost = costMatrix.toFloat64Array();
      const old = perm[id]!;
      let oldL = 0;
      for (let i = 0; i < n; i++) oldL += cost[i * n + old[i]!]!;
      const res = linearSumAssignment(
        { rows: n, cols: n, data: cost },
        { maximize: true, initDuals: duals[id] && duals[id]!.v.length === n ? duals[id] : undefined },
      );
      duals[id] = res.duals;
      const newL = res.total;
      if (newL > oldL + tol * Math.max(1, Math.abs(oldL))) {
        perm[id] = Int32Array.from(res.colInd);
        version[id]!++;
        current += newL - oldL;
        progress = true;
      }
    }
    // Recompute from scratch rather than trusting the running sum (rounding).
    current = objectiveOf(spec, perm, paramsA, paramsB);
    objective.push(current);
    opts.onSweep?.(sweeps, current);
    if (!progress) {
      converged = true;
      break;
    }
  }
  return { perm, objective, sweeps, converged, duals };
}
