/** Shared helpers for the laundry tests: synthetic photo files and the device's tile classifier. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LaundryTrainingSample } from '../../src/training/laundry/laundry-training.js';
import { encodeImage } from '../../src/training/synthetic/encode.js';
import { type LaundryDefect, laundryDataset } from '../../src/training/synthetic/laundry.js';

export type LaundryDefectKind = Exclude<LaundryDefect, 'none'>;

export interface LaundryPhotoFile extends LaundryTrainingSample {
  name: string;
}

/** Seeded synthetic photos (half defective), PNG-encoded like real uploads. */
export async function laundryPhotos(count: number, seed: number, opts: { size?: number; kinds?: readonly LaundryDefectKind[] } = {}): Promise<LaundryPhotoFile[]> {
  const size = opts.size ?? 224;
  const data = laundryDataset({ count, defectRatio: 0.5, seed, width: size, height: size, ...(opts.kinds ? { kinds: opts.kinds } : {}) });
  return Promise.all(
    data.map(async (s, k) => ({
      name: `${String(k).padStart(3, '0')}-${s.kind}.png`,
      label: s.label,
      image: new Uint8Array(await encodeImage(s.pixels, s.width, s.height, 'png')),
    })),
  );
}

/** Writes `<dir>/good/*.png` and `<dir>/defect/*.png`. */
export async function writeLaundryPhotos(dir: string, photos: readonly LaundryPhotoFile[]): Promise<void> {
  await mkdir(join(dir, 'good'), { recursive: true });
  await mkdir(join(dir, 'defect'), { recursive: true });
  for (const p of photos) await writeFile(join(dir, p.label, p.name), p.image);
}
