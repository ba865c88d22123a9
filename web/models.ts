/**
 * Models on the page: a `.skp` file's bytes become a predictor on the page's wasm kernels, plus what
 * the page shows about it (file size, pruning, nonzero weights, each layer's storage format). A model
 * with pruning information fills the 'pruned' slot, any other the 'dense' slot.
 */

import type { Kernels, SkeletonClassifier } from '@skelprune/runtime';
import {
  classifierFromModelFile,
  classifierInternals,
  decodeModelFile,
  describeStorage,
  LAYER_NAMES,
  type LayerName,
  type ModelFile,
} from '@skelprune/runtime/internal';
import { z } from 'zod';

export type Slot = 'pruned' | 'dense';

export interface LayerSummary {
  name: LayerName;
  format: string;
  nonzeros: number;
  bytes: number;
}

export interface ModelSummary {
  fileBytes: number;
  pruning: Pruning | null;
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

/** What `skelprune export` records of a pruning run (info.pruning). */
const pruningSchema = z.object({ method: z.string(), rate: z.number(), achievedRate: z.number() });
type Pruning = z.output<typeof pruningSchema>;

/** Decodes a model file; throws the library's error (naming `name`) for anything that is not one. */
export function loadModel(bytes: Uint8Array, name: string, kernels: Kernels): LoadedModel {
  const file = decodeModelFile(bytes, name);
  const summary = summarize(file, bytes.length);
  const predictor = classifierFromModelFile(file, { kernels, name, fileBytes: bytes.length });
  warmUp(predictor);
  return { name, slot: summary.pruning ? 'pruned' : 'dense', predictor, summary };
}

/** The first inference allocates the engine's buffers: done here, it stays out of the latencies shown. */
function warmUp(predictor: SkeletonClassifier): void {
  const { file, engine } = classifierInternals(predictor);
  const { nodes, chunks, chunkWidth } = file.model;
  engine.predict(new Float32Array(nodes * chunks * chunkWidth), 1);
}

function summarize(file: ModelFile, fileBytes: number): ModelSummary {
  const storage = describeStorage(file.model);
  const layers = LAYER_NAMES.map((name) => ({
    name,
    format: storage[name].format,
    nonzeros: storage[name].nonzeros,
    bytes: storage[name].bytes,
  }));
  const pruning = pruningSchema.safeParse(file.info.pruning);
  const unpruned = z.number().safeParse(file.info.unprunedParameters);
  return {
    fileBytes,
    pruning: pruning.success ? pruning.data : null,
    nonzeros: layers.reduce((sum, layer) => sum + layer.nonzeros, 0),
    unprunedParameters: unpruned.success ? unpruned.data : null,
    layers,
  };
}

/** A model the server offers (`skelprune serve` lists them in models/index.json). */
interface ServedModel {
  name: string;
  url: string;
}

/**
 * The bytes of every model the server offers; none when the page is served without `skelprune serve`
 * (a static server has no models/index.json; Vite's dev server answers with the page itself).
 */
export async function fetchServedModels(): Promise<{ name: string; bytes: Uint8Array }[]> {
  const index = await fetch('models/index.json');
  if (!index.ok || !index.headers.get('Content-Type')?.includes('json')) return [];
  const served = (await index.json()) as ServedModel[];
  return Promise.all(
    served.map(async ({ name, url }) => {
      const response = await fetch(url);
      if (!response.ok) throw new Error(`${name}: the server answered ${response.status} for ${url}`);
      return { name, bytes: new Uint8Array(await response.arrayBuffer()) };
    }),
  );
}

/** A label for headings: the pruning method and achieved rate, or 'dense'. */
export function modelLabel(model: LoadedModel): string {
  const { pruning } = model.summary;
  return pruning ? `pruned ${(pruning.achievedRate * 100).toFixed(1)}% (${pruning.method})` : 'dense';
}
