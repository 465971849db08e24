import { z } from 'zod';

export const hubConfigSchema = z.object({
  dataDir: z.string().min(1).default('var/hub'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  http: z
    .object({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8080),
      /** The URL devices use to reach this hub's HTTP API (artifact downloads). Derived from host/port when empty. */
      publicUrl: z.string().default(''),
    })
    .default({ host: '127.0.0.1', port: 8080, publicUrl: '' }),
  mqtt: z
    .object({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(1883),
    })
    .default({ host: '127.0.0.1', port: 1883 }),
  admin: z
    .object({
      /** Bearer token for the admin API. Empty: generated once and kept in `<dataDir>/admin-token` (mode 0600). */
      token: z.string().default(''),
    })
    .default({ token: '' }),
  signing: z
    .object({
      manifestTtlDays: z.number().positive().default(365),
      desiredTtlHours: z.number().positive().default(24 * 7),
    })
    .default({ manifestTtlDays: 365, desiredTtlHours: 24 * 7 }),
  tls: z
    .object({
      /** PEM certificate and key: when both are set, the broker speaks MQTT over TLS and the API HTTPS. */
      certFile: z.string().default(''),
      keyFile: z.string().default(''),
    })
    .default({ certFile: '', keyFile: '' }),
  fleet: z
    .object({
      healthHistoryPerDevice: z.number().int().positive().default(1000),
      enrolmentTokenTtlHours: z.number().positive().default(24),
    })
    .default({ healthHistoryPerDevice: 1000, enrolmentTokenTtlHours: 24 }),
  intake: z.object({ faceSampleRetentionDays: z.number().positive().default(30) }).default({ faceSampleRetentionDays: 30 }),
  registry: z.object({ keepVersions: z.number().int().min(1).default(10) }).default({ keepVersions: 10 }),
  rollout: z
    .object({
      canaryFraction: z.number().positive().max(0.5).default(0.1),
      checkIntervalMs: z.number().int().positive().default(1_000),
      observeMs: z.number().int().positive().default(30 * 60_000),
      reportTimeoutMs: z.number().int().positive().default(10 * 60_000),
      maxErrorRate: z.number().min(0).max(1).default(0.01),
      errorRateMargin: z.number().min(0).max(1).default(0.005),
      p95Factor: z.number().min(1).default(1.5),
      minP95DeltaMs: z.number().nonnegative().default(10),
      maxCorrectionRateDelta: z.number().min(0).max(1).default(0.05),
      minRequests: z.number().int().positive().default(20),
    })
    .prefault({}),
  training: z
    .object({
      /** Build a first model of each type from nothing when the registry has none (the walking skeleton). */
      bootstrapOnStart: z.boolean().default(true),
    })
    .default({ bootstrapOnStart: true }),
});

export type HubConfig = z.infer<typeof hubConfigSchema>;
export const HUB_ENV_PREFIX = 'EDGELOOP_HUB_';
