/**
 * The recorded graph. Every op output that depends on a tensor requiring gradients
 * gets a `Node`: the op's name, its inputs, and the vector-Jacobian product that
 * maps the output's gradient to one gradient per input (null where none flows).
 */
import type { NDArray } from '@tsgrad/tensor';
import { Tensor } from './tensor.ts';
import { storageVersion } from './version.ts';

/** Maps dL/d(output) to dL/d(input_i) for each input (null: no gradient flows there). */
export type BackwardFn = (gradOutput: Tensor) => (Tensor | null)[];

export interface Node {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  /** Set to null once the graph is freed by a backward pass without `retainGraph`. */
  backward: BackwardFn | null;
  /**
   * Storage versions of `inputs` (same order) and of the output when the op ran: the
   * backward closure may read any of them, so backward refuses to run if one has been
   * written in place since (see version.ts).
   */
  readonly savedVersions?: readonly number[];
  readonly outputVersion?: number;
}

let gradEnabled = true;

/** True unless inside `noGrad`. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs `fn` with gradient recording switched on or off, restoring the previous mode. */
export function setGradEnabled<T>(enabled: boolean, fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = enabled;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

/**
 * Runs `fn` without recording a graph (like `with torch.no_grad():`).
 * @example const y = noGrad(() => model.forward(x));
 */
export function noGrad<T>(fn: () => T): T {
  return setGradEnabled(false, fn);
}

/** Runs `fn` with recording on, even inside `noGrad` (like `torch.enable_grad`). */
export function enableGrad<T>(fn: () => T): T {
  return setGradEnabled(true, fn);
}

/**
 * Wraps an op's forward result. The output joins the graph only when recording is on
 * and some input requires a gradient; otherwise no closure is kept alive.
 */
export function record(op: string, data: NDArray, inputs: readonly Tensor[], backward: BackwardFn): Tensor {
  const out = new Tensor(data);
  if (gradEnabled && inputs.some((t) => t.requiresGrad)) {
    out.attach({ op, inputs, backward, savedVersions: inputs.map((t) => storageVersion(t.data)), outputVersion: storageVersion(data) });
  }
  return out;
}
