import { z } from 'zod';
import { detectorSpecSchema } from '../face/detector-spec.js';

/**
 * The face pipeline a face bundle ships, beside its embedding network: how to find faces
 * (the detector network file and its spec), how to crop them for the embedder, and the cosine
 * threshold above which the best gallery match is accepted as that member. Signed with the
 * manifest, so the device never mixes one bundle's detector, threshold or gallery with another's.
 */
export const faceSpecSchema = z.strictObject({
  detector: detectorSpecSchema,
  crop: z.strictObject({
    scaleX: z.number().positive().max(4),
    scaleY: z.number().positive().max(4),
    shiftY: z.number().min(-1).max(1),
  }),
  /** Cosine similarity a match needs to count as the member (-1..1). */
  threshold: z.number().min(-1).max(1),
  /** Faces evaluated per frame, largest first. */
  maxFaces: z.number().int().min(1).max(16),
  /** Members in the gallery file (a cross-check for the admin page and the device). */
  members: z.number().int().nonnegative(),
});
export type FaceSpec = z.infer<typeof faceSpecSchema>;
