/**
 * The sequences the page plays: a few bundled synthetic ones (the generator's defaults, the data
 * `skelprune demo` and `reproduce --quick` train on; one per class, made in the page and identical on
 * every load) and the user's dropped SBU, FPHA or generic `.jsonl` files.
 */

import type { SkeletonClassifier } from '@skelprune/runtime';
import { classifierInternals, type ModelFile } from '@skelprune/runtime/internal';
import { parseSequenceFile } from '../src/data/sequence-parse.js';
import { generateSynthetic } from '../src/data/synthetic.js';
import type { SkeletonSequence } from '../src/data/types.js';
import { SkelpruneError } from '../src/errors.js';
import type { Bones } from './viewer.js';

export interface SequenceEntry {
  sequence: SkeletonSequence;
  title: string;
  /** The true class's name, where the source tells it. */
  trueClass: string | null;
  /** The skeleton's bones, for the view; empty when unknown (the joints are still shown). */
  bones: Bones;
}

/**
 * One sequence per class from the synthetic generator's defaults (seed 1: the motion patterns that
 * `skelprune demo` and `reproduce --quick` models learn), all performed by subject1, the test subject of
 * fold 1.
 */
export function bundledSequences(): SequenceEntry[] {
  const dataset = generateSynthetic({ sequencesPerClass: 1 });
  return dataset.sequences.map((sequence) => ({
    sequence,
    title: `synthetic ${dataset.classNames[sequence.label]}`,
    trueClass: dataset.classNames[sequence.label],
    bones: dataset.graph.bones,
  }));
}

/**
 * The sequences of a dropped file. A generic `.jsonl` is read against the model's skeleton and class
 * names, so it needs a model; SBU and FPHA files carry their own layout. With a model, every sequence
 * must fit its input: the library's error says what was found and what the model expects.
 */
export function readDroppedSequences(
  bytes: Uint8Array,
  name: string,
  predictor: SkeletonClassifier | null,
): SequenceEntry[] {
  if (!predictor) {
    if (name.endsWith('.jsonl')) {
      throw new SkelpruneError(
        `${name}: a generic .jsonl file is read against the model's skeleton: load a .skp model first`,
      );
    }
    return parseSequenceFile(bytes, name, NO_SKELETON).map((sequence) => entryOf(sequence, null));
  }
  const { file, input: modelInput } = classifierInternals(predictor);
  const { input, classNames } = file;
  const skeleton = { ...input, persons: input.preprocessing.persons, classNames };
  const sequences = parseSequenceFile(bytes, name, skeleton);
  // The model's own input check: a wrong persons × joints fails with the library's message.
  modelInput.encode(sequences);
  return sequences.map((sequence) => entryOf(sequence, file));
}

/** What a frame file is parsed against when no model is loaded (frame files carry their own layout). */
const NO_SKELETON = { jointNames: [], bones: [], persons: 1, classNames: [] };

function entryOf(sequence: SkeletonSequence, model: ModelFile | null): SequenceEntry {
  return {
    sequence,
    title: sequence.id,
    trueClass: model && sequence.label >= 0 ? model.classNames[sequence.label] : null,
    bones: model?.input.bones ?? [],
  };
}
