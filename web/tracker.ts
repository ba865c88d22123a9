/**
 * The hand tracker: MediaPipe Hands (the @mediapipe/hands package), loaded only when the camera
 * starts. Its script is a classic one (it defines a global `Hands`), so it is added as a <script>
 * element rather than bundled; it then fetches its wasm and models through `locateFile`, which points
 * at the same folder on this page's own server (`mediapipe/hands/`, answered by `skelprune serve`
 * from the installed package): nothing is requested from any other origin.
 */
import type { Hands, Options, Results } from '@mediapipe/hands';

/** Where the tracker's files are, relative to the page. */
export const TRACKER_PATH = 'mediapipe/hands/';

declare global {
  interface Window {
    Hands?: typeof Hands;
  }
}

/** Why the tracker could not start, in words for the page. */
export class TrackerError extends Error {}

const trackerUrl = (file: string) => new URL(TRACKER_PATH + file, document.baseURI).href;

let loading: Promise<typeof Hands> | null = null;

/** Adds the tracker's script once; resolves with its `Hands` class. */
function loadScript(): Promise<typeof Hands> {
  loading ??= new Promise<typeof Hands>((resolve, reject) => {
    const script = document.createElement('script');
    script.src = trackerUrl('hands.js');
    script.crossOrigin = 'anonymous';
    script.onload = () =>
      window.Hands ? resolve(window.Hands) : reject(new TrackerError('hands.js defined no Hands class'));
    script.onerror = () => {
      loading = null;
      script.remove();
      reject(
        new TrackerError(
          `The hand tracker could not be loaded from ${TRACKER_PATH}hands.js. skelprune serve provides it; on another server, copy node_modules/@mediapipe/hands to ${TRACKER_PATH} next to index.html.`,
        ),
      );
    };
    document.head.append(script);
  });
  return loading;
}

/**
 * One tracked hand per frame, with the lite landmark model (2 MB instead of 5.5 MB, and about twice
 * as fast as the full one, for landmarks nearly as good).
 */
const OPTIONS: Options = {
  maxNumHands: 1,
  modelComplexity: 0,
  minDetectionConfidence: 0.6,
  minTrackingConfidence: 0.5,
  // The camera's own (unmirrored) image, so the world landmarks are the hand's true shape; the page
  // mirrors the video when it draws it.
  selfieMode: false,
};

/**
 * A started tracker: `send` a video frame, and the listener receives its results (called during
 * `send`, before its promise resolves).
 */
export interface HandTracker {
  send(video: HTMLVideoElement): Promise<void>;
  close(): Promise<void>;
}

export async function startTracker(
  onResults: (results: Results) => void,
  options: Options = {},
): Promise<HandTracker> {
  const HandsClass = await loadScript();
  const hands = new HandsClass({ locateFile: (file) => trackerUrl(file) });
  hands.setOptions({ ...OPTIONS, ...options });
  hands.onResults(onResults);
  try {
    await hands.initialize();
  } catch (error) {
    throw new TrackerError(
      `The hand tracker could not start (it needs WebGL 2 and WebAssembly): ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return {
    send: (video) => hands.send({ image: video }),
    close: () => hands.close(),
  };
}
