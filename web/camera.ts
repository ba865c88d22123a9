/**
 * The webcam: a video stream from `getUserMedia`, with a message a person can act on for each way it
 * can fail (no permission, no camera, a camera in use, a page that is not secure).
 */

/** Why the camera is not running, in words for the page. */
export class CameraError extends Error {
  constructor(
    message: string,
    /** `denied`, `missing`, `busy`, `insecure` or `failed`: for the page's styling and the tests. */
    readonly reason: 'denied' | 'missing' | 'busy' | 'insecure' | 'failed',
  ) {
    super(message);
  }
}

/** Opens the camera (the front one on a phone) at up to 640 × 480, which the tracker needs at most. */
export async function openCamera(): Promise<MediaStream> {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw window.isSecureContext
      ? new CameraError('This browser gives web pages no camera access.', 'missing')
      : new CameraError(
          'Browsers let only secure pages use the camera: open this page at http://localhost (as skelprune serve prints it) or over https.',
          'insecure',
        );
  }
  try {
    return await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: 'user' },
    });
  } catch (error) {
    throw cameraError(error);
  }
}

function cameraError(error: unknown): CameraError {
  const name = error instanceof DOMException || error instanceof Error ? error.name : '';
  switch (name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
    case 'SecurityError':
      return new CameraError(
        'Camera permission was denied. Allow this page to use the camera (the camera icon in the address bar, or the site settings), then press Start camera again.',
        'denied',
      );
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return new CameraError(
        'No camera was found. Connect a webcam (or turn it on in the system settings), then press Start camera again.',
        'missing',
      );
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return new CameraError(
        'The camera could not start: another application may be using it. Close it, then press Start camera again.',
        'busy',
      );
    default:
      return new CameraError(
        `The camera could not start: ${error instanceof Error ? error.message : String(error)}`,
        'failed',
      );
  }
}

/** Stops every track of a stream (the camera's light goes off). */
export function closeCamera(stream: MediaStream | null): void {
  for (const track of stream?.getTracks() ?? []) track.stop();
}
