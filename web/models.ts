/**
 * Models on the page: a `.skp` file's bytes become a predictor on the page's wasm kernels, plus what
 * the page shows about it (file size, pruning, nonzero weights, each layer's storage format). A model
 * with pruning information fills the 'pruned' slot, any other the 'dense' slot.
 */

import { type Kernels, type LayerName, type ModelInfo, SkeletonClassifier } from '@skelprune/runtime';
import { classifierInternals } from '@skelprune/runtime/internal';

export type Slot = 'pruned' | 'dense';

export interface LayerSummary {
  name: LayerName;
  format: string;
  nonzeros: number;
  bytes: number;
}

export interface ModelSummary {
  fileBytes: number;
  pruning: ModelInfo['pruning'];
  /** Nonzero weights stored across the layers. */
  nonzeros: number;
  /** Parameters of the model before pruning, when the file records them. */
  unprunedParameters: number | null;
  layers: LayerSummary[];
}

export interface LoadedModel {
  name: string;
  slot: Slot;
  predictor: SkeletonClassifier;
  summary: ModelSummary;
}

/** Decodes a model file; throws the library's error (naming `name`) for anything that is not one. */
export function loadModel(bytes: Uint8Array, name: string, kernels: Kernels): LoadedModel {
  const predictor = SkeletonClassifier.fromBytes(bytes, { kernels, name });
  const summary = summarize(predictor.info);
  warmUp(predictor);
  return { name, slot: summary.pruning ? 'pruned' : 'dense', predictor, summary };
}

/** The first inference allocates the engine's buffers: done here, it stays out of the latencies shown. */
function warmUp(predictor: SkeletonClassifier): void {
  const { file, engine } = classifierInternals(predictor);
  const { nodes, chunks, chunkWidth } = file.model;
  engine.predict(new Float32Array(nodes * chunks * chunkWidth), 1);
}

/** What the page shows of a model: read off the classifier's own description of it. */
function summarize(info: ModelInfo): ModelSummary {
  const layers = info.layers.map(({ name, format, nonzeros, bytes }) => ({ name, format, nonzeros, bytes }));
  const unpruned = info.metadata.unprunedParameters;
  return {
    fileBytes: info.fileBytes,
    pruning: info.pruning,
    nonzeros: layers.reduce((sum, layer) => sum + layer.nonzeros, 0),
    unprunedParameters: typeof unpruned === 'number' ? unpruned : null,
    layers,
  };
}

/** A model the server offers (`skelprune serve` lists them in the page, see serve.ts). */
export interface ServedModel {
  name: string;
  url: string;
  bytes: number;
  /** `model`: loaded with the page; `dense`: loaded when the user compares it with the model. */
  role: 'model' | 'dense';
}

/**
 * The models the server offers: `skelprune serve` writes them into the page (a JSON block), so the
 * page asks for nothing a plain static server lacks (no 404 there).
 */
export function servedModels(): ServedModel[] {
  const block = document.getElementById('served-models');
  if (!block?.textContent) return [];
  const parsed = JSON.parse(block.textContent) as ServedModel[];
  return Array.isArray(parsed) ? parsed : [];
}

/** A served model's bytes. */
export async function fetchModel({ name, url }: ServedModel): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${name}: the server answered ${response.status} for ${url}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** A label for headings: the pruning method and achieved rate, or 'dense'. */
export function modelLabel(model: LoadedModel): string {
  const { pruning } = model.summary;
  return pruning ? `pruned ${(pruning.achievedRate * 100).toFixed(1)}% (${pruning.method})` : 'dense';
}
