import { deviceIdSchema, deviceRoleSchema } from '@edgeloop/shared';
import { z } from 'zod';

const MB = 1024 * 1024;

const DOOR_DEFAULTS = {
  actuator: 'none' as const,
  command: '',
  args: [] as string[],
  url: '',
  method: 'POST' as const,
  gpioValuePath: '',
  activeHigh: true,
  pulseMs: 3_000,
  timeoutMs: 5_000,
  holdOffMs: 3_000,
  uploadSamples: true,
};

export const doorConfigSchema = z
  .object({
    /** none: decisions only; command: run a program; http: call a URL; gpio: pulse a GPIO line (sysfs value file). */
    actuator: z.enum(['none', 'command', 'http', 'gpio']).default(DOOR_DEFAULTS.actuator),
    /** command: program to run; gets EDGELOOP_MEMBER_ID, EDGELOOP_DEVICE_ID and EDGELOOP_SCORE in its environment. */
    command: z.string().default(''),
    args: z.array(z.string()).default([]),
    /** http: the door controller's URL; receives JSON {memberId, deviceId, score, at}. */
    url: z.string().default(''),
    method: z.enum(['POST', 'PUT']).default('POST'),
    /** gpio: e.g. /sys/class/gpio/gpio17/value (exported and set to output by the device image). */
    gpioValuePath: z.string().default(''),
    activeHigh: z.boolean().default(true),
    /** gpio: how long the line stays active. */
    pulseMs: z.number().int().min(10).max(60_000).default(3_000),
    timeoutMs: z.number().int().min(100).max(60_000).default(5_000),
    /** The same member in front of the door again within this time does not fire the door again. */
    holdOffMs: z.number().int().min(0).max(600_000).default(3_000),
    /** Send the aligned crop of each member decision to the hub as a training sample. */
    uploadSamples: z.boolean().default(true),
  })
  .superRefine((d, ctx) => {
    if (d.actuator === 'command' && !d.command) ctx.addIssue({ code: 'custom', path: ['command'], message: 'the command actuator needs door.command' });
    if (d.actuator === 'http' && !URL.canParse(d.url)) ctx.addIssue({ code: 'custom', path: ['url'], message: 'the http actuator needs a valid door.url' });
    if (d.actuator === 'gpio' && !d.gpioValuePath) ctx.addIssue({ code: 'custom', path: ['gpioValuePath'], message: 'the gpio actuator needs door.gpioValuePath' });
  })
  .default(DOOR_DEFAULTS);
export type DoorConfig = z.infer<typeof doorConfigSchema>;

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
  /** Gym door: what opens the door for a recognised member. */
  door: doorConfigSchema,
  testing: z
    .object({
      /** Fault injection for crash tests: the process SIGKILLs itself when it reaches this point. */
      failpoint: z.enum(['', 'download-midway', 'before-verify', 'after-install', 'after-switch']).default(''),
    })
    .default({ failpoint: '' }),
});


export type AgentConfig = z.infer<typeof agentConfigSchema>;
export const AGENT_ENV_PREFIX = 'EDGELOOP_AGENT_';
