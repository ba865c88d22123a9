/**
 * The tracked hand drawn over the video: MediaPipe's image landmarks (fractions of the image) as
 * bones and joints, one colour per finger, on a canvas of the video's own size laid over it.
 */
import { type HandLandmark, handLandmarkFinger, MEDIAPIPE_HAND_BONES } from '@skelprune/runtime';

const FINGER_COLOURS: Record<ReturnType<typeof handLandmarkFinger>, string> = {
  wrist: '#ffffff',
  thumb: '#ff7a45',
  index: '#ffd666',
  middle: '#95de64',
  ring: '#36cfc9',
  pinky: '#b37feb',
};

export class HandOverlay {
  private readonly context: CanvasRenderingContext2D | null;

  constructor(private readonly canvas: HTMLCanvasElement) {
    this.context = canvas.getContext('2d');
  }

  /** Matches the canvas to the video's pixels (the CSS lays both out the same way). */
  fit(width: number, height: number): void {
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
    }
  }

  draw(landmarks: readonly HandLandmark[] | null): void {
    const { context, canvas } = this;
    if (!context) return;
    context.clearRect(0, 0, canvas.width, canvas.height);
    if (!landmarks) return;
    const at = (i: number) => [landmarks[i].x * canvas.width, landmarks[i].y * canvas.height] as const;
    const scale = Math.max(canvas.width, canvas.height) / 640;
    context.lineWidth = 3 * scale;
    context.lineCap = 'round';
    for (const [a, b] of MEDIAPIPE_HAND_BONES) {
      context.strokeStyle = FINGER_COLOURS[handLandmarkFinger(b)];
      context.beginPath();
      context.moveTo(...at(a));
      context.lineTo(...at(b));
      context.stroke();
    }
    landmarks.forEach((_, i) => {
      context.fillStyle = FINGER_COLOURS[handLandmarkFinger(i)];
      context.beginPath();
      context.arc(...at(i), 4 * scale, 0, 2 * Math.PI);
      context.fill();
    });
  }
}
