/**
 * The playback clock: advances the frame at the recording's frame rate times the chosen speed,
 * looping at the end, and reports every frame change (played, or sought by the user).
 */

/** Kinect-era skeleton sequences are recorded at about 30 frames per second. */
const RECORDED_FPS = 30;

export class Player {
  frame = 0;
  frames = 1;
  playing = true;
  speed = 1;
  private lastTime: number | null = null;
  private pending = 0;

  constructor(private readonly onFrame: (frame: number) => void) {
    requestAnimationFrame((now) => this.tick(now));
  }

  /** Starts a sequence of `frames` frames at its first frame. */
  load(frames: number): void {
    this.frames = frames;
    this.seek(0);
  }

  seek(frame: number): void {
    this.frame = Math.min(Math.max(Math.round(frame), 0), this.frames - 1);
    this.pending = 0;
    this.onFrame(this.frame);
  }

  toggle(): void {
    this.playing = !this.playing;
  }

  private tick(now: number): void {
    requestAnimationFrame((next) => this.tick(next));
    const elapsed = this.lastTime === null ? 0 : (now - this.lastTime) / 1000;
    this.lastTime = now;
    if (!this.playing || this.frames < 2) return;
    this.pending += elapsed * RECORDED_FPS * this.speed;
    const steps = Math.floor(this.pending);
    if (steps === 0) return;
    this.pending -= steps;
    this.frame = (this.frame + steps) % this.frames;
    this.onFrame(this.frame);
  }
}
