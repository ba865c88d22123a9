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

/**
 * A block of the heap shared by a tensor and its reshaped views (PyTorch's `UntypedStorage`, in float32
 * elements). Freed by `tidy()`, `Tensor.dispose()`, or when collected.
 */
export class Storage {
  private ptrValue: number;
  /** Capacity in float32 elements. */
  readonly size: number;
  /** The kernels' heap the block lives in. */
  readonly heap: Heap;
  /** Whether the block was freed; a freed storage throws on any access to `ptr`. */
  freed = false;
  /** Persistent storage outlives `tidy()` scopes (parameters, gradients, optimizer state, `keep()`). */
  persistent: boolean;

  /**
   * Allocates `size` float32 elements on `heap`. A non-persistent storage joins the innermost `tidy()`
   * scope, if any.
   */
  constructor(heap: Heap, size: number, persistent: boolean) {
    this.heap = heap;
    this.size = size;
    this.ptrValue = heap.alloc(size);
    this.persistent = persistent;
    collectable.register(this, { heap, ptr: this.ptrValue }, this);
    if (!persistent) scopes.at(-1)?.push(this);
  }

  /** Heap pointer (float index) of the first element; throws once the storage is freed. */
  get ptr(): number {
    if (this.freed) {
      throw new Error(
        'tensor used after it was freed: it was created inside tidy() (or disposed) and used after ' +
          'the scope ended; return it from the tidy callback or keep() it',
      );
    }
    return this.ptrValue;
  }

  /** Returns the block to the heap now; does nothing when already freed. */
  free(): void {
    if (this.freed) return;
    this.freed = true;
    collectable.unregister(this);
    this.heap.free(this.ptrValue);
  }
}

const collectable = new FinalizationRegistry<{ heap: Heap; ptr: number }>(({ heap, ptr }) => heap.free(ptr));
const scopes: Storage[][] = [];

/**
 * A float32, row-major, contiguous n-dimensional array in the kernels' heap, with reverse-mode
 * autodiff (PyTorch's `torch.Tensor`, float32 only). Create one with `tensor`, `zeros`, `ones`,
 * `full`, `randn`, ...; the methods are fluent forms of the ops (`x.matmul(w).add(b).relu()`).
 */
export class Tensor {
  /** Size of every axis (frozen); `[]` for a scalar. */
  readonly shape: Shape;
  /** Number of elements: the product of `shape`. */
  readonly size: number;
  /** The heap block holding the data, shared with reshaped views. */
  readonly storage: Storage;
  /** Element offset of this view inside its storage. */
  readonly offset: number;
  /** Whether gradients flow to this tensor: set on leaves by `requireGrad()`, on op results by autodiff. */
  requiresGrad = false;
  private gradBuffer: Tensor | null = null;
  /**
   * Set by `zeroGrad()`: the gradient buffer counts as zero without a pass over it, and the next
   * backward() copies into it instead of adding (a read of `grad` before that zero-fills it).
   */
  private gradZeroed = false;

  /** Gradient accumulated by backward() (leaf tensors that require grad only). */
  get grad(): Tensor | null {
    if (this.gradZeroed) {
      this.gradZeroed = false;
      this.gradBuffer?.data.fill(0);
    }
    return this.gradBuffer;
  }

  /** Replaces the gradient buffer (PyTorch lets one assign `.grad` too). */
  set grad(value: Tensor | null) {
    this.gradBuffer = value;
    this.gradZeroed = false;
  }

  /** Zeroes the gradient (PyTorch's `zero_grad`), lazily: see `grad`. */
  zeroGrad(): void {
    if (this.gradBuffer !== null) this.gradZeroed = true;
  }

  /**
   * Adds a gradient into `grad` (the first time, or after zeroGrad(), copies it): backward()'s
   * accumulation into leaves. `add(target, source)` is the in-place addition.
   */
  accumulateGrad(source: Tensor, add: (target: Tensor, source: Tensor) => void): void {
    if (this.gradBuffer === null) {
      this.gradBuffer = new Tensor(this.shape, new Storage(this.storage.heap, this.size, true));
      this.gradZeroed = true;
    }
    if (this.gradZeroed) this.gradBuffer.data.set(source.data);
    else add(this.gradBuffer, source);
    this.gradZeroed = false;
  }
  /** How this tensor was computed, for backward(); null for leaves and results computed without grad. */
  gradFn: GradFn | null = null;

  /** A view of `shape` on `storage` from element `offset`; throws a RangeError when it does not fit. */
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

  /** Number of axes (PyTorch's `dim()`). */
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

  /** The value of a one-element tensor (PyTorch's `item()`); throws for any other size. */
  item(): number {
    if (this.size !== 1)
      throw new Error(`item(): tensor has ${this.size} elements, shape ${formatShape(this.shape)}`);
    return this.data[0];
  }

