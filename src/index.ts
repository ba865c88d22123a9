export { Rng } from './engine/random.js';
export { ConfigError, DataFormatError, SkelpruneError } from './errors.js';
