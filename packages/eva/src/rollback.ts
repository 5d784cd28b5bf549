/**
 * Putting a model back as it was when an adapter operation fails half-way: the module
 * tree (wrappers swapped in), every parameter's `requiresGrad` flag, and the values of the
 * weights an init may rewrite (PiSSA and OLoRA write a residual into the base weight).
 */
import type { Tensor } from '@tsgrad/autograd';
import type { AnyModule } from '@tsgrad/nn';
import * as nd from '@tsgrad/tensor';

/** What {@link snapshotModel} saved; `restore()` puts it back. */
export interface ModelSnapshot {
  restore(): void;
}

/**
 * Saves the module tree and every `requiresGrad` flag of `model`, and copies of `weights`.
 * @example const snap = snapshotModel(model, [lin.weight]); try { ... } catch (e) { snap.restore(); throw e; }
 */
export function snapshotModel(model: AnyModule, weights: readonly Tensor[]): ModelSnapshot {
  const tree = [...model.namedModules()].filter(([name]) => name !== '');
  const flags = model.parameters().map((p) => [p, p.requiresGrad] as const);
  const values = weights.map((t) => [t, t.data, t.data.astype(t.data.dtype)] as const);
  return {
    restore() {
      // Parents come before children in namedModules, so each path resolves to an original parent.
      for (const [path, m] of tree) model.setSubmodule(path, m);
      for (const [t, data, copy] of values) {
        t.data = data;
        nd.getBackend().assign(data, copy);
      }
      for (const [p, flag] of flags) if (p.requiresGrad !== flag) p.requiresGrad_(flag);
    },
  };
}

/**
 * Runs `fn`; if it throws, restores the snapshot and rethrows.
 * @example atomically(model, weights, () => applyEverything());
 */
export function atomically<T>(model: AnyModule, weights: readonly Tensor[], fn: () => T): T {
  const snap = snapshotModel(model, weights);
  try {
    return fn();
  } catch (err) {
    snap.restore();
    throw err;
  }
}
