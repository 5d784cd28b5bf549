/**
 * Phase 3 of EVA: cycle the batches, let the PCA hooks fit, redistribute the rank budget by
 * explained variance after every batch (paper eq. 6, `distributeRanks`), and stop when every
 * hook layer's currently allocated components have converged. A layer that is done loses its
 * hook, and gets it back if a later redistribution gives it more components. After
 * `maxBatches` forward passes (a guard PEFT lacks) the error names every unconverged layer.
 *
 * Truncated forwards (`truncateForward`, on by default): EVA only reads the target layers'
 * inputs, never the model's output, so once every attached hook has been fed as many times
 * as its layer ran in a full forward pass, the rest of that pass cannot change anything
 * EVA computes. The last hook call then throws a private sentinel that the loop catches.
 * On vision this matters most: when only the first layer is still open, a forward costs
 * nothing beyond its input. The calls per forward are learned from the first full pass
 * in which each hook was attached; a model whose layers run a varying number of times per
 * batch (data-dependent control flow) should turn the option off.
 */
import { distributeRanks, type RankLayer } from '../rank-distribution.ts';
import type { PcaHook } from './pca-hook.ts';

/**
 * Endless iteration over a re-iterable loader (PEFT's `cycle`), each batch passed through
 * `normalise`. An empty loader is an error, and so is a one-shot iterator (a generator)
 * that runs out: EVA may need more passes than the data has batches.
 * @example const it = cycle([1, 2]); it.next().value // 1
 */
export function* cycle<B>(loader: Iterable<B>, normalise: (b: unknown) => B = (b) => b as B): Generator<B> {
  const iterate = (loader as { [Symbol.iterator]?: unknown } | null | undefined)?.[Symbol.iterator];
  if (typeof iterate !== 'function') throw new TypeError(`EVA: dataLoader must be iterable (an array of batches, a DataLoader), got ${loader === null ? 'null' : typeof loader}`);
  let seen = 0;
  for (;;) {
    const iterator = (iterate as () => Iterator<unknown>).call(loader);
    const oneShot = (iterator as unknown) === loader;
    let any = false;
    for (let r = iterator.next(); !r.done; r = iterator.next()) {
      any = true;
      seen++;
      yield normalise(r.value);
    }
    if (any) continue;
    if (oneShot && seen > 0) {
      throw new Error(
        `EVA: the data ran out after ${seen} batches before every layer converged: it is a generator (or other one-shot iterator), ` +
          'which can be read only once; pass an array or a DataLoader so EVA can cycle over it, or raise the convergence threshold',
      );
    }
    throw new Error(oneShot ? 'EVA: the data loader yielded no batches: it is a generator that is empty or was already used up' : 'EVA: the data loader yielded no batches');
  }
}

/** What the loop needs: the hooks, how to get, mask and run batches, and when to give up. */
export interface ConvergenceLoop<B> {
  hooks: ReadonlyMap<string, PcaHook>;
  rankLayers: readonly RankLayer[];
  /** Ranks before any fit: every layer at its cap. */
  initialRanks: Map<string, number>;
  rankBudget: number;
  /** The next batch with its kept rows. */
  next: () => { batch: B; rows: Int32Array | null };
  forward: (batch: B) => void;
  maxBatches: number;
  tau: number;
  onBatch?: (info: { batch: number; convergedLayers: number; layers: number }) => void;
  /** End each forward pass once every attached hook has been fed (see the file comment). */
  truncateForward: boolean;
}

/** Thrown by the last hook call a truncated forward pass needs; never leaves the loop. */
class ForwardDone extends Error {
  constructor() {
    super('EVA: every attached hook has been fed for this batch (internal; caught by the loop)');
  }
}

/**
 * Runs `forward`, ending it early through the hooks when `truncate` and every attached
 * hook's calls per forward (`callsPerForward`) are known; records them after a full pass.
 */
function forwardOnce(hooks: readonly PcaHook[], callsPerForward: Map<PcaHook, number>, truncate: boolean, forward: () => void): void {
  const attached = hooks.filter((h) => h.attached);
  let remaining = truncate && attached.every((h) => callsPerForward.has(h)) ? attached.reduce((s, h) => s + callsPerForward.get(h)!, 0) : Infinity;
  let ended = false;
  for (const h of hooks) {
    h.calls = 0;
    h.afterCall = () => {
      if (--remaining > 0) return;
      ended = true;
      throw new ForwardDone();
    };
  }
  try {
    forward();
  } catch (err) {
    // Once the sentinel is thrown, whatever the forward throws on its way out is its echo
    // (a forwardFn may wrap errors): the batch is complete for EVA either way.
    if (!ended) throw err;
  } finally {
    for (const h of hooks) h.afterCall = null;
  }
  if (!ended) for (const h of attached) callsPerForward.set(h, h.calls);
}

/**
 * Runs the loop; returns the final rank of every layer and the forward passes used.
 * Every hook is detached when it returns or throws.
 */
export function runUntilConverged<B>(loop: ConvergenceLoop<B>): { ranks: Map<string, number>; batches: number } {
  const hooks = [...loop.hooks.values()];
  let ranks = loop.initialRanks;
  let batches = 0;
  const callsPerForward = new Map<PcaHook, number>();
  try {
    for (;;) {
      const { batch, rows } = loop.next();
      let allConverged = true;
      for (const h of hooks) {
        if (h.done(ranks.get(h.name)!)) {
          h.detach();
        } else {
          allConverged = false;
          h.rows = rows;
          h.attach();
        }
      }
      if (allConverged) break;
      if (batches >= loop.maxBatches) throw notConverged(hooks, ranks, loop);
      forwardOnce(hooks, callsPerForward, loop.truncateForward, () => loop.forward(batch));
      batches++;
      // PEFT waits until every hook has a fit (a hook may skip batches with too few rows).
      if (!hooks.every((h) => h.pca.fitted)) continue;
      const ratios: Record<string, Float64Array> = {};
      for (const h of hooks) ratios[h.name] = h.pca.explainedVarianceRatio.toFloat64Array();
      ranks = distributeRanks(loop.rankLayers, ratios, loop.rankBudget);
      loop.onBatch?.({ batch: batches, convergedLayers: hooks.filter((h) => h.done(ranks.get(h.name)!)).length, layers: hooks.length });
    }
  } finally {
    for (const h of hooks) h.detach();
  }
  return { ranks, batches };
}

function notConverged<B>(hooks: readonly PcaHook[], ranks: Map<string, number>, loop: ConvergenceLoop<B>): Error {
  const open = hooks.filter((h) => !h.done(ranks.get(h.name)!));
  const names = open.map((h) => {
    const need = ranks.get(h.name)!;
    return `${h.members.join('/')} (${h.convergedCount(need)}/${need} components converged${h.skipped ? `, ${h.skipped} batches skipped for too few rows` : ''})`;
  });
  return new Error(`EVA: not converged after maxBatches=${loop.maxBatches} batches (tau=${loop.tau}); unconverged layers: ${names.join(', ')}. Lower tau, raise maxBatches, or use larger batches.`);
}
