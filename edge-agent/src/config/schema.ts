import { deviceIdSchema, deviceRoleSchema } from '@edgeloop/shared';
import { z } from 'zod';

export const agentConfigSchema = z.object({
  deviceId: deviceIdSchema,
  role: deviceRoleSchema,
  branch: z.string().min(1).max(64).default('main'),
  dataDir: z.string().min(1).default('var/agent'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  hub: z.object({
    mqttUrl: z.string().regex(/^mqtts?:\/\//, 'must be an mqtt:// or mqtts:// URL'),
    httpUrl: z.url(),
  }),
  mqtt: z
    .object({
      /** This device's secret, issued by the hub at enrolment. */
      password: z.string().default(''),
      keepaliveSeconds: z.number().int().min(5).max(600).default(30),
      reconnectMs: z.number().int().min(100).default(2000),
    })
    .default({ password: '', keepaliveSeconds: 30, reconnectMs: 2000 }),
  trust: z
    .object({
      /** PEM files holding the public keys whose signatures this device accepts. */
      keyFiles: z.array(z.string().min(1)).default([]),
      /** PEM text of trusted public keys (alternative to files). */
      keysPem: z.array(z.string().min(1)).default([]),
    })
    .default({ keyFiles: [], keysPem: [] }),
  api: z
    .object({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8090),
      maxImageBytes: z.number().int().positive().default(20 * 1024 * 1024),
    })
    .default({ host: '127.0.0.1', port: 8090, maxImageBytes: 20 * 1024 * 1024 }),
  inference: z
    .object({ intraOpThreads: z.number().int().min(1).max(64).default(1) })
    .default({ intraOpThreads: 1 }),
  updates: z
    .object({
      downloadTimeoutMs: z.number().int().positive().default(60_000),
      retryDelayMs: z.number().int().positive().default(5_000),
    })
    .default({ downloadTimeoutMs: 60_000, retryDelayMs: 5_000 }),
});

export type AgentConfig = z.infer<typeof agentConfigSchema>;
export const AGENT_ENV_PREFIX = 'EDGELOOP_AGENT_';
