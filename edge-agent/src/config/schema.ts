import { deviceIdSchema, deviceRoleSchema } from '@edgeloop/shared';
import { z } from 'zod';

const MB = 1024 * 1024;

export const agentConfigSchema = z.object({
  deviceId: deviceIdSchema,
  role: deviceRoleSchema,
  branch: z.string().min(1).max(64).default('main'),
  dataDir: z.string().min(1).default('var/agent'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  hub: z.object({
    mqttUrl: z.string().regex(/^mqtts?:\/\//, 'must be an mqtt:// or mqtts:// URL'),
    httpUrl: z.url(),
    /** CA certificate (PEM file) for a hub with its own TLS certificate (MQTT). For HTTPS set NODE_EXTRA_CA_CERTS to the same file. */
    caFile: z.string().default(''),
  }),
  /** One-time token from the hub, used once to obtain this device's credentials when none are stored. */
  enrolment: z.object({ token: z.string().default('') }).default({ token: '' }),
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
      /** Root public keys (PEM files), baked into the device image: they certify the hub's signing keys. */
      rootKeyFiles: z.array(z.string().min(1)).default([]),
      /** Root public keys as PEM text (alternative to files). */
      rootKeysPem: z.array(z.string().min(1)).default([]),
      /** Signing keys trusted directly, without a root certificate (development only). */
      keyFiles: z.array(z.string().min(1)).default([]),
      keysPem: z.array(z.string().min(1)).default([]),
    })
    .default({ rootKeyFiles: [], rootKeysPem: [], keyFiles: [], keysPem: [] }),
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
      /** Disk space a download must leave free. */
      minFreeDiskBytes: z.number().int().nonnegative().default(64 * MB),
    })
    .default({ downloadTimeoutMs: 60_000, retryDelayMs: 5_000, minFreeDiskBytes: 64 * MB }),
  memory: z
    .object({
      /** A loaded model is assumed to need this multiple of its files' size. */
      modelFactor: z.number().positive().default(4),
      /** Memory left free for the rest of the device; below it the warm spare is given up. */
      minFreeBytes: z.number().int().nonnegative().default(64 * MB),
    })
    .default({ modelFactor: 4, minFreeBytes: 64 * MB }),
  watch: z
    .object({
      windowMs: z.number().int().positive().default(60_000),
      checkIntervalMs: z.number().int().positive().default(100),
      minErrors: z.number().int().positive().default(3),
      maxErrorRate: z.number().min(0).max(1).default(0.05),
      minRequests: z.number().int().positive().default(20),
      maxP95Ms: z.number().positive().default(1_000),
      p95Factor: z.number().min(1).default(3),
      minP95DeltaMs: z.number().nonnegative().default(10),
    })
    .default({ windowMs: 60_000, checkIntervalMs: 100, minErrors: 3, maxErrorRate: 0.05, minRequests: 20, maxP95Ms: 1_000, p95Factor: 3, minP95DeltaMs: 10 }),
  events: z
    .object({
      /** Send an `inference` event to the hub for every answered request. */
      inference: z.boolean().default(true),
      /** Inference events are group-committed to the outbox this often. */
      flushMs: z.number().int().positive().default(1_000),
    })
    .default({ inference: true, flushMs: 1_000 }),
  telemetry: z.object({ intervalMs: z.number().int().positive().default(30_000) }).default({ intervalMs: 30_000 }),
  sideload: z
    .object({
      /** Folder a technician drops signed bundles into. Empty: `<dataDir>/sideload`. */
      dir: z.string().default(''),
      maxBundleBytes: z.number().int().positive().default(1024 * MB),
    })
    .default({ dir: '', maxBundleBytes: 1024 * MB }),
  testing: z
    .object({
      /** Fault injection for crash tests: the process SIGKILLs itself when it reaches this point. */
      failpoint: z.enum(['', 'download-midway', 'before-verify', 'after-install', 'after-switch']).default(''),
    })
    .default({ failpoint: '' }),
});


export type AgentConfig = z.infer<typeof agentConfigSchema>;
export const AGENT_ENV_PREFIX = 'EDGELOOP_AGENT_';
