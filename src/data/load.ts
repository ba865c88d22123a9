/** The one entry point for reading any supported dataset. */
import { SkelpruneError } from '../errors.js';
import { loadFpha } from './fpha.js';
import { loadGeneric } from './generic.js';
import { loadSbu, type SbuOptions } from './sbu.js';
import { generateSynthetic, type SyntheticOptions } from './synthetic.js';
import type { Dataset } from './types.js';

/** The dataset formats skelprune reads (docs/datasets.md); `synthetic` is generated. */
export const DATASET_KINDS = ['sbu', 'fpha', 'generic', 'synthetic'] as const;
/** A dataset format. */
export type DatasetKind = (typeof DATASET_KINDS)[number];

/** Which dataset to load: its kind and folder (SBU: also its units), or the synthetic generator's options. */
export type LoadOptions =
  | ({ readonly kind: 'sbu'; readonly path: string } & SbuOptions)
  | { readonly kind: 'fpha'; readonly path: string }
  | { readonly kind: 'generic'; readonly path: string }
  | { readonly kind: 'synthetic'; readonly synthetic?: SyntheticOptions };

/** Reads (or, for `synthetic`, generates) a whole dataset into memory. */
export async function loadDataset(options: LoadOptions): Promise<Dataset> {
  switch (options.kind) {
    case 'sbu':
      return loadSbu(requirePath(options.path, 'sbu'), options);
    case 'fpha':
      return loadFpha(requirePath(options.path, 'fpha'));
    case 'generic':
      return loadGeneric(requirePath(options.path, 'generic'));
    case 'synthetic':
      return generateSynthetic(options.synthetic);
  }
}

function requirePath(path: string | undefined, kind: DatasetKind): string {
  if (!path) throw new SkelpruneError(`dataset '${kind}' needs a path to its folder`);
  return path;
}
