import { z } from 'zod';
import { isoDateSchema, modelTypeSchema } from './manifest.js';

export const HUB_EVENT_TYPES = [
  'ModelDeployed',
  'ModelRolledBack',
  'RolloutStarted',
  'RolloutPromoted',
  'RolloutAborted',
  'ModelVerificationFailed',
  'TrainingFailed',
  'TaskConfirmed',
] as const;

/** What the hub tells admins and tools: stored in SQLite and published on `edgeloop/v1/fleet/events`. */
export const hubEventSchema = z.object({
  id: z.number().int().positive(),
  type: z.enum(HUB_EVENT_TYPES),
  at: isoDateSchema,
  modelType: modelTypeSchema.nullable(),
  version: z.number().int().positive().nullable(),
  data: z.record(z.string(), z.unknown()),
});
export type HubEvent = z.infer<typeof hubEventSchema>;

/** Live progress of a training run (one message per epoch), for the admin page and tools. */
export const trainingProgressSchema = z.object({
  runId: z.number().int().positive(),
  modelType: modelTypeSchema,
  epoch: z.number().int().positive(),
  loss: z.number(),
  accuracy: z.number().nullable(),
  valAccuracy: z.number().nullable(),
  at: isoDateSchema,
});
export type TrainingProgress = z.infer<typeof trainingProgressSchema>;
