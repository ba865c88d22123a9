/**
 * The kernels a loaded model runs on when the caller names none: the process-wide backend. Node
 * creates it synchronously on first use; browsers must compile the wasm module asynchronously, so
 * the first `load` there creates it and installs it for every later model. Naming a backend or a
 * thread count creates a backend of one's own.
 */
import { SkelpruneError } from '../errors.js';
import { defaultKernels, hasKernels, useKernels } from './default.js';
import { createKernels, createKernelsSync, type KernelOptions } from './index.js';
import type { Kernels } from './types.js';

export type KernelChoice = Pick<KernelOptions, 'backend' | 'threads'>;

const canCompileSync = () => typeof process !== 'undefined' && typeof process.versions?.node === 'string';
const chosen = (options: KernelChoice) => options.backend !== undefined || options.threads !== undefined;

export async function prepareKernels(options: KernelChoice = {}): Promise<Kernels> {
  if (chosen(options)) return createKernels(options);
  if (!hasKernels() && !canCompileSync()) useKernels(await createKernels());
  return defaultKernels();
}

export function prepareKernelsSync(options: KernelChoice = {}): Kernels {
  if (!chosen(options) && (hasKernels() || canCompileSync())) return defaultKernels();
  if (canCompileSync()) return createKernelsSync(options);
  throw new SkelpruneError(
    'this runtime compiles wasm asynchronously: use SkeletonClassifier.load, or pass kernels to fromBytes',
  );
}
