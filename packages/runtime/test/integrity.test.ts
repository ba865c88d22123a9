import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32, crc32Portable } from '../src/format/crc32.js';
import { decodeModelFile } from '../src/format/model-file.js';
import { CHECKSUM_KEY, decodeSafetensors, encodeSafetensors } from '../src/format/safetensors.js';
import { SkeletonClassifier, SkelpruneError } from '../src/index.js';
import { tinyModelBytes, tinySequence } from './tiny-model.js';

// biome-ignore lint/suspicious/noExplicitAny: the tests edit untyped JSON freely
type Json = any;

const bytes = tinyModelBytes();
const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
const dataStart = 8 + headerLength;

/** The file with its JSON header edited (the data and, unless removed, the checksum kept). */
function editHeader(file: Uint8Array, edit: (header: Json) => void): Uint8Array {
  const length = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + length)));
  edit(header);
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + file.length - 8 - length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(file.subarray(8 + length), 8 + json.length);
  return out;
}

/** The file with its model description edited, checksum recomputed: consistent bytes, lying contents. */
function editDescription(edit: (description: Json) => void): Uint8Array {
  const { tensors, metadata } = decodeSafetensors(bytes);
  const description = JSON.parse(metadata.skelprune_model);
  edit(description);
  return encodeSafetensors(tensors, { skelprune_model: JSON.stringify(description) });
}

const refused = (file: Uint8Array, pattern: RegExp) =>
  assert.throws(
    () => decodeModelFile(file, 'm.skp'),
    (error: Error) => {
      assert.ok(error instanceof SkelpruneError, `${error.name}: ${error.message}`);
      assert.match(error.message, pattern);
      assert.ok(!error.message.includes('\n'), 'one line');
      return true;
    },
  );

describe('CRC-32', () => {
  it('is the zlib checksum, and continues across parts', () => {
    const text = new TextEncoder().encode('123456789');
    assert.equal(crc32(text), 0xcbf43926);
    assert.equal(crc32(new Uint8Array(0)), 0);
    assert.equal(crc32(text.subarray(4), crc32(text.subarray(0, 4))), 0xcbf43926);
    // The portable table (browsers) and Node's native CRC agree, piecewise too.
    const bytes = Uint8Array.from({ length: 100_003 }, (_, i) => (i * 2654435761) >>> 24);
    assert.equal(crc32Portable(bytes), crc32(bytes));
    assert.equal(crc32Portable(bytes.subarray(777), crc32Portable(bytes.subarray(0, 777))), crc32(bytes));
    assert.equal(crc32Portable(text), 0xcbf43926);
    // An empty view continues the running value (node:zlib alone would return 0 for this one).
    assert.equal(crc32(new Uint8Array(new Float32Array(0).buffer), 0x1234), 0x1234);
  });
});

describe('model file integrity', () => {
  it('records a checksum, verifies it, and reports it as info.integrity', () => {
    const { metadata, integrity } = decodeSafetensors(bytes);
    assert.equal(integrity, 'verified');
    assert.ok(!(CHECKSUM_KEY in metadata), 'the checksum is not part of the returned metadata');
    assert.equal(decodeModelFile(bytes).integrity, 'verified');
    assert.equal(SkeletonClassifier.fromBytes(bytes).info.integrity, 'verified');
  });

  it('refuses every single-bit corruption of the file, header or tensor data', () => {
    let tried = 0;
    // Every byte of the length and the header, and every 7th byte of the data, bit (k mod 8) flipped.
    for (let k = 0; k < bytes.length; k += k < dataStart ? 1 : 7) {
      const corrupted = bytes.slice();
      corrupted[k] ^= 1 << (k % 8);
      assert.throws(
        () => decodeModelFile(corrupted, 'm.skp'),
        (error: Error) => error instanceof SkelpruneError && /^m\.skp: /.test(error.message),
        `byte ${k} of ${bytes.length} (data from ${dataStart})`,
      );
      tried++;
    }
    assert.ok(tried > 1000, `${tried} corruptions`);
    const data = bytes.slice();
    data[dataStart + 13] ^= 0x10;
    refused(
      data,
      /^m\.skp: corrupted file: its contents have CRC-32 [0-9a-f]{8}, but it records [0-9a-f]{8} \(skelprune_crc32\)$/,
    );
  });

  it('refuses a header that hands the bytes of one tensor to another (offsets swapped)', () => {
    const file = encodeSafetensors({
      a: { shape: [2], data: Float32Array.of(1, 2) },
      b: { shape: [2], data: Float32Array.of(3, 4) },
    });
    const swapped = editHeader(file, (header) => {
      [header.a.data_offsets, header.b.data_offsets] = [header.b.data_offsets, header.a.data_offsets];
    });
    assert.throws(
      () => decodeSafetensors(swapped, 'w.ckpt'),
      /^SkelpruneError: w\.ckpt: corrupted file: its contents have CRC-32 [0-9a-f]{8}, but it records/,
    );
  });

  it('reads a file without a checksum (an older writer) as unchecked', () => {
    const old = editHeader(bytes, (header) => {
      delete header.__metadata__[CHECKSUM_KEY];
    });
    assert.equal(decodeSafetensors(old).integrity, 'unchecked');
    assert.equal(decodeModelFile(old).integrity, 'unchecked');
    assert.equal(SkeletonClassifier.fromBytes(old).info.integrity, 'unchecked');
    const malformed = editHeader(bytes, (header) => {
      header.__metadata__[CHECKSUM_KEY] = 'none';
    });
    refused(
      malformed,
      /^m\.skp: corrupted file: its checksum 'skelprune_crc32' is 'none', not 8 hex digits$/,
    );
  });
});

