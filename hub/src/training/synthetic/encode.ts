import { join } from 'node:path';
import { openImage, writeFileAtomic } from '@edgeloop/shared';

/** Image file formats the synthetic datasets can be written as; 'pnm' = PGM (grey) or PPM (RGB). */
export type SyntheticImageFormat = 'png' | 'jpeg' | 'pnm';

function channelsOf(pixels: Uint8Array, width: number, height: number): 1 | 3 {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`bad image size ${width}×${height}`);
  }
  if (pixels.length === width * height) return 1;
  if (pixels.length === width * height * 3) return 3;
  throw new RangeError(`${pixels.length} bytes is neither greyscale nor RGB for ${width}×${height}`);
}

/** Binary PGM (P5) for greyscale or PPM (P6) for interleaved RGB, chosen from the pixel count. */
export function toNetpbm(pixels: Uint8Array, width: number, height: number): Buffer {
  const channels = channelsOf(pixels, width, height);
  const header = Buffer.from(`${channels === 1 ? 'P5' : 'P6'}\n${width} ${height}\n255\n`, 'latin1');
  return Buffer.concat([header, pixels]);
}

export function extensionOf(format: SyntheticImageFormat, channels: 1 | 3): string {
  if (format === 'jpeg') return 'jpg';
  if (format === 'png') return 'png';
  return channels === 1 ? 'pgm' : 'ppm';
}

/** Encodes greyscale or RGB pixels as an image file (greyscale stays single-channel). */
export async function encodeImage(
  pixels: Uint8Array,
  width: number,
  height: number,
  format: SyntheticImageFormat,
  opts: { quality?: number } = {},
): Promise<Buffer> {
  const pnm = toNetpbm(pixels, width, height);
  if (format === 'pnm') return pnm;
  const grey = pixels.length === width * height;
  let img = openImage(pnm);
  if (grey) img = img.toColourspace('b-w');
  return format === 'png' ? img.png().toBuffer() : img.jpeg({ quality: opts.quality ?? 90 }).toBuffer();
}

export interface DatasetImage {
  pixels: Uint8Array;
  width: number;
  height: number;
  /** Folder name for classification sets ('good', 'defect'); takes precedence over identity. */
  label?: string;
  /** Face identity index; written to folder `s<identity+1>` (the ORL convention). */
  identity?: number;
}

export function folderOf(sample: DatasetImage): string {
  if (sample.label !== undefined) return sample.label;
  if (sample.identity !== undefined) return `s${sample.identity + 1}`;
  throw new RangeError('sample has neither a label nor an identity');
}

/**
 * Writes `<dir>/<folder>/<n>.<ext>` with n counting from 1 within each folder, in sample order.
 * Returns the written paths (relative to dir) and the count per folder.
 */
export async function writeDataset(
  dir: string,
  samples: readonly DatasetImage[],
  format: SyntheticImageFormat = 'png',
): Promise<{ files: string[]; counts: Record<string, number> }> {
  const counts: Record<string, number> = {};
  const jobs = samples.map((s) => {
    const folder = folderOf(s);
    if (folder === '' || folder.includes('/') || folder.includes('\\') || folder.startsWith('.')) {
      throw new RangeError(`unsafe folder name ${JSON.stringify(folder)}`);
    }
    const n = (counts[folder] ?? 0) + 1;
    counts[folder] = n;
    const channels = channelsOf(s.pixels, s.width, s.height);
    return { s, rel: join(folder, `${n}.${extensionOf(format, channels)}`) };
  });
  const batch = 8;
  for (let i = 0; i < jobs.length; i += batch) {
    await Promise.all(
      jobs.slice(i, i + batch).map(async ({ s, rel }) => {
        await writeFileAtomic(join(dir, rel), await encodeImage(s.pixels, s.width, s.height, format));
      }),
    );
  }
  return { files: jobs.map((j) => j.rel), counts };
}
