import { z } from 'zod';
import { signedEnvelopeSchema } from '../crypto/signing.js';
import { deviceRoleSchema, isoDateSchema, modelTypeSchema, signedManifestSchema } from './manifest.js';

export const deviceIdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9-]*$/, 'device id must be lowercase letters, digits and dashes');

/** What the hub wants one model slot of a device to run. */
export const desiredModelSchema = z.strictObject({
  manifest: signedManifestSchema,
  /** Set by a signed rollback directive: allows going to a lower version than the one installed. */
  rollback: z.boolean(),
});

/** The hub's desired state for one device: retained on `devices/{id}/desired`, signed as a whole. */
/** Strict like every signed schema: parsing never changes the signed content. */
export const desiredStateSchema = z.strictObject({
  deviceId: deviceIdSchema,
  /** Increases with every new desired state for this device; older revisions are ignored. */
  revision: z.number().int().nonnegative(),
  issuedAt: isoDateSchema,
  expiresAt: isoDateSchema,
  models: z.partialRecord(modelTypeSchema, desiredModelSchema),
});
export type DesiredState = z.infer<typeof desiredStateSchema>;
export const signedDesiredStateSchema = signedEnvelopeSchema(desiredStateSchema);
export type SignedDesiredState = z.infer<typeof signedDesiredStateSchema>;

export const LIFECYCLE_STATES = [
  'idle',
  'downloading',
  'verifying',
  'loading',
  'warming',
  'ready',
  'active',
  'draining',
  'unloaded',
  'failed',
] as const;
export const lifecycleStateSchema = z.enum(LIFECYCLE_STATES);
export type LifecycleState = z.infer<typeof lifecycleStateSchema>;

export const reportedModelSchema = z.object({
  version: z.number().int().positive().nullable(),
  state: lifecycleStateSchema,
  reason: z.string().max(500),
  lastKnownGood: z.number().int().positive().nullable(),
  /** Versions this device rolled back from and refuses until a newer one is offered. */
  refusedVersions: z.array(z.number().int().positive()).max(100).default([]),
});
export type ReportedModel = z.infer<typeof reportedModelSchema>;

/** Retained on `devices/{id}/state`; the broker publishes the `offline` form as the last will. */
export const deviceStateSchema = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('online'),
    deviceId: deviceIdSchema,
    role: deviceRoleSchema,
    branch: z.string().max(64),
    at: isoDateSchema,
    agentVersion: z.string().max(32),
    desiredRevision: z.number().int().nonnegative().nullable(),
    models: z.partialRecord(modelTypeSchema, reportedModelSchema),
  }),
  z.object({ status: z.literal('offline'), deviceId: deviceIdSchema }),
]);
export type DeviceState = z.infer<typeof deviceStateSchema>;

export const latencyStatsSchema = z.object({
  count: z.number().int().nonnegative(),
  errors: z.number().int().nonnegative(),
  p50: z.number().nonnegative(),
  p95: z.number().nonnegative(),
  p99: z.number().nonnegative(),
});

export const telemetrySchema = z.object({
  deviceId: deviceIdSchema,
  at: isoDateSchema,
  health: z.object({
    cpuLoad: z.number().nonnegative(),
    memUsedBytes: z.number().nonnegative(),
    memTotalBytes: z.number().nonnegative(),
    diskFreeBytes: z.number().nonnegative(),
    temperatureC: z.number().nullable(),
  }),
  /** Key: `<modelType>@<version>`. */
  inference: z.record(z.string().max(64), latencyStatsSchema),
});
export type Telemetry = z.infer<typeof telemetrySchema>;

export const DEVICE_EVENT_TYPES = ['inference', 'sample', 'access', 'deployed', 'rolled-back', 'refused', 'boot'] as const;

/** Device → hub events travel through the agent's outbox; `id` makes redelivery idempotent. */
export const deviceEventSchema = z.object({
  id: z.uuid(),
  deviceId: deviceIdSchema,
  type: z.enum(DEVICE_EVENT_TYPES),
  at: isoDateSchema,
  modelType: modelTypeSchema.nullable(),
  version: z.number().int().positive().nullable(),
  data: z.record(z.string(), z.unknown()),
});
export type DeviceEvent = z.infer<typeof deviceEventSchema>;

export const deviceCommandSchema = z.object({
  id: z.uuid(),
  type: z.enum(['report-state', 'resync']),
  at: isoDateSchema,
});
export type DeviceCommand = z.infer<typeof deviceCommandSchema>;
