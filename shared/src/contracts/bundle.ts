import { z } from 'zod';
import { signedManifestSchema } from './manifest.js';

/**
 * A signed model bundle in one file, for sideloading by a field technician: the signed manifest
 * and every file it lists, base64. The manifest's signature and each file's sha256 and size are
 * checked exactly as for an over-the-air update.
 */
export const bundleSchema = z.object({
  format: z.literal('edgeloop.bundle/v1'),
  manifest: signedManifestSchema,
  files: z.record(z.string(), z.string()),
});
export type Bundle = z.infer<typeof bundleSchema>;

export const BUNDLE_SUFFIX = '.bundle.json';
