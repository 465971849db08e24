import { randomBytes } from 'node:crypto';
import { openImage } from '@edgeloop/shared';
import { IntakeService } from '../../src/intake/intake-service.js';
import type { TestHub } from '../support/test-hub.js';

/** A small PNG; different seeds give different bytes (and so different sha256s). */
export async function photo(seed = 0, width = 8, height = 8): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 31 + seed * 97) % 256;
  return openImage(Buffer.concat([Buffer.from(`P6\n${width} ${height}\n255\n`), pixels])).png().toBuffer();
}

/** A PNG of noise, so that it does not compress: about width*height*3 bytes. */
export async function noisePhoto(width: number, height: number): Promise<Buffer> {
  const pixels = randomBytes(width * height * 3);
  return openImage(Buffer.concat([Buffer.from(`P6\n${width} ${height}\n255\n`), pixels])).png({ compressionLevel: 0 }).toBuffer();
}

/** A settable clock for injecting into services. */
export function clock(start = '2025-01-01T00:00:00.000Z'): { now: () => Date; set(iso: string): void; advanceDays(d: number): void } {
  let t = Date.parse(start);
  return {
    now: () => new Date(t),
    set: (iso) => {
      t = Date.parse(iso);
    },
    advanceDays: (d) => {
      t += d * 86_400_000;
    },
  };
}

export function intakeOf(hub: TestHub, opts: { now?: () => Date; faceSampleRetentionDays?: number } = {}): IntakeService {
  return new IntakeService({
    db: hub.services.db,
    artifacts: hub.services.artifacts,
    log: hub.services.log,
    faceSampleRetentionDays: opts.faceSampleRetentionDays ?? 30,
    ...(opts.now ? { now: opts.now } : {}),
  });
}
