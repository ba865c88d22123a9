/**
 * A product's weight in the heap, in as many formats as the batch sizes it runs at call for. A
 * layer's stored format is what the cost model chose for one batch size (export --batch); the
 * fastest format changes with the columns a product runs over (at batch 32 the FPHA fc runs twice as
 * fast in csr as in the bsr that batch 1 wants), so unless the format was forced, each batch size
 * gets the format the cost model prefers there, converted from the stored one and uploaded once.
 */
import { preferredFormat } from './cost-model.js';
import { type HeapArena, type HeapLayer, uploadLayer } from './heap-arena.js';
import {
  convertStorage,
  type MatrixShape,
  type StorageFormat,
  type StoredMatrix,
  summarizeStorage,
} from './storage.js';

export class LayerStorage {
  private readonly shape: MatrixShape;
  private readonly uploads = new Map<StorageFormat, HeapLayer>();

  /** `forced`: run the stored format at every batch size. */
  constructor(
    private readonly arena: HeapArena,
    private readonly weight: StoredMatrix,
    private readonly bias: Float32Array,
    private readonly forced: boolean,
  ) {
    this.shape = summarizeStorage(weight);
  }

  /** The format a product over `columns` columns runs in. */
  formatAt(columns: number): StorageFormat {
    return this.forced ? this.weight.format : preferredFormat(this.shape, columns, this.weight.format);
  }

  /** The weight and bias a product over `columns` columns runs on, uploaded on first need. */
  at(columns: number): HeapLayer {
    const format = this.formatAt(columns);
    let layer = this.uploads.get(format);
    if (!layer) {
      layer = uploadLayer(this.arena, convertStorage(this.weight, format), this.bias);
      this.uploads.set(format, layer);
    }
    return layer;
  }
}
