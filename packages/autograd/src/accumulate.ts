/**
 * Summing the gradients a tensor receives from its several uses (a residual branch, a
 * weight shared by two layers) during one backward pass.
 *
 * The plain way, `sum = sum.add(g)`, allocates a new array for every extra use. When the
 * engine can prove that a gradient's storage is held by nobody else, it adds the next
 * contribution into that storage instead. Proof is by storage identity: every storage
 * buffer (ArrayBuffer) the pass meets is recorded with its one possible writer: the tensor
 * whose sum it holds, or null when the buffer is shared, was handed in from outside
 * (forward values, seeds, a user's `.grad`), or came from a derivative rule the engine
 * cannot vouch for (a user's `record`). A buffer met a second time, through whatever view,
 * loses its writer. So a rule that returns its gradOutput unchanged (add, reshape, ...) to
 * two inputs hands both a storage neither may write.
 *
 * The sum is computed as `nd.add` does it, `a[i] + b[i]` with the earlier sum on the
 * left, so the result is bitwise the one the plain way gives. With `createGraph` the sums
 * are recorded ops and stay functional.
 */
import * as nd from '@tsgrad/tensor';
import type { Tensor } from './tensor.ts';

let inPlaceEnabled = true;

/**
 * For tests: switches in-place summing off (the plain functional sums) and on; returns the
 * previous setting.
 */
export function setInPlaceSums(enabled: boolean): boolean {
  const previous = inPlaceEnabled;
  inPlaceEnabled = enabled;
  return previous;
}

/** For tests: how many sums were added into an existing buffer since the counter was reset. */
export const sumStats = { inPlace: 0, allocated: 0 };

/** A dense float array that covers the whole of its ArrayBuffer: nothing else can view part of it unseen. */
function writable(a: nd.NDArray): boolean {
  const d = a.data;
  return (
    (a.dtype === 'float32' || a.dtype === 'float64') &&
    a.offset === 0 &&
    a.isContiguous() &&
    d.length === a.size &&
    d.byteOffset === 0 &&
    d.byteLength === d.buffer.byteLength
  );
}

/** `dst[i] = a[i] + b[i]` over row-major positions; `dst` is dense and is the storage of `a` or of `b`. */
function sumInto(dst: nd.TypedArray, a: nd.NDArray, b: nd.NDArray): void {
  const ad = a.data;
  const bd = b.data;
  if (a.isContiguous() && b.isContiguous()) {
    const ao = a.offset;
    const bo = b.offset;
    for (let i = 0; i < dst.length; i++) dst[i] = ad[ao + i]! + bd[bo + i]!;
  } else if (b.isContiguous()) {
    const bo = b.offset;
    a.forEachIndex((p, i) => (dst[i] = ad[p]! + bd[bo + i]!));
  } else {
    // b is strided, so dst is a's (dense) storage
    const ao = a.offset;
    b.forEachIndex((p, i) => (dst[i] = ad[ao + i]! + bd[p]!));
  }
}

const RELEASED = Symbol('released');

/** The gradient sums of one backward pass, keyed by tensor. */
export class GradientSums {
  private readonly sums = new Map<Tensor, Tensor>();
  /**
   * Each storage buffer met in the pass and the one tensor whose sum may be written into
   * it; null: nobody; RELEASED: its sum is spent, so the next claim may take it over.
   */
  private readonly writers = new Map<ArrayBufferLike, Tensor | null | typeof RELEASED>();
  private readonly inPlace: boolean;

  /** `functional`: no in-place sums (a recorded backward, whose sums must stay graph ops). */
  constructor(functional: boolean) {
    this.inPlace = inPlaceEnabled && !functional;
  }

  /** Records storage this pass must never write into (forward values, seeds, a user's `.grad`). */
  foreign(a: nd.NDArray): void {
    if (this.inPlace) this.writers.set(a.data.buffer, null);
  }

  get(t: Tensor): Tensor | undefined {
    return this.sums.get(t);
  }

  delete(t: Tensor): void {
    this.sums.delete(t);
  }

  /**
   * Once `t`'s sum has been handed to its built-in rule and nothing else keeps it (not a
   * leaf's `.grad`, not retained, not returned), its storage may be taken over by the one
   * input the rule hands it on to (reshape, add with a single differentiable input).
   */
  release(t: Tensor): void {
    const sum = this.sums.get(t);
    if (sum && this.writers.get(sum.data.data.buffer) === t) this.writers.set(sum.data.data.buffer, RELEASED);
  }

  /**
   * Adds each contribution `grads[i]` to the sum of `tensors[i]` (the gradients one rule
   * returned). `vouched`: they come from a built-in rule, so storage the pass has not met
   * before is fresh (see graph.ts `record`). All are claimed before any is summed, so a
   * storage handed to two inputs is written by neither.
   */
  addAll(tensors: readonly Tensor[], grads: readonly Tensor[], vouched: boolean): void {
    const claimed = tensors.map((t, i) => this.inPlace && this.claim(grads[i]!.data, vouched ? t : null));
    // a later claim of the same storage (the rule returned it twice) revoked the earlier one
    const owned = claimed.map((c, i) => c && this.writers.get(grads[i]!.data.data.buffer) === tensors[i]);
    tensors.forEach((t, i) => this.sum(t, grads[i]!, owned[i]!));
  }

  /** Adds the contribution `g` to `t`'s sum (`add` of one, vouched or not). */
  add(t: Tensor, g: Tensor, vouched: boolean): void {
    this.addAll([t], [g], vouched);
  }

  /** `gOwned`: `t` may write into `g`'s storage. */
  private sum(t: Tensor, g: Tensor, gOwned: boolean): void {
    const prev = this.sums.get(t);
    if (!this.inPlace) {
      this.sums.set(t, prev ? prev.add(g) : g);
      return;
    }
    if (!prev) {
      this.sums.set(t, g);
      return;
    }
    if (prev.dtype === g.dtype && this.writers.get(prev.data.data.buffer) === t) {
      sumInto(prev.data.data, prev.data, g.data);
      sumStats.inPlace++;
      return;
    }
    if (gOwned && prev.dtype === g.dtype) {
      sumInto(g.data.data, prev.data, g.data);
      this.sums.set(t, g);
      sumStats.inPlace++;
      return;
    }
    const sum = prev.add(g);
    this.claim(sum.data, t);
    this.sums.set(t, sum);
    sumStats.allocated++;
  }

  /**
   * Records that `a`'s storage is now in use; returns whether `writer` may write into it:
   * only a buffer met for the first time (or released), and one that nothing else can view.
   */
  private claim(a: nd.NDArray, writer: Tensor | null): boolean {
    // met before: shared now, unless released by a spent sum (then the first claim takes it)
    const buffer = a.data.buffer;
    if (this.writers.has(buffer) && this.writers.get(buffer) !== RELEASED) {
      this.writers.set(buffer, null);
      return false;
    }
    const ok = writer !== null && writable(a);
    this.writers.set(buffer, ok ? writer : null);
    return ok;
  }
}
