/**
 * The tensor engine: float32 tensors in a wasm heap, reverse-mode autodiff, ops, optimizers,
 * initialisers, schedules and safetensors I/O. It knows nothing about skeletons or GCNs.
 */

export { decodeSafetensors, encodeSafetensors, type NamedArray } from '@skelprune/runtime/internal';
export {
  customGrad,
  customGradOutputs,
  type GradFn,
  type GradGroup,
  NonFiniteError,
  noGrad,
  setFiniteCheck,
} from './autograd.js';
export { kernels, useKernels } from './backend.js';
export * as init from './init.js';
export { Module, Parameter } from './module.js';
export * from './ops/index.js';
export {
  Adam,
  type AdamOptions,
  AdamW,
  clipGradNorm,
  Optimizer,
  type OptimizerOptions,
  type OptimizerState,
  type ParamGroup,
  SGD,
  type SgdOptions,
} from './optim.js';
export { Rng } from './random.js';
export { loadSafetensors, saveSafetensors } from './safetensors-file.js';
export { constantLr, cosineLr, type LrSchedule, LrScheduler, stepLr, warmupLr } from './schedule.js';
export { formatShape, type Shape, ShapeError } from './shape.js';
export {
  clone,
  full,
  IntTensor,
  keep,
  type NestedNumbers,
  ones,
  rand,
  randn,
  Storage,
  scalar,
  Tensor,
  tensor,
  tidy,
  view,
  zeros,
} from './tensor.js';