describe('model file checks', () => {
  it('checks every cross-field constraint of the description', () => {
    const cases: [(d: Json) => void, RegExp][] = [
      [(d) => d.classNames.pop(), /'classNames': expected 4 names, one per class, found '3'/],
      [(d) => (d.input.bones[2][1] = 5), /'input\.bones\.2\.1': expected an integer in \[0, 4\], found 5/],
      [(d) => (d.input.centerJoint = 5), /'input\.centerJoint': expected an integer in \[0, 4\], found 5/],
      [(d) => d.input.jointNames.pop(), /'input\.jointNames': expected 5 names, one per joint, found '4'/],
      [(d) => (d.model.nodes = 6), /'model\.nodes': expected persons × joints = 5, found 6/],
      [
        (d) => (d.model.chunkWidth = 12),
        /'model\.chunkWidth': expected chunks × chunkWidth = 48, .*found '2 × 12'/,
      ],
      [(d) => d.model.encoderInputs.push(24), /inconsistent model: .*encoder is 6×20, expected 6×21/],
      [
        (d) => (d.model.encoderInputs[0] = 24),
        /inconsistent model: .*encoder inputs outside the chunk width/,
      ],
      [(d) => (d.model.fcInputs[0] = 35), /inconsistent model: .*fc inputs outside the conv output/],
      [(d) => (d.model.heads[1].dims = [3, 4, 5]), /inconsistent model: .*head 1 indexes out of range/],
      [(d) => (d.model.heads[0].channels[0] = 12), /inconsistent model: .*head 0 indexes out of range/],
      [
        (d) => (d.model.layers.encoder.rows = 7),
        /tensor 'encoder\.values' has shape \[6, 20\], expected \[7, 20\]/,
      ],
      [(d) => (d.model.layers.fc.cols = 40), /the weights of layer 'fc' do not match its 9×40 shape/],
      [
        (d) => (d.model.layers.conv.format = 'coo'),
        /'model\.layers\.conv\.format': expected one of dense, csr, bsr/,
      ],
    ];
    for (const [edit, pattern] of cases) refused(editDescription(edit), pattern);
  });

  it('checks every tensor: dtype, shape, finite values, nothing more', () => {
    const { tensors, metadata } = decodeSafetensors(bytes);
    const withTensors = (changed: Record<string, { shape: number[]; data: Json }>) =>
      encodeSafetensors({ ...tensors, ...changed }, metadata);
    const heads = tensors['heads.bias'].data as Float32Array;
    refused(
      withTensors({ 'heads.bias': { shape: [2, 25], data: heads } }),
      /'heads\.bias' has shape \[2, 25\], expected \[2, 5, 5\]/,
    );
    const nan = heads.slice();
    nan[3] = Number.NaN;
    refused(
      withTensors({ 'heads.bias': { shape: [2, 5, 5], data: nan } }),
      /tensor 'heads\.bias' holds non-finite values/,
    );
    const inf = (tensors['classifier.bias'].data as Float32Array).slice();
    inf[0] = Number.POSITIVE_INFINITY;
    refused(
      withTensors({ 'classifier.bias': { shape: [inf.length], data: inf } }),
      /'classifier\.bias' holds non-finite/,
    );
    refused(
      withTensors({ 'classifier.bias': { shape: [4], data: new Int32Array(4) } }),
      /tensor 'classifier\.bias' is missing or has the wrong type/,
    );
    refused(
      withTensors({ extra: { shape: [1], data: new Float32Array(1) } }),
      /tensor 'extra' is not part of the model file format/,
    );
  });

  it('checks the safetensors layout against the bytes before allocating', () => {
    const cases: [(h: Json) => void, RegExp][] = [
      [
        (h) => (h['heads.bias'].shape = [-2, -5, 5]),
        /entry 'heads\.bias' lacks a dtype, a shape of sizes or two integer data_offsets/,
      ],
      [(h) => (h['heads.bias'].shape = [0.5, 10, 10]), /entry 'heads\.bias' lacks/],
      [
        (h) => (h['heads.bias'].data_offsets = [0, 2 ** 40]),
        /'heads\.bias' has data offsets \[0, \d+\] outside the \d+-byte data/,
      ],
      [
        (h) => (h['heads.bias'].shape = [2 ** 20, 2 ** 20, 2 ** 20]),
        /'heads\.bias' has 200 bytes for shape \[1048576, 1048576, 1048576\]/,
      ],
      [(h) => (h['heads.bias'].dtype = 'F64'), /'heads\.bias' has dtype F64; only F32, I32, U16 and U8/],
      [
        (h) => (h.__metadata__.skelprune_model = { nested: true }),
        /__metadata__ is not an object of strings/,
      ],
      [
        (h) => {
          const [begin, end] = h['heads.bias'].data_offsets;
          h['heads.bias'].data_offsets = [begin + 4, end + 4];
        },
        /not a valid safetensors file: /,
      ],
    ];
    for (const [edit, pattern] of cases) refused(editHeader(bytes, edit), pattern);
    const huge = bytes.slice();
    new DataView(huge.buffer).setBigUint64(0, 2n ** 62n, true);
    refused(huge, /header length \d+ exceeds the file \(\d+ bytes; truncated\?\)/);
  });

  it('refuses a description that would need more memory than any real model, before allocating', () => {
    const started = performance.now();
    const file = editDescription((d) => {
      d.input.preprocessing.persons = 64;
      d.input.preprocessing.temporal.frames = 65536;
      d.model.nodes = 64 * 5;
      d.model.chunkWidth = (2 * 3 * 65536) / 2;
    });
    refused(
      file,
      /invalid model description: it needs \d+ activations per sequence, more than the runtime's limit of 16777216/,
    );
    assert.ok(performance.now() - started < 1000);
  });
});

