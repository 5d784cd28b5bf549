/**
 * The reverse-mode engine. It orders the graph topologically from the outputs,
 * then walks it backwards: each node receives the sum of the gradients of its
 * uses and hands its inputs their share through its vector-Jacobian product.
 */
import * as nd from '@tsgrad/tensor';
import { GradientSums } from './accumulate.ts';
import { setGradEnabled, type Node } from './graph.ts';
import { Tensor } from './tensor.ts';
import { storageVersion } from './version.ts';

export interface BackwardOptions {
  /** Record the backward computation so gradients can be differentiated again. */
  createGraph?: boolean;
  /** Keep the graph for another backward pass (defaults to `createGraph`). */
  retainGraph?: boolean;
}

/** Tensors reachable from `roots` through recorded nodes, inputs before users. */
function topologicalOrder(roots: readonly Tensor[]): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  // Iterative depth-first search: deep graphs (long training loops) must not
  // overflow the JS call stack.
  const stack: [Tensor, number][] = [];
  for (const r of roots) {
    if (visited.has(r)) continue;
    visited.add(r);
    stack.push([r, 0]);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const [t, i] = top;
      const inputs = t.node?.inputs ?? [];
      if (i < inputs.length) {
        top[1] = i + 1;
        const child = inputs[i]!;
        if (!visited.has(child) && child.requiresGrad) {
          visited.add(child);
          stack.push([child, 0]);
        }
      } else {
        stack.pop();
        order.push(t);
      }
    }
  }
  return order;
}

function seedGradients(roots: readonly Tensor[], gradOutputs: readonly Tensor[] | undefined): Tensor[] {
  return roots.map((r, i) => {
    const g = gradOutputs?.[i];
    if (g) {
      if (!nd.shapesEqual(g.shape, r.shape)) {
        throw new Error(`backward: gradOutput of shape [${g.shape.join(', ')}] does not match output of shape [${r.shape.join(', ')}]`);
      }
      return g;
    }
    if (r.size !== 1) {
      throw new Error(`backward: output of shape [${r.shape.join(', ')}] is not a scalar; pass a gradOutput of the same shape`);
    }
    return new Tensor(nd.ones(r.shape, r.dtype));
  });
}

/**
 * Backpropagates from `roots`. With `inputs` given, the gradients of those tensors
 * are returned instead of being accumulated into leaves' `.grad` (torch.autograd.grad).
 */
export function runBackward(
  roots: readonly Tensor[],
  gradOutputs: readonly Tensor[] | undefined,
  options: BackwardOptions = {},
  inputs?: readonly Tensor[],
): (Tensor | null)[] {
  const createGraph = options.createGraph ?? false;
  const retainGraph = options.retainGraph ?? createGraph;
  for (const r of roots) {
    if (!r.requiresGrad) {
      throw new Error(
        `backward: tensor (${r.dtype}, [${r.shape.join(', ')}]) does not require grad and has no graph; ` +
          'was it computed inside noGrad, from detached tensors, or from int/bool tensors?',
      );
    }
  }
  const seeds = seedGradients(roots, gradOutputs);
  const wanted = inputs ? new Set(inputs) : null;
  // with createGraph the sums are recorded ops, so they must not be written in place
  const grads = new GradientSums(createGraph);

  setGradEnabled(createGraph, () => {
    const order = topologicalOrder(roots);
    // before any node runs (and frees its closure), so a refused backward can be retried
    for (const t of order) if (t.node) checkVersions(t, t.node);
    for (const t of order) markForeign(grads, t);
    for (const s of seeds) grads.foreign(s.data);
    roots.forEach((r, i) => grads.add(r, seeds[i]!, false));
    for (let k = order.length - 1; k >= 0; k--) {
      const t = order[k]!;
      const g = grads.get(t);
      if (!g) continue;
      const node = t.node;
      // backward() stores into .grad of leaves (and of tensors that asked with retainGrad);
      // gradients(output, inputs) returns its results instead and touches no .grad.
      if (!wanted && (node === null || t.retainsGrad)) accumulateGrad(t, g, createGraph);
      if (node === null) continue;
      // a sum that is not kept (.grad, returned) can be reused by the input it flows on to
      const spent = !t.retainsGrad && !wanted?.has(t) && node.custom !== true;
      propagate(node, g, retainGraph, grads, spent ? t : null);
      if (!wanted?.has(t)) grads.delete(t); // free memory early
    }
  });
  return inputs ? inputs.map((t) => grads.get(t) ?? null) : [];
}

/** Storage the pass met before any rule ran (forward values, a user's `.grad`): never summed into. */
function markForeign(grads: GradientSums, t: Tensor): void {
  grads.foreign(t.data);
  if (t.grad) grads.foreign(t.grad.data);
  for (const input of t.node?.inputs ?? []) grads.foreign(input.data);
}

/** Adds `g` to `t.grad`; without createGraph the stored gradient carries no graph. */
function accumulateGrad(t: Tensor, g: Tensor, createGraph: boolean): void {
  if (createGraph) {
    t.grad = t.grad ? t.grad.add(g) : g;
  } else {
    t.grad = t.grad ? new Tensor(nd.add(t.grad.data, g.data)) : g.detach();
  }
}

/**
 * Raises when a tensor the node's backward may read was written in place after the op
 * ran: its derivative rule would otherwise use the new values and return a silently
 * wrong gradient. Checks every input and the output, a superset of what the rule saves.
 */
function checkVersions(output: Tensor, node: Node): void {
  const stale = (what: string, t: Tensor, saved: number | undefined) => {
    const now = storageVersion(t.data);
    if (saved === undefined || saved === now) return;
    throw new Error(
      'backward: a tensor needed for gradient computation was modified by an in-place operation: ' +
        `${what} of '${node.op}' (${t.dtype}, [${t.shape.join(', ')}]) was saved at version ${saved}, now ${now}. ` +
        'Do the in-place update after backward, or use the out-of-place op (sub instead of sub_).',
    );
  };
  node.inputs.forEach((input, i) => stale(`input ${i}`, input, node.savedVersions?.[i]));
  stale('the output', output, node.outputVersion);
}

/** Runs `node`'s rule on `g` and adds its gradients to its inputs' sums; `spent`: the tensor whose sum `g` is, when nothing keeps it. */
function propagate(node: Node, g: Tensor, retainGraph: boolean, grads: GradientSums, spent: Tensor | null): void {
  const fn = node.backward;
  if (fn === null) {
    throw new Error(
      `backward: trying to backward through the graph a second time (at '${node.op}'); ` +
        'its saved values were freed. Pass { retainGraph: true } to the first backward call.',
    );
  }
  const inputGrads = fn(g);
  if (!retainGraph) node.backward = null;
  const targets: Tensor[] = [];
  const contributions: Tensor[] = [];
  node.inputs.forEach((input, i) => {
    const gi = inputGrads[i];
    if (gi && input.requiresGrad) {
      if (!nd.shapesEqual(gi.shape, input.shape)) {
        throw new Error(`backward: '${node.op}' produced a gradient of shape [${gi.shape.join(', ')}] for an input of shape [${input.shape.join(', ')}]`);
      }
      targets.push(input);
      contributions.push(gi.dtype === input.dtype ? gi : gi.to(input.dtype));
    }
  });
  if (spent) grads.release(spent);
  // a user's rule (`custom`) may return storage it keeps: the engine never writes into it
  grads.addAll(targets, contributions, node.custom !== true);
}
