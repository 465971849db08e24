import * as ort from 'onnxruntime-node';
import { EdgeloopError, ValidationError } from '../errors.js';
import { openSession } from '../inference/onnx-model.js';
import type { DetectorSpec } from './detector-spec.js';
import { type Rect, pyramid, pyramidScales } from './pyramid.js';
import type { FaceBox, GreyImage } from './types.js';

export { type PixelPlane, type Rect, pyramid, pyramidScales, resampleArea } from './pyramid.js';

/**
 * Face detection with a fully convolutional window classifier (see detector-spec.ts): the frame is
 * resampled to a pyramid of scales in plain TS (from one summed-area table of the frame), the network
 * turns each level into a score map in one run, cells above the threshold become boxes in frame
 * pixels, and non-maximum suppression keeps the best of overlapping ones.
 */

/** Intersection over union of two boxes (0 when either is empty). */
export function iou(a: Rect, b: Rect): number {
  const inter = intersection(a, b);
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}

function intersection(a: Rect, b: Rect): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}

/**
 * Greedy non-maximum suppression, best score first: a box is dropped when its IoU with a better
 * kept box exceeds `iouThreshold`, or when more than `containThreshold` of it lies inside a better
 * kept box (a face part found at a finer scale). Returns at most `maxBoxes`, best first.
 */
export function nonMaxSuppression<T extends Rect & { score: number }>(
  boxes: readonly T[],
  iouThreshold: number,
  maxBoxes: number,
  containThreshold = 1,
): T[] {
  const kept: T[] = [];
  for (const b of [...boxes].sort((x, y) => y.score - x.score)) {
    if (kept.length >= maxBoxes) break;
    const area = b.width * b.height;
    const clash = kept.some((k) => iou(k, b) > iouThreshold || (area > 0 && intersection(k, b) / area > containThreshold));
    if (!clash) kept.push(b);
  }
  return kept;
}

/**
 * Score map → face boxes in frame pixels. `out` is the network output for one level, NCHW with 5
 * channels: face logit, then the box correction (dx, dy: centre shift in window sides; dw, dh: log
 * size factors) relative to spec.box of each cell's window.
 */
export function scoreMapBoxes(
  out: ArrayLike<number>,
  mapWidth: number,
  mapHeight: number,
  scaleX: number,
  scaleY: number,
  spec: DetectorSpec,
): FaceBox[] {
  const boxes: FaceBox[] = [];
  const { window: win, stride, box } = spec;
  const plane = mapWidth * mapHeight;
  const logit = Math.log(spec.threshold / (1 - spec.threshold));
  const clampLog = (v: number): number => Math.exp(Math.min(1, Math.max(-1, v)));
  for (let c = 0; c < plane; c++) {
    const z = out[c] as number;
    if (!(z >= logit)) continue;
    const i = Math.floor(c / mapWidth);
    const j = c - i * mapWidth;
    const w = box.width * win * clampLog(out[3 * plane + c] as number);
    const h = box.height * win * clampLog(out[4 * plane + c] as number);
    const cx = j * stride + win * (box.x + box.width / 2 + (out[plane + c] as number));
    const cy = i * stride + win * (box.y + box.height / 2 + (out[2 * plane + c] as number));
    boxes.push({ x: (cx - w / 2) / scaleX, y: (cy - h / 2) / scaleY, width: w / scaleX, height: h / scaleY, score: 1 / (1 + Math.exp(-z)) });
  }
  return boxes;
}

export function validateGreyImage(img: GreyImage): void {
  const { width, height, data } = img ?? {};
  if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width <= 0 || height <= 0) {
    throw new ValidationError(`image size must be positive integers, got ${String(width)}x${String(height)}`);
  }
  if (!(data instanceof Uint8Array) || data.length !== width * height) {
    throw new ValidationError(`expected ${width * height} grey pixels for ${width}x${height}, got ${data instanceof Uint8Array ? data.length : typeof data}`);
  }
}

export interface FaceDetectorOptions {
  intraOpThreads?: number;
}

export class FaceDetector {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly spec: DetectorSpec,
  ) {}

  static async load(onnxBytes: Uint8Array, spec: DetectorSpec, opts: FaceDetectorOptions = {}): Promise<FaceDetector> {
    const session = await openSession(onnxBytes, spec, 'face detector', opts);
    return new FaceDetector(session, spec);
  }

  /** Faces in a grey frame, best first, at most spec.maxFaces. */
  async detect(img: GreyImage): Promise<FaceBox[]> {
    validateGreyImage(img);
    const spec = this.spec;
    const all: FaceBox[] = [];
    for (const level of pyramid(img, pyramidScales(spec, img.width, img.height), spec.mean, spec.std)) {
      const { width: dw, height: dh } = level;
      const input = new ort.Tensor('float32', level.data as Float32Array, [1, 1, dh, dw]);
      const out = (await this.session.run({ [spec.inputName]: input }))[spec.outputName];
      if (out?.dims.length !== 4 || out.dims[1] !== 5) throw new EdgeloopError('model-output', `detector produced no [1, 5, h, w] ${spec.outputName}`);
      const mh = out.dims[2] as number;
      const mw = out.dims[3] as number;
      all.push(...scoreMapBoxes(out.data as Float32Array, mw, mh, dw / img.width, dh / img.height, spec));
    }
    return nonMaxSuppression(all, spec.nmsIou, spec.maxFaces, spec.nmsContain);
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