  /** `Tensor([2, 3])`, with `, requiresGrad` when it requires gradients; never the data. */
  toString(): string {
    return `Tensor(${formatShape(this.shape)}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }

  /** Frees the storage now (shared with reshaped views of this tensor). */
  dispose(): void {
    this.storage.free();
  }

  /** Whether the storage was freed (by `dispose()` or the end of its `tidy()` scope). */
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

  /**
   * Accumulates the gradient of this tensor into the `.grad` of every leaf that requires gradients
   * (PyTorch's `backward()`). Without `gradient`, the tensor must be a scalar (dL/dL = 1).
   */
  backward(gradient?: Tensor): void {
    ops.backward(this, gradient);
  }

  // Fluent forms of the ops in ./ops, for readable model code: x.matmul(w).add(b).relu().
  /** `add(this, other)`: element-wise sum, broadcasting. */
  add(other: Tensor | number): Tensor {
    return ops.add(this, other);
  }
  /** `sub(this, other)`: element-wise difference, broadcasting. */
  sub(other: Tensor | number): Tensor {
    return ops.sub(this, other);
  }
  /** `mul(this, other)`: element-wise product, broadcasting. */
  mul(other: Tensor | number): Tensor {
    return ops.mul(this, other);
  }
  /** `div(this, other)`: element-wise quotient, broadcasting. */
  div(other: Tensor | number): Tensor {
    return ops.div(this, other);
  }
  /** `neg(this)`: −x. */
  neg(): Tensor {
    return ops.neg(this);
  }
  /** `exp(this)`: eˣ element-wise. */
  exp(): Tensor {
    return ops.exp(this);
  }
  /** `log(this)`: natural logarithm element-wise. */
  log(): Tensor {
    return ops.log(this);
  }
  /** `abs(this)`: |x| element-wise. */
  abs(): Tensor {
    return ops.abs(this);
  }
  /** `sqrt(this)`: √x element-wise. */
  sqrt(): Tensor {
    return ops.sqrt(this);
  }
  /** `square(this)`: x² element-wise. */
  square(): Tensor {
    return ops.square(this);
  }
  /** `relu(this)`: max(x, 0) element-wise. */
  relu(): Tensor {
    return ops.relu(this);
  }
  /** `sigmoid(this)`: 1 / (1 + e⁻ˣ) element-wise. */
  sigmoid(): Tensor {
    return ops.sigmoid(this);
  }
  /** `tanh(this)`: hyperbolic tangent element-wise. */
  tanh(): Tensor {
    return ops.tanh(this);
  }
  /** `sum(this, axes, keepdims)`: sum over `axes` (all by default). */
  sum(axes?: number | readonly number[], keepdims = false): Tensor {
    return ops.sum(this, axes, keepdims);
  }
  /** `mean(this, axes, keepdims)`: mean over `axes` (all by default). */
  mean(axes?: number | readonly number[], keepdims = false): Tensor {
    return ops.mean(this, axes, keepdims);
  }
  /** `max(this, axis, keepdims)`: maximum over one axis, or over every element. */
  max(axis?: number, keepdims = false): Tensor {
    return ops.max(this, axis, keepdims);
  }
  /** `matmul(this, other)`: matrix product, batched. */
  matmul(other: Tensor): Tensor {
    return ops.matmul(this, other);
  }
  /** `reshape(this, shape)`: the same data with another shape (one axis may be −1). */
  reshape(shape: Shape): Tensor {
    return ops.reshape(this, shape);
  }
  /** `permute(this, perm)`: output axis i is input axis perm[i]. */
  permute(perm: readonly number[]): Tensor {
    return ops.permute(this, perm);
  }
  /** `transpose(this, axis0, axis1)`: swaps two axes, the last two by default. */
  transpose(axis0 = -2, axis1 = -1): Tensor {
    return ops.transpose(this, axis0, axis1);
  }
  /** `slice(this, axis, start, end)`: elements start..end−1 along an axis. */
  slice(axis: number, start: number, end: number): Tensor {
    return ops.slice(this, axis, start, end);
  }
  /** `softmax(this, axis)`: softmax along an axis, the last by default. */
  softmax(axis = -1): Tensor {
    return ops.softmax(this, axis);
  }
  /** `logSoftmax(this, axis)`: log-softmax along an axis, the last by default. */
  logSoftmax(axis = -1): Tensor {
    return ops.logSoftmax(this, axis);
  }
}

/** Int32 tensor for labels and indices; lives in ordinary JavaScript memory (kernels never read it). */
export class IntTensor {
  /** Size of every axis (frozen). */
  readonly shape: Shape;
  /** The values, row-major. */
  readonly data: Int32Array;

  /** Wraps `data` (an Int32Array is used as is, numbers are copied); `shape` defaults to `[data.length]`. */
  constructor(data: Int32Array | readonly number[], shape?: Shape) {
    this.data = data instanceof Int32Array ? data : Int32Array.from(data);
    this.shape = Object.freeze([...(shape ?? [this.data.length])]);
    if (sizeOf(this.shape) !== this.data.length) {
      throw new RangeError(
        `IntTensor: ${this.data.length} values do not fill shape ${formatShape(this.shape)}`,
      );
    }
  }

  /** Number of elements. */
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

/** A number, or nested arrays of numbers whose nesting gives the shape (`[[1, 2], [3, 4]]`: [2, 2]). */
export type NestedNumbers = number | readonly NestedNumbers[];

function inferShape(values: NestedNumbers): number[] {
  const shape: number[] = [];
  let level: NestedNumbers = values;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0] as NestedNumbers;
  }
  return shape;
}

/**
 * A tensor from a flat array with a shape, or from nested arrays (PyTorch's `torch.tensor`); the data
 * is copied. Without `shape`, a flat array is 1-D and nested arrays give their own shape.
 */
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

/** A rank-0 tensor (shape `[]`) holding `value`. */
export function scalar(value: number): Tensor {
  return full([], value);
}

/** A tensor of `shape` filled with `value` (`torch.full`); `persistent` makes it outlive `tidy()` scopes. */
export function full(shape: Shape, value: number, persistent = false): Tensor {
  const out = Tensor.empty(shape, persistent);
  out.data.fill(value);
  return out;
}

/** A tensor of zeros (`torch.zeros`); `persistent` makes it outlive `tidy()` scopes. */
export function zeros(shape: Shape, persistent = false): Tensor {
  return full(shape, 0, persistent);
}

/** A tensor of ones (`torch.ones`). */
export function ones(shape: Shape): Tensor {
  return full(shape, 1);
}

/** Normal samples N(0, std²) from a seeded generator (`torch.randn`, scaled by `std`). */
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
