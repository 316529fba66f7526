/**
 * The one place that loads OpenCV (WebAssembly build from @techstark/opencv-js). The Emscripten
 * module is ready when `cv.Mat` exists; otherwise we wait for `onRuntimeInitialized` (awaiting the
 * module object itself can loop: it has a `then` that returns itself). Every `cv.Mat` lives on the
 * WebAssembly heap and must be `delete()`d — callers use `withMats`.
 */
import { createRequire } from 'node:module';

/** The subset of the OpenCV.js API sam-env uses. */
export interface CvMat {
  readonly data: Uint8Array;
  readonly rows: number;
  readonly cols: number;
  delete(): void;
}

export interface OpenCv {
  Mat: new (...args: unknown[]) => CvMat;
  Rect: new (x: number, y: number, w: number, h: number) => unknown;
  Size: new (w: number, h: number) => unknown;
  CV_8UC1: number;
  CV_8UC3: number;
  INTER_AREA: number;
  GC_INIT_WITH_MASK: number;
  matFromArray(rows: number, cols: number, type: number, data: ArrayLike<number>): CvMat;
  resize(src: CvMat, dst: CvMat, size: unknown, fx: number, fy: number, interpolation: number): void;
  grabCut(img: CvMat, mask: CvMat, rect: unknown, bgd: CvMat, fgd: CvMat, iters: number, mode: number): void;
}

// The module is boxed: resolving a promise with the module itself would call its `then` (it is a
// thenable) and never settle.
let loading: Promise<{ cv: OpenCv }> | undefined;

/** Resolves to a box holding the module (never `await` the module itself, see above). */
export function loadOpenCv(): Promise<{ readonly cv: OpenCv }> {
  if (!loading) {
    loading = new Promise<{ cv: OpenCv }>((resolve) => {
      const require = createRequire(import.meta.url);
      // The Emscripten build installs process-wide `uncaughtException` / `unhandledRejection`
      // handlers (which rethrow, printing the whole 8 MB module source, or abort). Remove them: error
      // handling stays the host's.
      const emitter = process as NodeJS.EventEmitter;
      const events = ['uncaughtException', 'unhandledRejection'];
      const before = new Set<unknown>(events.flatMap((e) => emitter.listeners(e)));
      const cv = require('@techstark/opencv-js') as OpenCv & { onRuntimeInitialized?: () => void };
      for (const e of events) {
        for (const l of emitter.listeners(e)) {
          if (!before.has(l)) emitter.removeListener(e, l as (...a: unknown[]) => void);
        }
      }
      if ((cv as { Mat?: unknown }).Mat) resolve({ cv });
      else cv.onRuntimeInitialized = () => resolve({ cv });
    });
  }
  return loading;
}

/** Runs `fn` with freshly allocated Mats and deletes them all afterwards, even on throw. */
export function withMats<T>(mats: CvMat[], fn: () => T): T {
  try {
    return fn();
  } finally {
    for (const m of mats) m.delete();
  }
}
