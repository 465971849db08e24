import { z } from 'zod';
import { signedEnvelopeSchema } from '../crypto/signing.js';
import { faceSpecSchema } from './face.js';

export const MODEL_TYPES = ['face', 'laundry'] as const;
export const modelTypeSchema = z.enum(MODEL_TYPES);
export type ModelType = z.infer<typeof modelTypeSchema>;

export const DEVICE_ROLES = ['gym-door', 'laundry'] as const;
export const deviceRoleSchema = z.enum(DEVICE_ROLES);
export type DeviceRole = z.infer<typeof deviceRoleSchema>;

/** Which model a device of each role serves. */
export const MODEL_TYPE_OF_ROLE: Record<DeviceRole, ModelType> = { 'gym-door': 'face', laundry: 'laundry' };
/** Which role serves each model type. */
export const ROLE_OF_MODEL_TYPE: Record<ModelType, DeviceRole> = { face: 'gym-door', laundry: 'laundry' };

export const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'sha256 must be 64 lowercase hex characters');
export const isoDateSchema = z.iso.datetime({ offset: true });

/** Relative file name inside a bundle: no absolute paths, no `..`, no odd characters. */
const bundleFileName = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'file name must be a plain name (letters, digits, . _ -)');

export const manifestFileSchema = z.strictObject({
  name: bundleFileName,
  role: z.enum(['network', 'gallery', 'labels', 'preprocess', 'backbone', 'detector']),
  sha256: sha256Schema,
  size: z.number().int().nonnegative().max(2 ** 40),
});
export type ManifestFile = z.infer<typeof manifestFileSchema>;

/** How an image becomes the network's input tensor. Shared so that hub sandbox and device agree. */
export const preprocessSpecSchema = z.strictObject({
  width: z.number().int().min(8).max(1024),
  height: z.number().int().min(8).max(1024),
  channels: z.union([z.literal(1), z.literal(3)]),
  mean: z.array(z.number()).min(1).max(3),
  std: z.array(z.number().positive()).min(1).max(3),
  inputName: z.string().min(1),
  outputName: z.string().min(1),
  /** After mean/std: scale each image to zero mean and unit variance per channel (lighting invariance). */
  standardize: z.boolean().optional(),
});
export type PreprocessSpec = z.infer<typeof preprocessSpecSchema>;

/**
 * Signed content is strict: no defaults, no transforms, unknown keys refused. Parsing therefore
 * never changes what was signed, and the signature is checked over exactly the received content.
 */
export const manifestSchema = z.strictObject({
  schema: z.literal('edgeloop.manifest/v1'),
  modelType: modelTypeSchema,
  version: z.number().int().positive(),
  label: z.string().min(1).max(200),
  files: z.array(manifestFileSchema).min(1).max(32),
  preprocess: preprocessSpecSchema,
  /** Class labels for classifiers (laundry), empty for embedders (face). */
  labels: z.array(z.string().min(1)).max(1000),
  createdAt: isoDateSchema,
  expiresAt: isoDateSchema,
  keyId: z.string().regex(/^[0-9a-f]{16}$/),
  metrics: z.record(z.string(), z.number()),
  parentVersion: z.number().int().positive().nullable(),
  /** SHA-256 of the verification report that admitted this version (null for bootstrap models). */
  evidenceSha256: sha256Schema.nullable(),
  /** Face bundles: detector, crop and match threshold (files with roles `detector` and `gallery`). */
  face: faceSpecSchema.optional(),
});
export type Manifest = z.infer<typeof manifestSchema>;

export const signedManifestSchema = signedEnvelopeSchema(manifestSchema);
export type SignedManifest = z.infer<typeof signedManifestSchema>;
