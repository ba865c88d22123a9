/**
 * The root of skelprune's error family: errors a user can act on (a wrong or corrupted file, input
 * that does not fit the model). Their message is one line meant for people; the toolkit's CLI prints
 * it without a stack trace. Anything else thrown is a bug.
 */
export class SkelpruneError extends Error {
  /** `'SkelpruneError'`. */
  override name = 'SkelpruneError';
}
