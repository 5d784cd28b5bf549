/**
 * Activation matching (Ainsworth et al., Git Re-Basin, Sec. 3.1): match each hidden layer's units
 * by their post-activation features over a dataset. For layer l, with Z^A and Z^B the [N, n]
 * features of the two models on the same N inputs,
 *     P_l = argmax_P <P, E[z_A z_B^T]>_F,   E[z_A z_B^T] = (Z^A)^T Z^B / N,
 * one linear assignment per layer, each layer independently (git-re-basin's
 * `mnist_mlp_activation_matching.py` builds the same matrix as cov + outer(mean_a, mean_b)).
 */
import { noGrad, type Tensor } from '@tsgrad/autograd';
import { asBatches, batchTensor, type BatchLike } from '@tsgrad/nn';
import { matmul, relu, type NDArray } from '@tsgrad/tensor';
import { linearSumAssignment } from './lap.ts';
import { firstNonFinite } from './options.ts';
import type { HookHandle, Net } from './model.ts';
import { permSizes, stateDictOf, type Permutation, type PermutationSpec } from './spec.ts';

/** Where one permutation's units can be read: a submodule's output (units on the last axis). */
export interface FeatureSource {
  /** Dotted path of the submodule, e.g. `layers.0` or `blocks.1.mlp.act`. */
  module: string;
  /** Applied to the captured output, e.g. ReLU when the model applies it functionally. */
  transform?: (x: NDArray) => NDArray;
}

/** A network whose submodules accept forward hooks (any nn `Module`). */
export interface HookableNet extends Net {
  getSubmodule(path: string): {
    registerForwardHook(fn: (module: unknown, args: unknown, output: Tensor) => Tensor | void): HookHandle;
  };
}

export interface ActivationMatchingOptions {
  /** One feature source per permutation id of the spec. */
  features: Record<string, FeatureSource>;
}

export interface ActivationMatchingResult {
  perm: Permutation;
  /** Per permutation: sum_i E[z_A,i z_B,perm(i)] (matched) and the identity's value. */
  matched: Record<string, { identity: number; matched: number }>;
  /** Number of feature rows (inputs times positions) averaged over. */
  rows: number;
}

/**
 * Feature sources for an nn `MLP` spec from {@link mlpPermutationSpec}: permutation `P_<layer>`
 * reads the output of Linear `<layer>` and applies the activation (ReLU unless given), since
 * nn's MLP applies it functionally.
 * @example activationMatching(spec, a, b, batches, { features: mlpFeatureSources(spec) });
 */
export function mlpFeatureSources(spec: PermutationSpec, activation: (x: NDArray) => NDArray = relu): Record<string, FeatureSource> {
  const out: Record<string, FeatureSource> = {};
  for (const id of Object.keys(spec.permToAxes)) {
    if (!id.startsWith('P_')) throw new Error(`mlpFeatureSources: permutation id '${id}' is not of the form P_<layer>`);
    out[id] = { module: id.slice(2), transform: activation };
  }
  return out;
}

/**
 * Activation matching of B's units to A's over `batches` (both models see the same inputs).
 * Refuses an empty `batches`, and activations with NaN/Inf (naming the module and permutation).
 * @example
 * const { perm } = activationMatching(spec, modelA, modelB, trainBatches, { features: mlpFeatureSources(spec) });
 */
export function activationMatching(
  spec: PermutationSpec,
  modelA: HookableNet,
  modelB: HookableNet,
  batches: Iterable<BatchLike>,
  opts: ActivationMatchingOptions,
): ActivationMatchingResult {
  // read once (a generator works too); no batches is an error: the correlations would all be 0
  const data = asBatches(batches, 'activationMatching');
  const sizes = permSizes(spec, stateDictOf(modelA));
  const ids = Object.keys(sizes);
  for (const id of ids) {
    if (opts.features[id] === undefined) throw new Error(`activationMatching: no feature source for permutation '${id}'`);
  }
  const acc: Record<string, Float64Array> = {};
  for (const id of ids) acc[id] = new Float64Array(sizes[id]! * sizes[id]!);
  let rows = 0;

  const capture = (net: HookableNet) => {
    const got: Record<string, NDArray> = {};
    const handles = ids.map((id) =>
      net.getSubmodule(opts.features[id]!.module).registerForwardHook((_m, _a, out) => {
        got[id] = out.data;
      }),
    );
    return { got, remove: () => handles.forEach((h) => h.remove()) };
  };
  const ca = capture(modelA);
  const cb = capture(modelB);
  const modes = [modelA.training, modelB.training];
  modelA.train(false);
  modelB.train(false);
  try {
    noGrad(() => {
      for (const batch of data) {
        modelA.call(batchTensor(batch.input));
        modelB.call(batchTensor(batch.input));
        for (const id of ids) {
          const n = sizes[id]!;
          const src = opts.features[id]!;
          let za = ca.got[id];
          let zb = cb.got[id];
          if (za === undefined || zb === undefined) {
            throw new Error(`activationMatching: module '${src.module}' did not run for permutation '${id}'`);
          }
          if (src.transform) {
            za = src.transform(za);
            zb = src.transform(zb);
          }
          if (za.shape[za.ndim - 1] !== n || zb.shape[zb.ndim - 1] !== n) {
            throw new Error(
              `activationMatching: features of '${src.module}' have shapes [${za.shape.join(', ')}] and [${zb.shape.join(', ')}], expected ${n} units (permutation '${id}')`,
            );
          }
          const a2 = za.reshape([-1, n]);
          const b2 = zb.reshape([-1, n]);
          const prod = matmul(a2.transpose(0, 1), b2).toFloat64Array();
          const s = acc[id]!;
          for (let i = 0; i < s.length; i++) s[i]! += prod[i]!;
          if (id === ids[0]) rows += a2.shape[0]!;
        }
      }
    });
  } finally {
    ca.remove();
    cb.remove();
    modelA.train(modes[0]);
    modelB.train(modes[1]);
  }
  const perm: Permutation = {};
  const matched: ActivationMatchingResult['matched'] = {};
  for (const id of ids) {
    const n = sizes[id]!;
    const e = acc[id]!.map((v) => v / Math.max(rows, 1));
    const bad = firstNonFinite(e);
    if (bad) {
      throw new RangeError(
        `activationMatching: features of module '${opts.features[id]!.module}' (permutation '${id}') give a non-finite correlation ${bad.value} at unit pair [${Math.floor(bad.index / n)}, ${bad.index % n}]; a model's activations hold NaN or Inf`,
      );
    }
    const res = linearSumAssignment({ rows: n, cols: n, data: e }, { maximize: true });
    perm[id] = Int32Array.from(res.colInd);
    let identity = 0;
    for (let i = 0; i < n; i++) identity += e[i * n + i]!;
    matched[id] = { identity, matched: res.total };
  }
  return { perm, matched, rows };
}
