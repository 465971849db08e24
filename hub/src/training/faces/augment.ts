/**
 * Face-photo augmentation and input preparation for the embedder trainer.
 *
 * Images are first resized to the network's input size with sharp (fit 'fill'), exactly as the
 * device does, so an un-augmented training input equals what the device feeds the network. The
 * augmentation then warps that small image (shift, rotation, scale, horizontal flip; bilinear,
 * edge-clamped) and changes brightness/contrast, before the same normalisation pixelsToTensor does.
 */
import { openImage, pixelsToTensor, type PreprocessSpec } from '@edgeloop/shared';
import { toNetpbm } from '../synthetic/encode.js';

export interface GreyImageLike {
  data: Uint8Array;
  width: number;
  height: number;
}

export interface AugmentOptions {
  /** Max shift as a fraction of width/height. */
  shift: number;
  /** Max in-plane rotation in degrees. */
  rotation: number;
  /** Max relative scale change. */
  scale: number;
  /** Max brightness offset (0..1 grey units) and relative contrast change. */
  brightness: number;
  contrast: number;
  /** Probability of a horizontal flip. */
  flip: number;
}

export const DEFAULT_AUGMENT: AugmentOptions = { shift: 0.06, rotation: 10, scale: 0.08, brightness: 0.15, contrast: 0.25, flip: 0.5 };

/** Resizes a grey image to width × height with sharp, fit 'fill' (the device's resize). */
export async function resizeGrey(img: GreyImageLike, width: number, height: number): Promise<Uint8Array> {
  if (img.data.length !== img.width * img.height) {
    throw new RangeError(`grey image of ${img.width}x${img.height} needs ${img.width * img.height} bytes, got ${img.data.length}`);
  }
  if (img.width === width && img.height === height) return img.data;
  // openImage reads PGM through sharp's raw input: the same pixels the device's decoder yields.
  const buf = await openImage(toNetpbm(img.data, img.width, img.height))
    .resize(width, height, { fit: 'fill' })
    .greyscale()
    .raw()
    .toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}

/**
 * One random augmentation of a width × height grey image, returned as a normalised tensor plane
 * (same normalisation as pixelsToTensor with `spec`). `rand` is a seeded uniform generator.
 */
export function augmentToTensor(
  pixels: Uint8Array,
  spec: PreprocessSpec,
  rand: () => number,
  aug: AugmentOptions = DEFAULT_AUGMENT,
): Float32Array {
  const { width: w, height: h } = spec;
  const u = (a: number): number => (rand() * 2 - 1) * a;
  const angle = (u(aug.rotation) * Math.PI) / 180;
  const s = 1 + u(aug.scale);
  const tx = u(aug.shift) * w;
  const ty = u(aug.shift) * h;
  const flip = rand() < aug.flip;
  const gain = 1 + u(aug.contrast);
  const offset = u(aug.brightness) * 255;
  const cos = Math.cos(angle) / s;
  const sin = Math.sin(angle) / s;
  const cx = w / 2;
  const cy = h / 2;
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      // Destination → source: undo translation, rotation and scale about the centre.
      const dx = (flip ? w - 1 - x : x) + 0.5 - cx - tx;
      const dy = y + 0.5 - cy - ty;
      const sx = cos * dx + sin * dy + cx - 0.5;
      const sy = -sin * dx + cos * dy + cy - 0.5;
      const v = bilinear(pixels, w, h, sx, sy);
      out[y * w + x] = Math.max(0, Math.min(255, Math.round((v - 128) * gain + 128 + offset)));
    }
  }
  return pixelsToTensor(out, spec);
}

function bilinear(p: Uint8Array, w: number, h: number, x: number, y: number): number {
  const xc = Math.max(0, Math.min(w - 1, x));
  const yc = Math.max(0, Math.min(h - 1, y));
  const x0 = Math.floor(xc);
  const y0 = Math.floor(yc);
  const x1 = Math.min(w - 1, x0 + 1);
  const y1 = Math.min(h - 1, y0 + 1);
  const fx = xc - x0;
  const fy = yc - y0;
  const a = (p[y0 * w + x0] as number) * (1 - fx) + (p[y0 * w + x1] as number) * fx;
  const b = (p[y1 * w + x0] as number) * (1 - fx) + (p[y1 * w + x1] as number) * fx;
  return a * (1 - fy) + b * fy;
}

/**
 * A "virtual stranger": the upper part of photo `a` joined to the lower part of photo `b` (or left
 * and right halves), split at a random position with a short linear blend. Made from enrolled
 * photos only; used as outliers the embedder should not match to any training identity.
 */
export function chimera(a: Uint8Array, b: Uint8Array, width: number, height: number, rand: () => number): Uint8Array {
  const vertical = rand() < 0.5;
  const extent = vertical ? height : width;
  const split = (0.38 + 0.24 * rand()) * extent;
  const blend = Math.max(1, extent * 0.04);
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const pos = vertical ? y : x;
      const t = Math.max(0, Math.min(1, (pos - split) / blend + 0.5));
      const i = y * width + x;
      out[i] = Math.round((a[i] as number) * (1 - t) + (b[i] as number) * t);
    }
  }
  return out;
}
