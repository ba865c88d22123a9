/**
 * The runtime's building blocks, for the skelprune toolkit (training, export, benchmarks) and for
 * advanced use: the kernels and their heap, the inference engine, the model file's reader and its
 * format constants, the safetensors codec and the input pipeline. Unlike the package's main entry,
 * these carry no stability promise between minor versions.
 *
 * @packageDocumentation
 */
export {
  type ClassifierInternals,
  classifierFromModelFile,
  classifierInternals,
} from './classifier.js';
export * from './errors.js';
export { describeValue } from './format/check.js';
export { crc32 } from './format/crc32.js';
export * from './format/model-file.js';
export * from './format/safetensors.js';
export * from './input/features.js';
export * from './input/model-input.js';
export * from './input/preprocess.js';
export * from './input/sequence-input.js';
export type * from './input/types.js';
export * from './kernels/default.js';
export * from './kernels/heap.js';
export * from './kernels/index.js';
export * from './kernels/strides.js';
export * from './kernels/types.js';
export * from './model/cost-model.js';
export * from './model/engine.js';
export * from './model/graph-order.js';
export * from './model/heap-arena.js';
export * from './model/layer-storage.js';
export * from './model/softmax.js';
export * from './model/storage.js';
export * from './random.js';
