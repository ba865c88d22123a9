/** The one seeded pseudo-random generator of skelprune lives in the runtime package (random.ts). */
export { Rng } from '@skelprune/runtime/internal';
