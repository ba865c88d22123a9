/**
 * Export: a (pruned) checkpoint compacted into a `.skp` model file for the runtime, and optionally an
 * ONNX model, as bytes or as files (what `skelprune export` does). Every export is verified: the
 * exported engine must reproduce the checkpoint's outputs.
 */
import {
  describeStorage,
  InferenceEngine,
  LAYER_NAMES,
  type LayerName,
  type RuntimeModel,
  type StorageFormat,
} from '@skelprune/runtime/internal';
import { noGrad, Rng, randn, tidy } from '../engine/index.js';
import type { SkeletonGcn } from '../model/gcn.js';
import { compactModel } from '../runtime/compact.js';
import { encodeModelFile } from '../runtime/model-file.js';
import { exportOnnx } from '../runtime/onnx.js';
import { toRuntimeModel } from '../runtime/runtime-model.js';
import { checkpointMasks, loadCheckpoint, modelFromCheckpoint } from '../train/checkpoint.js';
import { writeFilesAtomic } from '../util/fs.js';

/** Options of every export. */
export interface ExportOptions {
  /** A checkpoint written by `train` or `prune`. */
  model: string;
  /** Storage of every layer's product; `auto` (default) picks per layer by a measured cost model. */
  format?: 'auto' | StorageFormat;
  /** The batch size `auto` stores formats for (default 1, the latency case); the engine converts for others. */
  batch?: number;
}

/** Options of `exportModelBytes`. */
export interface ExportBytesOptions extends ExportOptions {
  /** Also encode the compacted network as ONNX (default false). */
  onnx?: boolean;
}

/** Options of `exportModel`, those of `skelprune export`. */
export interface ExportFileOptions extends ExportOptions {
  /** The `.skp` file to write. */
  out: string;
  /** Also write an ONNX model (dense compacted weights) to this file. */
  onnx?: string;
}

/** How one product of the exported model is stored (its weight matrix transposed: Wᵀ). */
export interface ExportedLayer {
  /** The product: encoder, projection, conv, fc or classifier. */
  name: LayerName;
  /** Its storage and kernel: dense, csr (compressed rows) or bsr (4×4 blocks). */
  format: StorageFormat;
  /** Output channels after compaction. */
  rows: number;
  /** Input channels after compaction. */
  cols: number;
  /** Stored nonzero weights. */
  nonzeros: number;
  /** Nonempty 4×4 blocks. */
  blocks: number;
  /** Bytes the stored weights take in memory. */
  bytes: number;
}

/** What an export produced, as `skelprune export` reports it. */
export interface ExportReport {
  /** The checkpoint exported. */
  model: string;
  /** Storage of every product, in execution order. */
  layers: ExportedLayer[];
  /** Attention heads after compaction. */
  heads: {
    /** Heads kept. */
    kept: number;
    /** Heads of the unpruned model. */
    total: number;
    /** Kept heads that still compute attention (the others have a constant adjacency). */
    dynamic: number;
  };
  /** Size of the `.skp` file. */
  skpBytes: number;
  /** Size of the unpruned model's float32 weights, for comparison. */
  unprunedBytes: number;
  /** Size of the ONNX model, when one was made. */
  onnxBytes: number | null;
  /** Largest difference between the checkpoint's and the exported model's logits, relative to their scale. */
  maxRelativeError: number;
}

/** The exported files' bytes and the report. */
export interface ExportedModel {
  /** The `.skp` model file, for `SkeletonClassifier.load`. */
  skp: Uint8Array;
  /** The ONNX model (opset 17), when asked for. */
  onnx: Uint8Array | null;
  /** What was exported, as `exportModel` reports it. */
  report: ExportReport;
}

/** Above this relative logit difference the export is wrong, not rounded. */
const EXPORT_TOLERANCE = 1e-4;

/** Largest |logit difference| between the checkpoint's masked model and the exported engine. */
function verifyExport(checkpointModel: SkeletonGcn, runtime: RuntimeModel): number {
  const engine = new InferenceEngine(runtime);
  try {
    return noGrad(() =>
      tidy(() => {
        checkpointModel.eval();
        const x = randn([4, runtime.nodes, runtime.chunks * runtime.chunkWidth], new Rng(0));
        const expected = checkpointModel.forward(x).toArray();
        const actual = engine.predict(x.toArray(), 4);
        const scale = Math.max(1, ...Array.from(expected, Math.abs));
        return Math.max(...Array.from(actual, (v, i) => Math.abs(v - expected[i]))) / scale;
      }),
    );
  } finally {
    engine.dispose();
  }
}

/**
 * Compacts a checkpoint (removed channels, heads and units disappear; constants fold into biases) into
 * the bytes of a `.skp` model file and, with `onnx: true`, of an ONNX model. Nothing is written.
 * Throws when the exported model does not reproduce the checkpoint's outputs (a bug).
 */
export async function exportModelBytes(options: ExportBytesOptions): Promise<ExportedModel> {
  const { format = 'auto', batch = 1 } = options;
  const checkpoint = await loadCheckpoint(options.model);
  const { model } = modelFromCheckpoint(checkpoint, options.model);
  const compact = compactModel(model, checkpointMasks(checkpoint));
  const runtime = toRuntimeModel(compact, { format, batch });
  const maxRelativeError = verifyExport(model, runtime);
  if (!(maxRelativeError < EXPORT_TOLERANCE))
    throw new Error(
      `export check failed: outputs differ from the checkpoint by ${maxRelativeError} (relative)`,
    );
  const { meta } = checkpoint;
  const skp = encodeModelFile({
    model: runtime,
    input: meta.input,
    classNames: meta.classNames,
    info: {
      source: options.model,
      provenance: meta.provenance,
      pruning: meta.pruning,
      results: meta.results,
      unprunedParameters: model.parameterCount(),
      exported: new Date().toISOString(),
    },
  });
  const onnx = options.onnx ? exportOnnx(compact, { classNames: meta.classNames }) : null;
  const storage = describeStorage(runtime);
  return {
    skp,
    onnx,
    report: {
      model: options.model,
      layers: LAYER_NAMES.map((name) => {
        const { format, rows, cols, nonzeros, blocks, bytes } = storage[name];
        return { name, format, rows, cols, nonzeros, blocks, bytes };
      }),
      heads: {
        kept: runtime.heads.length,
        total: model.config.heads,
        dynamic: runtime.heads.filter((h) => h.dims.length > 0).length,
      },
      skpBytes: skp.length,
      unprunedBytes: 4 * model.parameterCount(),
      onnxBytes: onnx?.length ?? null,
      maxRelativeError,
    },
  };
}

/**
 * Exports a checkpoint to a `.skp` file (`out`) and optionally an ONNX file, as `skelprune export`;
 * returns the report. Each file is written atomically: interrupted at any moment, the export leaves
 * the previous file or the new one under its name, never a partial one.
 */
export async function exportModel(options: ExportFileOptions): Promise<ExportReport> {
  const { skp, onnx, report } = await exportModelBytes({ ...options, onnx: options.onnx !== undefined });
  const files = [{ path: options.out, data: skp }];
  if (options.onnx !== undefined && onnx) files.push({ path: options.onnx, data: onnx });
  await writeFilesAtomic(files);
  return report;
}
