/** The sequence type shared by the runtime and the toolkit's dataset readers. */

/** One recorded sequence: a clip of one action, all persons in it, every joint in every frame. */
export interface SkeletonSequence {
  /** Unique within its dataset; protocol folds refer to sequences by this id. */
  readonly id: string;
  /** 0-based class index into the dataset's class names; −1 when unknown (live input). */
  readonly label: number;
  /** Who performed it: SBU the two-actor set (`s01s02`), FPHA `Subject_k`, generic as given. */
  readonly subject: string;
  /** Frames in `positions`. */
  readonly frames: number;
  /** Persons in every frame. */
  readonly persons: number;
  /** Joints of each person. */
  readonly joints: number;
  /** frames × persons × joints × 3 (x, y, z), row-major: index ((f·persons + p)·joints + j)·3 + axis. */
  readonly positions: Float32Array;
  /** The file it was read from, or a description such as `synthetic (seed 1)`. */
  readonly source: string;
}
