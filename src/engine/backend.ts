/**
 * The kernels the engine runs on: the runtime package's process-wide backend, so that training,
 * export and inference share one heap and one set of worker threads.
 */
export { defaultKernels as kernels, useKernels } from '@skelprune/runtime/internal';
