/**
 * The exported model file (`.skp`; docs/model-format.md). The format, its reader and its writer live
 * in the runtime package (`@skelprune/runtime`, format/model-file.ts), next to each other so they
 * cannot drift apart.
 */
export {
  type DecodedModelFile,
  decodeModelFile,
  encodeModelFile,
  type ModelFile,
} from '@skelprune/runtime/internal';
