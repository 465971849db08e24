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
      /** Check the training triggers (nightly time, UC-24 corrections) this often; 0 = never (manual runs only). */
      checkIntervalMs: z.number().int().nonnegative().default(60_000),
      /** Local time of the nightly run, and its time zone (default: the hub's own). */
      nightlyAt: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM').default('03:00'),
      timeZone: z.string().default(Intl.DateTimeFormat().resolvedOptions().timeZone),
      nightlyWindowMinutes: z.number().int().positive().default(180),
      laundry: z
        .object({
          minCorrections: z.number().int().nonnegative().default(100),
          minDays: z.number().nonnegative().default(7),
          urgentCorrections: z.number().int().positive().default(300),
          maxPhotos: z.number().int().positive().max(10_000).default(5_000),
          minPerClass: z.number().int().positive().default(10),
        })
        .prefault({}),
      face: z
        .object({
          minMembers: z.number().int().min(2).default(2),
          epochs: z.number().int().positive().default(40),
          retrainDetector: z.boolean().default(false),
          detectorBudget: z.enum(['test', 'full']).default('full'),
          maxSamples: z.number().int().positive().default(5_000),
        })
        .prefault({}),
      holdoutFraction: z.number().min(0).max(0.5).default(0.1),
      valFraction: z.number().min(0.05).max(0.5).default(0.2),
      /** Training images per photo: the photo and (variants - 1) augmented copies. */
      variants: z.number().int().min(1).max(20).default(5),
      batchSize: z.number().int().positive().default(32),
      learningRate: z.number().positive().default(1e-3),
      maxEpochs: z.number().int().positive().default(50),
      patience: z.number().int().positive().default(5),
      checkpointEvery: z.number().int().positive().default(5),
      maxAttempts: z.number().int().min(1).default(3),
      backoffMs: z.number().int().nonnegative().default(60_000),
      stageTimeoutMs: z.number().int().positive().default(2 * 3_600_000),
      sandbox: z
        .object({
          memoryMb: z.number().int().positive().default(2_048),
          timeoutMs: z.number().int().positive().default(10 * 60_000),
          requests: z.number().int().positive().default(200),
          concurrency: z.number().int().positive().default(4),
        })
        .prefault({}),
      limits: z
        .object({
          minValAccuracy: z.number().min(0).max(1).default(0.9),
          minHoldoutAccuracy: z.number().min(0).max(1).default(0.88),
          minClassRecall: z.number().min(0).max(1).default(0.9),
          maxFar: z.number().min(0).max(1).default(0.01),
          maxFrr: z.number().min(0).max(1).default(0.05),
          maxDrift: z.number().min(0).max(2).default(0.25),
          serviceTolerance: z.number().min(0).max(1).default(0.01),
          maxAvgLatencyMs: z.number().positive().default(200),
          minThroughputRps: z.number().nonnegative().default(50),
        })
        .prefault({}),
    })
    .prefault({}),
  testing: z
    .object({
      /** Fault injection for crash tests: the hub SIGKILLs itself when a training run starts this stage. */
      trainingFailpoint: z.enum(['', 'collect', 'prepare', 'train', 'export', 'verify', 'register', 'rollout']).default(''),
    })
    .prefault({}),
});

export type HubConfig = z.infer<typeof hubConfigSchema>;
export const HUB_ENV_PREFIX = 'EDGELOOP_HUB_';
