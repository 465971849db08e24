import { errorMessage, ValidationError } from '../errors.js';
import sharp from 'sharp';
import type { PreprocessSpec } from '../contracts/manifest.js';
import { openImage } from '../image/decode.js';
import { pixelsToTensor } from '../image/preprocess.js';
import type { FaceBox, GreyImage } from './types.js';

/**
 * How a detected face box becomes the embedder's input: the detector boxes the face oval; the
 * embedder sees a head-and-shoulders crop like an enrolment photo, this much larger than the box
 * and centred `shiftY` box-heights above the box's centre.
 */
export interface CropSpec {
  scaleX: number;
  scaleY: number;
  shiftY: number;
}

/** Measured on the synthetic scenes: head patch = 1.54 × face width, 1.39 × face height, centre 0.07 h higher. */
export const DEFAULT_CROP: CropSpec = { scaleX: 1.54, scaleY: 1.39, shiftY: -0.07 };

export function checkGrey(img: GreyImage): void {
  if (!Number.isInteger(img.width) || !Number.isInteger(img.height) || img.width <= 0 || img.height <= 0) {
    throw new ValidationError(`image size ${img.width}×${img.height} is not valid`);
  }
  if (img.data.length !== img.width * img.height) throw new ValidationError(`expected ${img.width * img.height} grey pixels, got ${img.data.length}`);
}

/**
 * Cuts the face out of a frame and scales it to `out` (bilinear; outside the frame repeats the
 * edge): translation and scale are normalised from the box, so every face reaches the embedder
 * at the same size and position.
 */
export function cropFace(img: GreyImage, box: FaceBox, crop: CropSpec, out: { width: number; height: number }): GreyImage {
  checkGrey(img);
  const w = box.width * crop.scaleX;
  const h = box.height * crop.scaleY;
  if (!(w > 0 && h > 0)) throw new ValidationError('face box has no area');
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2 + crop.shiftY * box.height;
  return resample(img, cx - w / 2, cy - h / 2, w, h, out.width, out.height);
}

/** Bilinear resampling of the region (x0, y0, w, h) of `img` to `ow × oh` pixels. */
export function resample(img: GreyImage, x0: number, y0: number, w: number, h: number, ow: number, oh: number): GreyImage {
  const data = new Uint8Array(ow * oh);
  const sx = w / ow;
  const sy = h / oh;
  const { width: W, height: H, data: src } = img;
  for (let y = 0; y < oh; y++) {
    const fy = Math.min(H - 1, Math.max(0, y0 + (y + 0.5) * sy - 0.5));
    const y1 = Math.floor(fy);
    const y2 = Math.min(H - 1, y1 + 1);
    const wy = fy - y1;
    for (let x = 0; x < ow; x++) {
      const fx = Math.min(W - 1, Math.max(0, x0 + (x + 0.5) * sx - 0.5));
      const x1 = Math.floor(fx);
      const x2 = Math.min(W - 1, x1 + 1);
      const wx = fx - x1;
      const a = (src[y1 * W + x1] as number) * (1 - wx) + (src[y1 * W + x2] as number) * wx;
      const b = (src[y2 * W + x1] as number) * (1 - wx) + (src[y2 * W + x2] as number) * wx;
      data[y * ow + x] = Math.round(a * (1 - wy) + b * wy);
    }
  }
  return { data, width: ow, height: oh };
}

/**
 * Image file bytes → grey pixels, at most `maxSide` pixels on the longer side (camera frames are
 * scaled down before detection; faces stay far larger than the embedder's input).
 */
export async function decodeGrey(bytes: Buffer | Uint8Array, maxSide = 640): Promise<GreyImage> {
  try {
    const { data, info } = await openImage(bytes)
      .rotate()
      .resize(maxSide, maxSide, { fit: 'inside', withoutEnlargement: true })
      .greyscale()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const plane = info.width * info.height;
    if (info.channels === 1) return { data: new Uint8Array(data.buffer, data.byteOffset, plane), width: info.width, height: info.height };
    const grey = new Uint8Array(plane);
    for (let i = 0; i < plane; i++) grey[i] = data[i * info.channels] as number;
    return { data: grey, width: info.width, height: info.height };
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    throw new ValidationError(`image could not be decoded: ${errorMessage(err)}`);
  }
}

/** Grey pixels → PNG bytes (training samples, test fixtures). */
export function encodeGreyPng(img: GreyImage): Promise<Buffer> {
  checkGrey(img);
  return sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), { raw: { width: img.width, height: img.height, channels: 1 } })
    .png()
    .toBuffer();
}

/** A face crop (already at the embedder's input size) → the embedder's input tensor; grey is repeated for RGB networks. */
export function faceTensor(crop: GreyImage, spec: PreprocessSpec): Float32Array {
  if (crop.width !== spec.width || crop.height !== spec.height) throw new ValidationError(`face crop is ${crop.width}×${crop.height}, the network takes ${spec.width}×${spec.height}`);
  if (spec.channels === 1) return pixelsToTensor(crop.data, spec);
  const rgb = new Uint8Array(crop.data.length * 3);
  for (let i = 0; i < crop.data.length; i++) rgb.fill(crop.data[i] as number, i * 3, i * 3 + 3);
  return pixelsToTensor(rgb, spec);
}
