/** Every differentiable op of the engine. Models compose everything else from these. */
export { backward, customGrad, customGradOutputs, noGrad } from '../autograd.js';
export {
  abs,
  add,
  addInto,
  broadcastTo,
  div,
  exp,
  log,
  mul,
  neg,
  relu,
  rsub,
  sigmoid,
  sign,
  sqrt,
  square,
  sub,
  sumToShape,
  tanh,
  where,
} from './elementwise.js';
export { concat, gather, permute, reshape, slice, stack, transpose } from './layout.js';
export { matmul } from './matmul.js';
export { type CrossEntropyOptions, crossEntropy, dropout, layerNorm, logSoftmax, softmax } from './nn.js';
export { argmaxRows, max, mean, sum } from './reduce.js';
