/**
 * Writing the exported model file (`.skp`; docs/model-format.md). The format and its reader live in
 * the runtime package (`@skelprune/runtime`, format/model-file.ts); this is the other direction.
 */
import {
  bitmapBytes,
  denseValues,
  encodeSafetensors,
  LAYER_NAMES,
  type LayerName,
  METADATA_KEY,
  MODEL_FORMAT,
  MODEL_VERSION,
  type ModelFile,
  type ModelFileHeader,
  type NamedArray,
  type StoredMatrix,
  type WeightEncoding,
} from '@skelprune/runtime/internal';

export { decodeModelFile, type ModelFile } from '@skelprune/runtime/internal';

function encodeWeight(
  name: string,
  m: StoredMatrix,
): { encoding: WeightEncoding; tensors: Record<string, NamedArray> } {
  const dense = denseValues(m);
  const nonzeros = dense.reduce((n, v) => n + (v === 0 ? 0 : 1), 0);
  if (bitmapBytes(dense.length) + 4 * nonzeros >= dense.byteLength) {
    return { encoding: 'dense', tensors: { [`${name}.values`]: { shape: [m.rows, m.cols], data: dense } } };
  }
  const mask = new Uint8Array(bitmapBytes(dense.length));
  const values = new Float32Array(nonzeros);
  let n = 0;
  dense.forEach((v, k) => {
    if (v === 0) return;
    mask[k >> 3] |= 1 << (k & 7);
    values[n++] = v;
  });
  return {
    encoding: 'bitmap',
    tensors: {
      [`${name}.mask`]: { shape: [mask.length], data: mask },
      [`${name}.values`]: { shape: [nonzeros], data: values },
    },
  };
}

export function encodeModelFile(file: ModelFile): Uint8Array {
  const { model } = file;
  const { nodes } = model;
  const encoded = Object.fromEntries(
    LAYER_NAMES.map((name) => [name, encodeWeight(name, model.layers[name].weight)]),
  ) as Record<LayerName, ReturnType<typeof encodeWeight>>;
  const header: ModelFileHeader = {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    model: {
      nodes,
      chunks: model.chunks,
      classes: model.classes,
      chunkWidth: model.chunkWidth,
      encoderInputs: model.encoderInputs,
      scoreScale: model.scoreScale,
      heads: model.heads.map(({ index, dims, channels }) => ({ index, dims, channels })),
      fcInputs: model.fcInputs,
      layers: Object.fromEntries(
        LAYER_NAMES.map((name) => {
          const { format, rows, cols } = model.layers[name].weight;
          return [name, { format, encoding: encoded[name].encoding, rows, cols }];
        }),
      ) as ModelFileHeader['model']['layers'],
    },
    input: file.input,
    classNames: file.classNames,
    info: file.info,
  };
  const tensors: Record<string, NamedArray> = {};
  const biases = new Float32Array(model.heads.length * nodes * nodes);
  model.heads.forEach((h, i) => {
    biases.set(h.bias, i * nodes * nodes);
  });
  tensors['heads.bias'] = { shape: [model.heads.length, nodes, nodes], data: biases };
  for (const name of LAYER_NAMES) {
    const layer = model.layers[name];
    Object.assign(tensors, encoded[name].tensors);
    tensors[`${name}.bias`] = { shape: [layer.bias.length], data: layer.bias };
  }
  return encodeSafetensors(tensors, { [METADATA_KEY]: JSON.stringify(header) });
}
