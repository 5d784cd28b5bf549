/**
 * Phase 1 of EVA (PEFT's `HashHook`): one forward pass on the first batch finds the target
 * layers whose inputs are identical (q/k/v read the same normed hidden state). Each such
 * group then shares one incremental PCA, held by its first layer in model order.
 */
import type { Tensor } from '@tsgrad/autograd';
import type { RemovableHandle } from '@tsgrad/nn';
import * as nd from '@tsgrad/tensor';
import type { EvaTarget, PrepareLayerInputsFn } from './types.ts';

function hashArray(a: nd.NDArray): string {
  // FNV-1a over 32-bit words of the values in their own dtype (a float32 input is not
  // widened first); equal-hash groups are confirmed exactly by sameArray.
  const v = a.toTyped();
  const words = new Int32Array(v.buffer, v.byteOffset, v.byteLength >> 2);
  let h = 0x811c9dc5;
  for (let i = 0; i < words.length; i++) h = Math.imul(h ^ words[i]!, 0x01000193);
  return `${a.dtype}:${a.shape.join('x')}:${(h >>> 0).toString(16)}`;
}

function sameArray(a: nd.NDArray, b: nd.NDArray): boolean {
  if (!nd.shapesEqual(a.shape, b.shape)) return false;
  const x = a.toFloat64Array();
  const y = b.toFloat64Array();
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/**
 * Runs `forward` once with pre-hooks that record every target's prepared input, and
 * returns layer name → the name of the first layer with the same input (itself if none).
 * The hooks are removed whatever happens.
 */
export function detectSharedInputs(
  targets: readonly EvaTarget[],
  rows: Int32Array | null,
  prepFor: (name: string) => PrepareLayerInputsFn,
  forward: () => void,
): Map<string, string> {
  const seen = new Map<string, nd.NDArray>();
  const handles: RemovableHandle[] = [];
  try {
    for (const t of targets) {
      const prep = prepFor(t.name);
      handles.push(
        t.module.registerForwardPreHook((_m, args) => {
          if (!seen.has(t.name)) seen.set(t.name, prep((args[0] as Tensor).data, rows, t.name));
        }),
      );
    }
    forward();
  } finally {
    for (const h of handles) h.remove();
  }
  const groups = new Map<string, string>();
  const byHash = new Map<string, string[]>();
  for (const t of targets) {
    const x = seen.get(t.name);
    if (!x) throw new Error(`EVA: target layer '${t.name}' was not called by the forward pass`);
    const key = hashArray(x);
    const candidates = byHash.get(key) ?? [];
    const match = candidates.find((c) => sameArray(seen.get(c)!, x));
    groups.set(t.name, match ?? t.name);
    if (!match) byHash.set(key, [...candidates, t.name]);
  }
  return groups;
}
