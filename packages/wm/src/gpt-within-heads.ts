/**
 * Permutations inside attention heads, the optional second stage of GPT weight matching (after
 * whole heads are matched by {@link gptPermutationSpec}): within head h, the score q_h k_h^T is
 * unchanged by one permutation shared by the rows of q_proj and k_proj (dot products of equally
 * permuted vectors), and softmax(.) v_h W_out,h by one permutation shared by the rows of v_proj
 * and the columns of out_proj. Each is an independent LAP per head and block, solved exactly; the
 * objective (the inner product with A over those parameters) never decreases.
 */
import type { StateDict } from '@tsgrad/nn';
import { matmul } from '@tsgrad/tensor';
import { blockRows, takeBlocks } from './axis-blocks.ts';
import { linearSumAssignment } from './lap.ts';

/** Per block: the row order of q/k (one index per dModel row) and of v / out_proj's columns. */
export type WithinHeadPerms = Record<string, { qk: Int32Array; vo: Int32Array }>;

function blocksOf(params: StateDict): string[] {
  const ids = new Set<string>();
  for (const k of Object.keys(params)) {
    const m = /^(blocks\.\d+)\.attn\.q_proj\.weight$/.exec(k);
    if (m) ids.add(m[1]!);
  }
  return [...ids].sort();
}

/**
 * B's parameters with its q/k rows and v rows / out_proj columns reordered inside each head
 * (`perms[block].qk[r]` = the B row that becomes row r). The function of B is unchanged.
 * @example const same = applyWithinHeads(sdB, perms); // same logits as sdB
 */
export function applyWithinHeads(params: StateDict, perms: WithinHeadPerms): StateDict {
  const out: StateDict = { ...params };
  for (const [b, p] of Object.entries(perms)) {
    const rows = (key: string, idx: Int32Array, axis: number) => {
      if (params[key] !== undefined) out[key] = takeBlocks(params[key]!, axis, idx, 1);
    };
    for (const proj of ['q_proj', 'k_proj']) {
      rows(`${b}.attn.${proj}.weight`, p.qk, 0);
      rows(`${b}.attn.${proj}.bias`, p.qk, 0);
    }
    rows(`${b}.attn.v_proj.weight`, p.vo, 0);
    rows(`${b}.attn.v_proj.bias`, p.vo, 0);
    rows(`${b}.attn.out_proj.weight`, p.vo, 1);
  }
  return out;
}

/** Row-by-row similarity (dModel x dModel, float64) of the parameters a permutation moves together. */
function similarity(a: StateDict, b: StateDict, parts: [string, number][]): Float64Array {
  let total: Float64Array | undefined;
  for (const [key, axis] of parts) {
    if (a[key] === undefined || b[key] === undefined) continue;
    const s = matmul(blockRows(a[key]!, axis, 1), blockRows(b[key]!, axis, 1).transpose(0, 1)).toFloat64Array();
    if (total === undefined) total = s;
    else for (let i = 0; i < s.length; i++) total[i]! += s[i]!;
  }
  if (total === undefined) throw new Error(`matchWithinHeads: none of ${parts.map((p) => p[0]).join(', ')} is in both state dicts`);
  return total;
}

/**
 * The within-head permutations of B that best match A (per head, an exact LAP maximising the
 * summed inner products), B with them applied, and the objective before and after.
 * @example
 * const heads = weightMatching(gptPermutationSpec(gpt, { heads: true }), sdA, sdB);
 * const bHeads = applyPermutation(spec, heads.perm, sdB);
 * const { params } = matchWithinHeads(sdA, bHeads, gpt.config.nHeads);
 */
export function matchWithinHeads(paramsA: StateDict, paramsB: StateDict, nHeads: number): { params: StateDict; perms: WithinHeadPerms; before: number; after: number } {
  const blocks = blocksOf(paramsA);
  if (blocks.length === 0) throw new Error("matchWithinHeads: no 'blocks.<i>.attn.q_proj.weight' in the state dict");
  const perms: WithinHeadPerms = {};
  let before = 0;
  let after = 0;
  for (const b of blocks) {
    const dModel = paramsA[`${b}.attn.q_proj.weight`]!.shape[0]!;
    if (!Number.isInteger(nHeads) || nHeads < 1 || dModel % nHeads !== 0) throw new Error(`matchWithinHeads: nHeads must divide ${dModel}, got ${nHeads}`);
    const hd = dModel / nHeads;
    const qk = similarity(paramsA, paramsB, [[`${b}.attn.q_proj.weight`, 0], [`${b}.attn.q_proj.bias`, 0], [`${b}.attn.k_proj.weight`, 0], [`${b}.attn.k_proj.bias`, 0]]);
    const vo = similarity(paramsA, paramsB, [[`${b}.attn.v_proj.weight`, 0], [`${b}.attn.v_proj.bias`, 0], [`${b}.attn.out_proj.weight`, 1]]);
    const solve = (sim: Float64Array): Int32Array => {
      const idx = new Int32Array(dModel);
      for (let h = 0; h < nHeads; h++) {
        const r0 = h * hd;
        const cost = Array.from({ length: hd }, (_, i) => Array.from({ length: hd }, (_, j) => sim[(r0 + i) * dModel + r0 + j]!));
        const { colInd, total } = linearSumAssignment(cost, { maximize: true });
        for (let i = 0; i < hd; i++) {
          idx[r0 + i] = r0 + colInd[i]!;
          before += cost[i]![i]!;
        }
        after += total;
      }
      return idx;
    };
    perms[b] = { qk: solve(qk), vo: solve(vo) };
  }
  return { params: applyWithinHeads(paramsB, perms), perms, before, after };
}
