/**
 * The user-facing configuration of the node features (which channels); the features themselves are
 * computed by the runtime package (`@skelprune/runtime`, input/features.ts), identically in training
 * and inference.
 */
import { FEATURE_CHANNELS } from '@skelprune/runtime/internal';
import { z } from 'zod';

export {
  FEATURE_CHANNELS,
  type FeatureChannel,
  type FeatureConfig,
  featureDim,
  jointParents,
  windowCount,
  writeNodeFeatures,
} from '@skelprune/runtime/internal';

export const featureConfigSchema = z.strictObject({
  /**
   * Per-frame channels of each node's signal, in order: `position` (x, y, z), `velocity` (displacement
   * since the previous frame), `bone` (vector from the joint's parent). All three by default.
   */
  channels: z
    .array(z.enum(FEATURE_CHANNELS))
    .min(1)
    // Checked before the elements: a huge list fails at once, not once per element.
    .max(FEATURE_CHANNELS.length)
    .refine((c) => new Set(c).size === c.length, 'channels must not repeat')
    .default(['position', 'velocity', 'bone']),
  /**
   * Overlapping temporal windows (`{ size, stride }` in frames): each node's signal is cut into
   * windows that the encoder encodes one per chunk, a temporal convolution per joint. The model's
   * `encoderChunks` becomes the number of windows. Default none (the paper's contiguous chunks);
   * the `windowed` variant sets it.
   */
  windows: z
    .strictObject({
      /** Frames per window. */
      size: z.int().positive(),
      /** Frames between the starts of consecutive windows. */
      stride: z.int().positive(),
    })
    .nullable()
    .default(null),
});
