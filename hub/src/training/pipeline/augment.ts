import { openImage } from '@edgeloop/shared';
import sharp from 'sharp';
import { seededRandom } from '../seeded-random.js';

export interface AugmentSpec {
  /** Degrees, uniform in ±rotation. */
  rotation: number;
  /** Probability of a horizontal flip. */
  flip: number;
  /** Brightness factor, uniform in 1 ± brightness. */
  brightness: number;
  /** Contrast factor around mid-grey, uniform in 1 ± contrast. */
  contrast: number;
}

/** The design notes' augmentation: rotation ±15°, horizontal flip, brightness and contrast. */
export const DEFAULT_AUGMENT: AugmentSpec = { rotation: 15, flip: 0.5, brightness: 0.2, contrast: 0.2 };

export interface Variant {
  png: Buffer;
  rotation: number;
  flipped: boolean;
  brightness: number;
  contrast: number;
}

/**
 * `count` seeded variants of one photo, each the size of the original: rotated about the centre
 * (corners filled by the photo's mean colour, then cropped back), maybe mirrored, brightness and
 * contrast changed. PNG, so the pixels are exactly what training reads.
 */
export async function augmentPhoto(photo: Uint8Array, count: number, seed: number, spec: AugmentSpec = DEFAULT_AUGMENT): Promise<Variant[]> {
  const base = openImage(photo).rotate();
  const { data, info } = await base.clone().removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const { width, height, channels } = info;
  const mean = [0, 0, 0];
  for (let i = 0; i < data.length; i++) (mean[i % channels] as number) += data[i] as number;
  const fill = mean.map((s) => Math.round(s / (width * height)));
  const rand = seededRandom(seed);
  const range = (r: number) => (rand() * 2 - 1) * r;
  const out: Variant[] = [];
  for (let k = 0; k < count; k++) {
    const rotation = range(spec.rotation);
    const flipped = rand() < spec.flip;
    const brightness = 1 + range(spec.brightness);
    const contrast = 1 + range(spec.contrast);
    const background = channels === 1 ? { r: fill[0] ?? 0, g: fill[0] ?? 0, b: fill[0] ?? 0 } : { r: fill[0] ?? 0, g: fill[1] ?? 0, b: fill[2] ?? 0 };
    const rotated = await sharp(data, { raw: { width, height, channels } }).rotate(rotation, { background }).raw().toBuffer({ resolveWithObject: true });
    let img = sharp(rotated.data, { raw: { width: rotated.info.width, height: rotated.info.height, channels: rotated.info.channels } }).extract({
      left: Math.floor((rotated.info.width - width) / 2),
      top: Math.floor((rotated.info.height - height) / 2),
      width,
      height,
    });
    if (flipped) img = img.flop();
    // Contrast around mid-grey, then brightness: v' = brightness · (contrast · (v - 128) + 128).
    img = img.linear(contrast * brightness, 128 * (1 - contrast) * brightness);
    const png = await img.png().toBuffer();
    out.push({ png, rotation, flipped, brightness, contrast });
  }
  return out;
}
