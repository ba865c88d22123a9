/** skelprune's public API. */
export * from './engine/index.js';
export { ConfigError, DataFormatError, SkelpruneError } from './errors.js';
