import { z } from 'zod';

/**
 * How the device runs the face detector network. Embedded in the signed manifest, so strict: no
 * defaults, no transforms, unknown keys refused.
 *
 * The network is fully convolutional: a `window`×`window` grey patch maps to one output cell, and a
 * whole (scaled) frame maps to a map [1, 5, h, w] whose cell (i, j) describes the window with its
 * top-left corner at (j·stride, i·stride): channel 0 the face logit, channels 1..4 the correction
 * (dx, dy in window sides; dw, dh as log factors) of the window's default face box `box`.
 */
export const detectorSpecSchema = z.strictObject({
  schema: z.literal('edgeloop.face-detector/v1'),
  inputName: z.string().min(1),
  outputName: z.string().min(1),
  /** Side of the square input window the network scores, in pixels. */
  window: z.number().int().min(8).max(256),
  /** Score-map cell step in input pixels. */
  stride: z.number().int().min(1).max(64),
  /** Default face box in a window (before the network's correction), as fractions of the window side. */
  box: z.strictObject({
    x: z.number().min(-1).max(1),
    y: z.number().min(-1).max(1),
    width: z.number().positive().max(2),
    height: z.number().positive().max(2),
  }),
  /** Smallest and largest face box height searched for, as fractions of the frame height. */
  minFace: z.number().positive().max(1),
  maxFace: z.number().positive().max(2),
  /** Ratio between successive pyramid scales (> 1). */
  scaleStep: z.number().min(1.05).max(2),
  /** Score (0..1) a window needs to count as a face. */
  threshold: z.number().min(0).max(1),
  /** Non-maximum suppression: a box overlapping a better one by more than this IoU is dropped. */
  nmsIou: z.number().min(0).max(1),
  /** …or when this fraction of the smaller box lies inside the better one. */
  nmsContain: z.number().min(0).max(1),
  maxFaces: z.number().int().min(1).max(64),
  /** Input normalisation: (pixel / 255 - mean) / std. */
  mean: z.number(),
  std: z.number().positive(),
});
export type DetectorSpec = z.infer<typeof detectorSpecSchema>;
