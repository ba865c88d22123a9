/**
 * Reverse-mode automatic differentiation. Every op that sees an input requiring gradients records a
 * `GradFn` on its output: the inputs and a function from the output's gradient to the inputs'. The
 * recorded graph is the tape; `backward()` walks it once in reverse topological order.
 */
import { addInto } from './ops/elementwise.js';
import { formatShape, ShapeError } from './shape.js';
import { clone, full, type Tensor } from './tensor.js';

/**
 * How a tensor was computed, recorded by autodiff on its `gradFn` (PyTorch's `grad_fn` node): the op,
 * its inputs, and the map from the output's gradient to theirs.
 */
export interface GradFn {
  /** The op's name, for error messages. */
  readonly op: string;
  /** The op's tensor inputs, in order. */
  readonly inputs: readonly Tensor[];
  /** Maps dL/d(output) to dL/d(input) for each input (null where an input needs no gradient). */
  readonly backward: (grad: Tensor) => readonly (Tensor | null)[];
  /**
   * Set on every output of a multi-output op ({@link customGradOutputs}): `backward()` then gathers
   * the gradients of all the op's outputs and maps them to the inputs' in one call.
   */
  readonly group?: GradGroup;
}

/** The outputs of one multi-output op and its backward from all their gradients at once. */
export interface GradGroup {
  /** The op's outputs, in the order its forward returned them. */
  readonly outputs: readonly Tensor[];
  /** dL/d(output) for each output (null where none reached it) → dL/d(input) for each input. */
  readonly backward: (grads: readonly (Tensor | null)[]) => readonly (Tensor | null)[];
}

let gradEnabled = true;
let checkFinite = false;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn without recording any graph (evaluation, optimizer updates, backward itself). */
export function noGrad<T>(fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

/**
 * Finite-check mode: after every op (forward and backward) the result is scanned, and the first op
 * that produced NaN or Inf is named in the error. Costs one pass over each result; off by default.
 */
export function setFiniteCheck(enabled: boolean): void {
  checkFinite = enabled;
}

/**
 * Thrown in finite-check mode (`setFiniteCheck(true)`) by the first op whose result, forward or
 * backward, holds a NaN or an infinity; the message names the op, the phase and the flat index.
 */
export class NonFiniteError extends Error {
  /** Always `'NonFiniteError'`. */
  override name = 'NonFiniteError';
}

function assertFinite(op: string, phase: string, t: Tensor): void {
  const data = t.data;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new NonFiniteError(
        `${op} (${phase}) produced ${data[i]} at flat index ${i} of its ${formatShape(t.shape)} result`,
      );
    }
  }
}

/**
 * Records how `output` was computed from `inputs`. Call it in every differentiable op after computing
 * the output; does nothing when no input requires gradients or grad mode is off.
 */
export function record(
  op: string,
  output: Tensor,
  inputs: readonly Tensor[],
  backward: (grad: Tensor) => readonly (Tensor | null)[],
): Tensor {
  if (checkFinite) assertFinite(op, 'forward', output);
  if (gradEnabled && inputs.some((t) => t.requiresGrad)) {
    output.requiresGrad = true;
    output.gradFn = { op, inputs, backward };
  }
  return output;
}

/**
 * An op with a hand-written gradient, e.g. a straight-through estimator: `forward` computes the output
 * (no graph is recorded inside it), `backward` maps the output gradient to one gradient per input.
 */
export function customGrad(
  op: string,
  inputs: readonly Tensor[],
  forward: () => Tensor,
  backward: (grad: Tensor, output: Tensor) => readonly (Tensor | null)[],
): Tensor {
  const output = noGrad(forward);
  return record(op, output, inputs, (grad) => backward(grad, output));
}

/**
 * An op with several outputs and one hand-written backward: `forward` computes the outputs (no graph
 * is recorded inside it), `backward` maps the gradients of all of them (null for an output no
 * gradient reached) to one gradient per input. `backward()` calls it once, after every output that
 * the differentiated result depends on has its gradient complete, so a fused op whose outputs are
 * consumed separately (e.g. a tensor and a statistic of it) still runs a single backward pass.
 */
