/**
 * EVA's global rank redistribution (paper section 3.5; PEFT `_get_rank_distribution`),
 * as a pure function so it can be property-tested on its own.
 *
 * Every target layer l contributes the explained variance ratios of its first
 * cap_l = round(rho * r_l) principal components (a layer that shares its input with
 * another layer contributes a copy of that layer's ratios). All contributions are
 * sorted in descending order and the first `budget` = sum_l r_l are kept; a layer's
 * new rank is how many of its entries were kept (0 allowed). Ties are broken by
 * position in the pool (layer order, then component index), so the result is
 * deterministic. Finally, inside each group of layers with identical inputs the
 * group's hook layer is given the largest count (by swapping), so that testing the
 * hook's convergence covers every rank its group needs.
 */

/** One target layer as seen by {@link distributeRanks}. */
export interface RankLayer {
  /** Dotted module name. */
  name: string;
  /** The layer whose PCA this layer uses: itself, or the first layer of its equal-input group. */
  hook: string;
  /** Largest rank this layer may get: round(rho * r_l). */
  cap: number;
}

/**
 * Python's `round` (half to even), which PEFT uses for round(rho * r).
 * @example pyRound(2.5) // 2
 */
export function pyRound(x: number): number {
  const f = Math.floor(x);
  const diff = x - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * The per-layer cap on components, round(rho * r).
 * @example maxComponents(8, 2) // 16
 */
export function maxComponents(r: number, rho: number): number {
  if (!(rho >= 1)) throw new RangeError(`EVA: rho must be >= 1, got ${rho}`);
  return pyRound(r * rho);
}

/**
 * Redistributes a rank budget over layers by explained variance ratio.
 *
 * @param layers target layers in model order (the order breaks ties).
 * @param ratios explained variance ratios per hook layer (descending, at least `cap` long
 *   for every layer using that hook, else only the available ones compete).
 * @param budget total number of ranks to hand out (r x number of layers without a rank pattern).
 * @returns new rank per layer name; they sum to min(budget, total pool size), none exceeds its cap.
 * @example
 * distributeRanks(
 *   [{ name: 'a', hook: 'a', cap: 2 }, { name: 'b', hook: 'b', cap: 2 }],
 *   { a: [0.5, 0.3], b: [0.1, 0.05] },
 *   2,
 * ); // Map { 'a' => 2, 'b' => 0 }
 */
export function distributeRanks(
  layers: readonly RankLayer[],
  ratios: Readonly<Record<string, ArrayLike<number>>>,
  budget: number,
): Map<string, number> {
  if (!Number.isInteger(budget) || budget < 0) throw new RangeError(`distributeRanks: budget must be a non-negative integer, got ${budget}`);
  const names = new Set<string>();
  const pool: { layer: number; value: number }[] = [];
  layers.forEach((l, li) => {
    if (names.has(l.name)) throw new Error(`distributeRanks: layer '${l.name}' appears twice`);
    names.add(l.name);
    const r = ratios[l.hook];
    if (r === undefined) throw new Error(`distributeRanks: no ratios for hook layer '${l.hook}' (of layer '${l.name}')`);
    const n = Math.min(l.cap, r.length);
    for (let j = 0; j < n; j++) {
      const v = r[j]!;
      if (Number.isNaN(v)) throw new RangeError(`distributeRanks: ratio ${j} of layer '${l.hook}' is NaN`);
      pool.push({ layer: li, value: v });
    }
  });
  // Stable descending order: equal values keep pool order (deterministic ties).
  const order = pool.map((_, i) => i).sort((i, j) => pool[j]!.value - pool[i]!.value || i - j);
  const counts = new Array<number>(layers.length).fill(0);
  for (let t = 0; t < Math.min(budget, order.length); t++) counts[pool[order[t]!]!.layer]!++;

  const index = new Map(layers.map((l, i) => [l.name, i]));
  for (let i = 0; i < layers.length; i++) {
    const l = layers[i]!;
    if (l.hook === l.name) continue;
    const h = index.get(l.hook);
    if (h === undefined) throw new Error(`distributeRanks: hook layer '${l.hook}' of '${l.name}' is not among the layers`);
    if (counts[i]! > counts[h]!) {
      const t = counts[i]!;
      counts[i] = counts[h]!;
      counts[h] = t;
    }
  }
  return new Map(layers.map((l, i) => [l.name, counts[i]!]));
}