describe('files without a checksum (found by fuzzing)', () => {
  const unchecked = (file: Uint8Array) =>
    editHeader(file, (header) => {
      delete header.__metadata__[CHECKSUM_KEY];
    });

  it('describes a version of any shape in bounded time: no stack overflow on 50,000 nested arrays', () => {
    const depth = 50_000;
    const nested = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    for (const [value, found] of [
      [nested, 'an array'],
      [`{"a":${nested}}`, 'an object'],
      [JSON.stringify('x'.repeat(100_000)), `'${'x'.repeat(40)}…'`],
      ['null', 'null'],
    ] as const) {
      const file = editHeader(unchecked(bytes), (header) => {
        const description = JSON.parse(header.__metadata__.skelprune_model);
        description.version = '@version@';
        header.__metadata__.skelprune_model = JSON.stringify(description).replace('"@version@"', value);
      });
      refused(file, new RegExp(`^m\\.skp: model format version ${found} is not supported \\(`));
    }
    // A description that is JSON null: a message, not a TypeError.
    const nullDescription = editHeader(unchecked(bytes), (header) => {
      header.__metadata__.skelprune_model = 'null';
    });
    refused(nullDescription, /^m\.skp: model format version undefined is not supported/);
  });

  it('names the model when finite but huge weights (±3.4e38) overflow its scores', () => {
    const { tensors, metadata } = decodeSafetensors(bytes);
    const name = Object.keys(tensors).find((key) => key.endsWith('.values'));
    assert.ok(name, Object.keys(tensors).join(', '));
    (tensors[name].data as Float32Array).fill(3.4e38);
    const huge = unchecked(encodeSafetensors(tensors, metadata));
    const classifier = SkeletonClassifier.fromBytes(huge, { name: 'huge.skp' });
    try {
      assert.throws(
        () => classifier.predictBatch([tinySequence(1), tinySequence(2)]),
        (error: Error) => {
          assert.ok(error instanceof SkelpruneError, `${error.name}: ${error.message}`);
          assert.equal(error.message, 'huge.skp: the model produced non-finite scores for this input');
          return true;
        },
      );
    } finally {
      classifier.dispose();
    }
  });
});
