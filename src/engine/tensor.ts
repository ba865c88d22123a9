/**
 * Tensors: float32, row-major, contiguous, stored in the kernels' heap (so wasm kernels and worker
 * threads work on them in place, with no copies).
 *
 * Memory: heap blocks are not garbage-collected memory, so the engine frees them in three ways:
 *  - `tidy(fn)` frees every tensor created inside `fn` except what `fn` returns (as in TensorFlow.js);
 *    a training step runs inside one;
 *  - parameters, gradients of parameters, optimizer state and anything passed to `keep()` are
 *    persistent and live until `dispose()`;
 *  - a tensor created outside any scope is freed when JavaScript collects it (a safety net).
 * A tensor used after its scope ended throws an error saying so, never reads stale data.
 */
import type { Heap, Kernels } from '@skelprune/runtime/internal';
import type { GradFn } from './autograd.js';
import { kernels } from './backend.js';
import * as ops from './ops/index.js';
import type { Rng } from './random.js';
import { assertValidShape, formatShape, resolveReshape, type Shape, sizeOf } from './shape.js';

/** A block of the heap shared by a tensor and its reshaped views. */
export class Storage {
  private ptrValue: number;
  readonly size: number;
  readonly heap: Heap;
  freed = false;
  persistent: boolean;

  constructor(heap: Heap, size: number, persistent: boolean) {
    this.heap = heap;
    this.size = size;
    this.ptrValue = heap.alloc(size);
    this.persistent = persistent;
    collectable.register(this, { heap, ptr: this.ptrValue }, this);
    if (!persistent) scopes.at(-1)?.push(this);
  }

  get ptr(): number {
    if (this.freed) {
      throw new Error(
        'tensor used after it was freed: it was created inside tidy() (or disposed) and used after ' +
          'the scope ended; return it from the tidy callback or keep() it',
      );
    }
    return this.ptrValue;
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    collectable.unregister(this);
    this.heap.free(this.ptrValue);
  }
}

const collectable = new FinalizationRegistry<{ heap: Heap; ptr: number }>(({ heap, ptr }) => heap.free(ptr));
const scopes: Storage[][] = [];

export class Tensor {
  readonly shape: Shape;
  readonly size: number;
  readonly storage: Storage;
  /** Element offset of this view inside its storage. */
  readonly offset: number;
  requiresGrad = false;
  /** Gradient accumulated by backward() (leaf tensors that require grad only). */
  grad: Tensor | null = null;
  /** How this tensor was computed, for backward(); null for leaves and results computed without grad. */
  gradFn: GradFn | null = null;

  constructor(shape: Shape, storage: Storage, offset = 0) {
    this.shape = Object.freeze([...shape]);
    this.size = sizeOf(shape);
    this.storage = storage;
    this.offset = offset;
    if (offset + this.size > storage.size) throw new RangeError('Tensor: view exceeds its storage');
  }

  /** A new uninitialised tensor. Persistent tensors outlive tidy() scopes. */
  static empty(shape: Shape, persistent = false): Tensor {
    assertValidShape(shape, 'empty');
    const k = kernels();
    return new Tensor(shape, new Storage(k.heap, sizeOf(shape), persistent));
  }

