/**
 * A permutation spec for the GPT of @tsgrad/nn (pre-norm blocks; parameter names
 * `tok_emb`, `pos_emb`, `blocks.<i>.{ln1, attn.{q,k,v,out}_proj, ln2, mlp.{fc1, fc2}}`, `ln_f`,
 * `lm_head`; Linear weights are (out, in)).
 *
 * Symmetries used (those of Verma & Elbayad, arXiv 2403.00986, restricted to permutations):
 * - MLP hidden units, per block: `P_blocks.<i>.mlp` on fc1's rows and bias and fc2's columns
 *   (GELU is elementwise).
 * - Attention heads, per block (`heads: true`): `H_blocks.<i>.attn` permutes whole heads, i.e.
 *   blocks of headDim rows of q_proj, k_proj, v_proj (and their biases) and the same blocks of
 *   out_proj's columns. Softmax(q_h k_h^T) v_h is computed per head, and out_proj sums over the
 *   concatenated heads, so the function is unchanged. (Dimensions inside a head are not permuted.)
 * - The residual stream (`residual: 'shared'`): one permutation `P_res` of the dModel features,
 *   shared by both embeddings, every block (LayerNorm weights and biases, the input columns of
 *   q/k/v and fc1, the output rows of out_proj and fc2 and their biases), ln_f and lm_head's
 *   columns. LayerNorm's mean and variance are symmetric in the features and its affine part is
 *   elementwise, so it commutes with the permutation. `residual: 'identity'` leaves it alone
 *   (Verma & Elbayad found that works better when merging).
 */
import { permutationSpec, stateDictOf, type AxisPerm, type HasStateDict, type PermutationSpec } from './spec.ts';

export interface GptSpecOptions {
  residual?: 'identity' | 'shared';
  /** Permute attention heads as whole heads (default true). */
  heads?: boolean;
  /** Number of heads; read from `model.config.nHeads` when omitted. */
  nHeads?: number;
}

/**
 * The spec of an nn `GPT` (see the file comment).
 * @example
 * const spec = gptPermutationSpec(gpt, { residual: 'shared', heads: true });
 * assertInvariance(gpt, applyPermutation(spec, randomPermutation(spec, gpt.stateDict(), 0), gpt.stateDict()), ids);
 */
export function gptPermutationSpec(model: HasStateDict & { config?: { nHeads?: number } }, opts: GptSpecOptions = {}): PermutationSpec {
  const sd = stateDictOf(model);
  const residual = opts.residual ?? 'identity';
  const heads = opts.heads ?? true;
  const nHeads = opts.nHeads ?? (model as { config?: { nHeads?: number } }).config?.nHeads;
  const R: string | null = residual === 'shared' ? 'P_res' : null;
  const tok = sd['tok_emb.weight'];
  if (tok === undefined || tok.ndim !== 2) throw new Error("gptPermutationSpec: no 2-D 'tok_emb.weight' in the state dict");
  const dModel = tok.shape[1]!;
  if (heads && (nHeads === undefined || !Number.isInteger(nHeads) || nHeads < 1 || dModel % nHeads !== 0)) {
    throw new Error(`gptPermutationSpec: need nHeads dividing dModel = ${dModel} to permute heads, got ${nHeads}`);
  }
  const headDim = heads ? dModel / nHeads! : 0;

  const axes: Record<string, AxisPerm[]> = {};
  const put = (key: string, entry: AxisPerm[]) => {
    if (sd[key] !== undefined) axes[key] = entry;
  };
  put('tok_emb.weight', [null, R]);
  put('pos_emb.weight', [null, R]);
  const blockIds = new Set<number>();
  for (const k of Object.keys(sd)) {
    const m = /^blocks\.(\d+)\./.exec(k);
    if (m) blockIds.add(Number(m[1]));
  }
  for (const i of [...blockIds].sort((a, b) => a - b)) {
    const b = `blocks.${i}`;
    const H: AxisPerm = heads ? { id: `H_${b}.attn`, group: headDim } : null;
    const F = `P_${b}.mlp`;
    for (const ln of ['ln1', 'ln2']) {
      put(`${b}.${ln}.weight`, [R]);
      put(`${b}.${ln}.bias`, [R]);
    }
    for (const proj of ['q_proj', 'k_proj', 'v_proj']) {
      put(`${b}.attn.${proj}.weight`, [H, R]);
      put(`${b}.attn.${proj}.bias`, [H]);
    }
    put(`${b}.attn.out_proj.weight`, [R, H]);
    put(`${b}.attn.out_proj.bias`, [R]);
    put(`${b}.mlp.fc1.weight`, [F, R]);
    put(`${b}.mlp.fc1.bias`, [F]);
    put(`${b}.mlp.fc2.weight`, [R, F]);
    put(`${b}.mlp.fc2.bias`, [R]);
  }
  put('ln_f.weight', [R]);
  put('ln_f.bias', [R]);
  put('lm_head.weight', [null, R]);
  put('lm_head.bias', [null]);
  const unknown = Object.keys(sd).filter((k) => axes[k] === undefined);
  if (unknown.length > 0) {
    throw new Error(`gptPermutationSpec: parameters the GPT spec does not know: ${unknown.join(', ')}`);
  }
  return permutationSpec(axes);
}
