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
  /**
   * The rule came from user code (the exported `record`): its gradients may share storage
   * the user keeps, so the engine never sums into them in place (accumulate.ts).
   */
  readonly custom?: boolean;
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
 * Wraps a built-in op's forward result. The output joins the graph only when recording is
 * on and some input requires a gradient; otherwise no closure is kept alive.
 *
 * Contract of a built-in rule (the engine relies on it to sum gradients in place, see
 * accumulate.ts): each gradient it returns is either new storage that nothing else holds,
 * or a view of storage the engine has met (its gradOutput, an input or output of a
 * recorded op). Never storage kept elsewhere, such as a cache or a value saved in the
 * closure that is not one of the op's inputs or its output.
 */
export function record(op: string, data: NDArray, inputs: readonly Tensor[], backward: BackwardFn, custom = false): Tensor {
  const out = new Tensor(data);
  if (gradEnabled && inputs.some((t) => t.requiresGrad)) {
    const node: Node = { op, inputs, backward, savedVersions: inputs.map((t) => storageVersion(t.data)), outputVersion: storageVersion(data) };
    out.attach(custom ? { ...node, custom } : node);
  }
  return out;
}

/**
 * Records an op with a user-written derivative rule (exported as `record`): the output
 * joins the graph when recording is on and some input requires a gradient. The rule's
 * gradients may be any tensors, including ones the caller keeps; the engine never writes
 * into them.
 * @example
 * const y = record('double', nd.mul(x.data, 2), [x], (g) => [g.mul(2)]);
 */
export function recordCustom(op: string, data: NDArray, inputs: readonly Tensor[], backward: BackwardFn): Tensor {
  return record(op, data, inputs, backward, true);
}