  /** Heap pointer (float index) of the first element, for kernels. */
  get ptr(): number {
    return this.storage.ptr + this.offset;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** A live view of the data. Re-read after allocating: heap growth can replace the buffer. */
  get data(): Float32Array {
    const start = this.ptr;
    return this.storage.heap.f32.subarray(start, start + this.size);
  }

  /** A copy of the data that stays valid independently of the heap. */
  toArray(): Float32Array {
    return this.data.slice();
  }

  /** Nested JavaScript arrays (for printing and tests). */
  toNested(): unknown {
    const data = this.data;
    const build = (axis: number, offset: number): unknown => {
      if (axis === this.rank) return data[offset];
      const stride = sizeOf(this.shape.slice(axis + 1));
      return Array.from({ length: this.shape[axis] }, (_, i) => build(axis + 1, offset + i * stride));
    };
    return build(0, 0);
  }

  item(): number {
    if (this.size !== 1)
      throw new Error(`item(): tensor has ${this.size} elements, shape ${formatShape(this.shape)}`);
    return this.data[0];
  }

  toString(): string {
    return `Tensor(${formatShape(this.shape)}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }

  /** Frees the storage now (shared with reshaped views of this tensor). */
  dispose(): void {
    this.storage.free();
  }

  get isDisposed(): boolean {
    return this.storage.freed;
  }

  /** Marks this tensor as a leaf that accumulates gradients. */
  requireGrad(flag = true): this {
    if (this.gradFn !== null) throw new Error('requireGrad: only leaf tensors can require gradients');
    this.requiresGrad = flag;
    return this;
  }

  /** A tensor sharing this one's data, cut off from the graph. */
  detach(): Tensor {
    return new Tensor(this.shape, this.storage, this.offset);
  }

  backward(gradient?: Tensor): void {
    ops.backward(this, gradient);
  }

  // Fluent forms of the ops in ./ops, for readable model code: x.matmul(w).add(b).relu().
  add(other: Tensor | number): Tensor {
    return ops.add(this, other);
  }
  sub(other: Tensor | number): Tensor {
    return ops.sub(this, other);
  }
  mul(other: Tensor | number): Tensor {
    return ops.mul(this, other);
  }
  div(other: Tensor | number): Tensor {
    return ops.div(this, other);
  }
  neg(): Tensor {
    return ops.neg(this);
  }
  exp(): Tensor {
    return ops.exp(this);
  }
  log(): Tensor {
    return ops.log(this);
  }
  abs(): Tensor {
    return ops.abs(this);
  }
  sqrt(): Tensor {
    return ops.sqrt(this);
  }
  square(): Tensor {
    return ops.square(this);
  }
  relu(): Tensor {
    return ops.relu(this);
  }
  sigmoid(): Tensor {
    return ops.sigmoid(this);
  }
  tanh(): Tensor {
    return ops.tanh(this);
  }
  sum(axes?: number | readonly number[], keepdims = false): Tensor {
    return ops.sum(this, axes, keepdims);
  }
  mean(axes?: number | readonly number[], keepdims = false): Tensor {
    return ops.mean(this, axes, keepdims);
  }
  max(axis?: number, keepdims = false): Tensor {
    return ops.max(this, axis, keepdims);
  }
  matmul(other: Tensor): Tensor {
    return ops.matmul(this, other);
  }
  reshape(shape: Shape): Tensor {
    return ops.reshape(this, shape);
  }
  permute(perm: readonly number[]): Tensor {
    return ops.permute(this, perm);
  }
  transpose(axis0 = -2, axis1 = -1): Tensor {
    return ops.transpose(this, axis0, axis1);
  }
  slice(axis: number, start: number, end: number): Tensor {
    return ops.slice(this, axis, start, end);
  }
  softmax(axis = -1): Tensor {
    return ops.softmax(this, axis);
  }
  logSoftmax(axis = -1): Tensor {
    return ops.logSoftmax(this, axis);
  }
}

/** Int32 tensor for labels and indices; lives in ordinary JavaScript memory (kernels never read it). */
export class IntTensor {
  readonly shape: Shape;
  readonly data: Int32Array;

  constructor(data: Int32Array | readonly number[], shape?: Shape) {
    this.data = data instanceof Int32Array ? data : Int32Array.from(data);
    this.shape = Object.freeze([...(shape ?? [this.data.length])]);
    if (sizeOf(this.shape) !== this.data.length) {
      throw new RangeError(
        `IntTensor: ${this.data.length} values do not fill shape ${formatShape(this.shape)}`,
      );
    }
  }

  get size(): number {
    return this.data.length;
  }
}

/** Runs fn and frees every tensor it created except those reachable from its return value. */
export function tidy<T>(fn: () => T): T {
  const scope: Storage[] = [];
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (error) {
    scopes.pop();
    for (const storage of scope) if (!storage.persistent) storage.free();
    throw error;
  }
  scopes.pop();
  if (result instanceof Promise) throw new Error('tidy: the callback must be synchronous');
  const kept = new Set<Storage>();
  collectStorages(result, kept, new Set());
  const parent = scopes.at(-1);
  for (const storage of scope) {
    if (storage.freed || storage.persistent) continue;
    if (kept.has(storage)) parent?.push(storage);
    else storage.free();
  }
  return result;
}

function collectStorages(value: unknown, into: Set<Storage>, seen: Set<unknown>): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (value instanceof Tensor) {
    into.add(value.storage);
    if (value.grad) into.add(value.grad.storage);
    return;
  }
  if (ArrayBuffer.isView(value)) return;
  for (const item of Array.isArray(value) ? value : Object.values(value)) collectStorages(item, into, seen);
}

/** Makes tensors outlive every enclosing tidy() scope; returns its argument. */
export function keep<T extends Tensor>(tensor: T): T {
  tensor.storage.persistent = true;
  return tensor;
}

/** The active kernels (for ops). */
export function k(): Kernels {
  return kernels();
}

// ---- creation ---------------------------------------------------------------------------------

type NestedNumbers = number | readonly NestedNumbers[];

function inferShape(values: NestedNumbers): number[] {
  const shape: number[] = [];
  let level: NestedNumbers = values;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0] as NestedNumbers;
  }
  return shape;
}

/** A tensor from a flat array with a shape, or from nested arrays. */
export function tensor(values: NestedNumbers | Float32Array | readonly number[], shape?: Shape): Tensor {
  const flat =
    values instanceof Float32Array
      ? values
      : Float32Array.from(Array.isArray(values) ? (values as unknown[]).flat(Infinity as 1) : [values]);
  const resolved =
    shape ?? (values instanceof Float32Array ? [values.length] : inferShape(values as NestedNumbers));
  if (sizeOf(resolved) !== flat.length) {
    throw new RangeError(`tensor: ${flat.length} values do not fill shape ${formatShape(resolved)}`);
  }
  const out = Tensor.empty(resolved);
  out.data.set(flat);
  return out;
}

export function scalar(value: number): Tensor {
  return full([], value);
}

export function full(shape: Shape, value: number, persistent = false): Tensor {
  const out = Tensor.empty(shape, persistent);
  out.data.fill(value);
  return out;
}

export function zeros(shape: Shape, persistent = false): Tensor {
  return full(shape, 0, persistent);
}

export function ones(shape: Shape): Tensor {
  return full(shape, 1);
}

/** Standard normal samples from a seeded generator. */
export function randn(shape: Shape, rng: Rng, std = 1): Tensor {
  const out = Tensor.empty(shape);
  const data = out.data;
  for (let i = 0; i < data.length; i++) data[i] = rng.normal(0, std);
  return out;
}

/** Uniform samples in [low, high) from a seeded generator. */
export function rand(shape: Shape, rng: Rng, low = 0, high = 1): Tensor {
  const out = Tensor.empty(shape);
  const data = out.data;
  for (let i = 0; i < data.length; i++) data[i] = rng.range(low, high);
  return out;
}

/** A new tensor with a copy of x's data (no graph). */
export function clone(x: Tensor, persistent = false): Tensor {
  const out = Tensor.empty(x.shape, persistent);
  out.data.set(x.data);
  return out;
}

/** Reinterprets x's storage with another shape (no copy). */
export function view(x: Tensor, shape: Shape): Tensor {
  return new Tensor(resolveReshape(x.shape, shape), x.storage, x.offset);
}
