/**
 * The single float32 heap every tensor lives in: a WebAssembly.Memory (shared when the platform
 * allows, so worker threads run kernels on the same data), managed by a size-class allocator.
 *
 * Training repeats the same shapes every step, so freed blocks are kept on per-size-class free lists
 * and reused exactly; nothing is ever returned to the system. Pointers are float32 element indices,
 * aligned to 16 floats (64 bytes, one cache line) so SIMD loads never straddle lines.
 */

const PAGE_BYTES = 65536;
const ALIGN_FLOATS = 16;
/** The first page is reserved for the wasm module's own statics and stack. */
const RESERVED_BYTES = PAGE_BYTES;
/** 32768 pages = 2 GiB: pointers stay below 2³¹ bytes, which the wasm side treats as unsigned anyway. */
export const MAX_PAGES = 32768;
const INITIAL_PAGES = 256;

export interface HeapStats {
  /** Bytes handed out and not yet freed. */
  bytesInUse: number;
  /** Highest bytesInUse seen. */
  peakBytes: number;
  /** Bytes of wasm memory reserved so far. */
  capacityBytes: number;
  liveBlocks: number;
}

/**
 * The part of a WebAssembly.Memory the heap uses. Declared structurally so that the package's type
 * declarations need no WebAssembly typings: TypeScript has them only in its DOM and webworker
 * libraries (and @types/node only from v22), so a Node project with neither could not compile
 * against `WebAssembly.Memory`. Every value of this type is a real WebAssembly.Memory.
 */
export interface WasmMemory {
  /** The memory's bytes (replaced by a larger buffer when it grows). */
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  /** Adds `deltaPages` pages of 64 KiB; returns the previous size in pages. */
  grow(deltaPages: number): number;
}

export function createMemory(shared: boolean, initialPages = INITIAL_PAGES): WasmMemory {
  return new WebAssembly.Memory({ initial: initialPages, maximum: MAX_PAGES, shared });
}

/** True where a shared WebAssembly.Memory can be created (Node; browsers when cross-origin isolated). */
export function sharedMemorySupported(): boolean {
  try {
    return (
      typeof SharedArrayBuffer !== 'undefined' && createMemory(true, 1).buffer instanceof SharedArrayBuffer
    );
  } catch {
    return false;
  }
}

/** Rounds a request up to its size class: multiples of 16 floats, then 8 classes per doubling. */
function sizeClass(n: number): number {
  const aligned = Math.max(ALIGN_FLOATS, Math.ceil(n / ALIGN_FLOATS) * ALIGN_FLOATS);
  if (aligned <= 1024) return aligned;
  const step = 2 ** (Math.floor(Math.log2(aligned)) - 3);
  return Math.ceil(aligned / step) * step;
}

export class Heap {
  readonly memory: WasmMemory;
  private view: Float32Array;
  private top: number;
  private readonly freeLists = new Map<number, number[]>();
  /** ptr → size class of every live block: catches double frees and foreign pointers. */
  private readonly live = new Map<number, number>();
  private inUse = 0;
  private peak = 0;

  constructor(memory: WasmMemory) {
    this.memory = memory;
    this.view = new Float32Array(memory.buffer);
    this.top = RESERVED_BYTES / 4;
  }

  /** A view of the whole heap. Re-read it after any allocation: growth replaces the buffer. */
  get f32(): Float32Array {
    if (this.view.buffer !== this.memory.buffer) this.view = new Float32Array(this.memory.buffer);
    return this.view;
  }

  /** Allocates room for n floats (contents undefined) and returns its pointer. */
  alloc(n: number): number {
    if (!Number.isInteger(n) || n < 0)
      throw new RangeError(`Heap.alloc: size must be a non-negative integer, got ${n}`);
    const size = sizeClass(n);
    const ptr = this.freeLists.get(size)?.pop() ?? this.bump(size);
    this.live.set(ptr, size);
    this.inUse += size * 4;
    if (this.inUse > this.peak) this.peak = this.inUse;
    return ptr;
  }

  /** Allocates n floats set to zero. */
  allocZeroed(n: number): number {
    const ptr = this.alloc(n);
    this.f32.fill(0, ptr, ptr + n);
    return ptr;
  }

  free(ptr: number): void {
    const size = this.live.get(ptr);
    if (size === undefined) throw new Error(`Heap.free: ${ptr} is not a live allocation (double free?)`);
    this.live.delete(ptr);
    this.inUse -= size * 4;
    let list = this.freeLists.get(size);
    if (!list) {
      list = [];
      this.freeLists.set(size, list);
    }
    list.push(ptr);
  }

  stats(): HeapStats {
    return {
      bytesInUse: this.inUse,
      peakBytes: this.peak,
      capacityBytes: this.memory.buffer.byteLength,
      liveBlocks: this.live.size,
    };
  }

  private bump(size: number): number {
    const ptr = this.top;
    const end = ptr + size;
    const capacity = this.memory.buffer.byteLength / 4;
    if (end > capacity) {
      const neededPages = Math.ceil((end * 4 - this.memory.buffer.byteLength) / PAGE_BYTES);
      const currentPages = this.memory.buffer.byteLength / PAGE_BYTES;
      const pages = Math.min(Math.max(neededPages, currentPages >> 1), MAX_PAGES - currentPages);
      if (pages < neededPages) {
        throw new RangeError(
          `out of tensor memory: ${(end * 4) / 2 ** 20} MiB needed, the heap is capped at ${(MAX_PAGES * PAGE_BYTES) / 2 ** 30} GiB`,
        );
      }
      this.memory.grow(pages);
    }
    this.top = end;
    return ptr;
  }
}
