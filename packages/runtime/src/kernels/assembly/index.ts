// Entry point of the wasm SIMD kernels: everything exported here is what wasm.ts calls.
export {
  ctfMask,
  ctfMaskBackward,
  ctfMaskBackwardStats,
  ctfMaskedWeight,
  ctfMaskedWeightBackward,
  ctfMaskedWeightBackwardStats,
  ctfMaskStats,
} from './ctf';
export { activationBackward, affine, binary, select, unary } from './elementwise';
export { gemm, gemmScratchBytes, gemmTileCols, gemmTileRows } from './gemm';
export { adam, sgd } from './optim';
export { permute } from './permute';
export { layerNorm, layerNormBackward, reduce, softmax, softmaxBackward, sumSquares } from './reduce';
export { attentionMix, biasActivation, blockProduct, csrProduct, gatherRows } from './sparse';