export function customGradOutputs(
  op: string,
  inputs: readonly Tensor[],
  forward: () => Tensor[],
  backward: (grads: readonly (Tensor | null)[], outputs: readonly Tensor[]) => readonly (Tensor | null)[],
): Tensor[] {
  const outputs = noGrad(forward);
  if (new Set(outputs).size !== outputs.length) {
    throw new Error(`${op}: a multi-output op must return distinct tensors`);
  }
  if (checkFinite) for (const output of outputs) assertFinite(op, 'forward', output);
  if (!gradEnabled || !inputs.some((t) => t.requiresGrad)) return outputs;
  const group: GradGroup = { outputs, backward: (grads) => backward(grads, outputs) };
  outputs.forEach((output, index) => {
    output.requiresGrad = true;
    output.gradFn = {
      op,
      inputs,
      // On its own (the other outputs without gradient), as any GradFn.
      backward: (grad) => group.backward(outputs.map((_, j) => (j === index ? grad : null))),
      group,
    };
  });
  return outputs;
}

function ownedCopy(grad: Tensor, owned: Set<Tensor>): Tensor {
  if (owned.has(grad)) return grad;
  const copy = clone(grad);
  owned.add(copy);
  return copy;
}

function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  const stack: [Tensor, boolean][] = [[root, false]];
  while (stack.length > 0) {
    const [node, expanded] = stack.pop()!;
    if (expanded) {
      order.push(node);
      continue;
    }
    if (visited.has(node)) continue;
    visited.add(node);
    stack.push([node, true]);
    for (const input of node.gradFn?.inputs ?? []) {
      if (input.requiresGrad && !visited.has(input)) stack.push([input, false]);
    }
  }
  return order;
}

/** The outputs of each multi-output op that `order` holds, and their gradients, gathered by backward(). */
function pendingGroups(
  order: readonly Tensor[],
): Map<GradGroup, { remaining: number; grads: (Tensor | null)[] }> {
  const groups = new Map<GradGroup, { remaining: number; grads: (Tensor | null)[] }>();
  for (const node of order) {
    const group = node.gradFn?.group;
    if (!group) continue;
    const pending = groups.get(group);
    if (pending) pending.remaining++;
    else groups.set(group, { remaining: 1, grads: group.outputs.map(() => null) });
  }
  return groups;
}

/** Adds `grad` into a leaf's persistent `.grad` buffer (created on first use). */
function accumulateLeafGrad(leaf: Tensor, grad: Tensor): void {
  leaf.accumulateGrad(grad, addInto);
}

/**
 * Computes the gradient of `root` with respect to every leaf that requires gradients, accumulating
 * into their `.grad`. `root` must be a scalar unless an explicit output gradient is given.
 */
export function backward(root: Tensor, gradient?: Tensor): void {
  if (!root.requiresGrad)
    throw new Error('backward: the tensor does not require gradients (no parameter reached it)');
  if (gradient === undefined && root.size !== 1) {
    throw new ShapeError(
      `backward: an implicit gradient needs a scalar, got shape ${formatShape(root.shape)}`,
    );
  }
  if (gradient !== undefined && gradient.size !== root.size) {
    throw new ShapeError(
      `backward: gradient shape ${formatShape(gradient.shape)} does not match output ${formatShape(root.shape)}`,
    );
  }
  noGrad(() => {
    const grads = new Map<Tensor, Tensor>([[root, gradient ?? full(root.shape, 1)]]);
    // Sums created here may be updated in place; gradients returned by ops may alias other tensors.
    const owned = new Set<Tensor>();
    const order = topologicalOrder(root);
    const groups = pendingGroups(order);
    for (let i = order.length - 1; i >= 0; i--) {
      const node = order[i];
      const grad = grads.get(node);
      grads.delete(node);
      const group = node.gradFn?.group;
      let inputGrads: readonly (Tensor | null)[];
      if (group) {
        // Every output of a multi-output op comes before its inputs in this order: the op's backward
        // runs at the last of its outputs the root depends on, with all their gradients.
        const pending = groups.get(group)!;
        pending.grads[group.outputs.indexOf(node)] = grad ?? null;
        if (--pending.remaining > 0 || pending.grads.every((g) => g === null)) continue;
        inputGrads = group.backward(pending.grads);
      } else {
        if (grad === undefined) continue;
        if (node.gradFn === null) {
          accumulateLeafGrad(node, grad);
          continue;
        }
        inputGrads = node.gradFn.backward(grad);
      }
      node.gradFn!.inputs.forEach((input, j) => {
        const g = inputGrads[j];
        if (!input.requiresGrad || g === null || g === undefined) return;
        if (g.size !== input.size) {
          throw new ShapeError(
            `${node.gradFn!.op} backward: gradient ${formatShape(g.shape)} for input ${j} of shape ${formatShape(input.shape)}`,
          );
        }
        if (checkFinite) assertFinite(node.gradFn!.op, 'backward', g);
        const previous = grads.get(input);
        if (previous === undefined) grads.set(input, g);
        else grads.set(input, addInto(ownedCopy(previous, owned), g));
      });
    }
  });
}
