/**
 * Phase 2 of EVA (PEFT's `SVDHook`): a forward pre-hook on one layer (the hook layer of its
 * equal-input group) that feeds each batch's prepared input to an incremental PCA and marks
 * component j converged when the signed cosine between its new and previous direction is
 * >= tau (paper eq. 5).
 */
import type { Tensor } from '@tsgrad/autograd';
import type { AnyModule, RemovableHandle } from '@tsgrad/nn';
import { IncrementalPCA } from '../incremental-pca.ts';
import type { PrepareLayerInputsFn } from './types.ts';

function signedCosine(a: Float64Array, b: Float64Array, row: number, d: number): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let j = 0; j < d; j++) {
    const x = a[row * d + j]!;
    const y = b[row * d + j]!;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  // torch.nn.functional.cosine_similarity clamps each norm at eps = 1e-8
  return dot / (Math.max(Math.sqrt(na), 1e-8) * Math.max(Math.sqrt(nb), 1e-8));
}

/** Settings of one {@link PcaHook}. */
export interface PcaHookOptions {
  /** The hook layer's name and the names of every layer sharing its input (for messages). */
  name: string;
  members: readonly string[];
  module: AnyModule;
  /** Components to track: the group's largest cap. */
  k: number;
  tau: number;
  prepare: PrepareLayerInputsFn;
  svd: 'lowrank' | 'exact';
  lowrankSeed: number;
  /** Precision of the incremental PCA's SVDs. */
  dtype: 'float32' | 'float64';
}

/** The incremental PCA of one hook layer and the hook that feeds it. */
export class PcaHook {
  readonly name: string;
  readonly members: readonly string[];
  readonly k: number;
  readonly pca: IncrementalPCA;
  /** converged[j]: component j moved less than tau since the previous fit. */
  readonly converged: boolean[];
  /** Batches skipped because they had fewer rows than components (PEFT skips them too). */
  skipped = 0;
  /** Kept row indices of the batch about to run (set by the loop before each forward). */
  rows: Int32Array | null = null;
  /** Calls of the hook layer since the loop last reset it (a layer may run more than once per forward). */
  calls = 0;
  /**
   * Run after every call has been fed (set by the loop): it may throw to end the forward
   * pass once no attached hook has calls left (see `runUntilConverged`).
   */
  afterCall: (() => void) | null = null;
  private handle: RemovableHandle | null = null;

  constructor(private readonly o: PcaHookOptions) {
    this.name = o.name;
    this.members = o.members;
    this.k = o.k;
    this.pca = new IncrementalPCA({ nComponents: o.k, svd: o.svd, lowrankSeed: o.lowrankSeed, dtype: o.dtype });
    this.converged = new Array<boolean>(o.k).fill(false);
  }

  /** Whether the first `need` components have converged. */
  done(need: number): boolean {
    return this.converged.slice(0, need).every(Boolean);
  }

  /** How many of the first `need` components have converged. */
  convergedCount(need: number): number {
    return this.converged.slice(0, need).filter(Boolean).length;
  }

  get attached(): boolean {
    return this.handle !== null;
  }

  /** Starts feeding the PCA on every call of the layer (idempotent). */
  attach(): void {
    if (!this.handle) this.handle = this.o.module.registerForwardPreHook((_m, args) => {
        this.feed((args[0] as Tensor).data);
        this.calls++;
        this.afterCall?.();
      });
  }

  /** Stops feeding the PCA (idempotent). */
  detach(): void {
    this.handle?.remove();
    this.handle = null;
  }

  private feed(input: Tensor['data']): void {
    const x = this.o.prepare(input, this.rows, this.name);
    if (x.shape[0]! < this.k) {
      // PEFT skips (with a message) batches with fewer rows than components.
      this.skipped++;
      return;
    }
    // partialFit stores new arrays, so the previous components can be kept without a copy.
    const prev = this.pca.fitted ? this.pca.componentsData : null;
    try {
      this.pca.partialFit(x);
    } catch (err) {
      // Name the layer: a NaN in the activations is otherwise impossible to locate.
      const msg = (err as Error).message;
      throw new (err instanceof RangeError ? RangeError : Error)(`EVA: layer ${this.members.map((m) => `'${m}'`).join('/')}: ${msg}`);
    }
    if (prev) {
      const cur = this.pca.componentsData;
      const d = this.pca.nFeatures;
      for (let j = 0; j < this.k; j++) this.converged[j] = signedCosine(cur, prev, j, d) >= this.o.tau;
    }
  }
}
