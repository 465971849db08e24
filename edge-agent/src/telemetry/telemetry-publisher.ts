import { errorMessage, type Logger, type Telemetry, telemetrySchema } from '@edgeloop/shared';
import { type Health, readHealth } from './health.js';
import type { InferenceStats } from './inference-stats.js';

export interface TelemetryPublisherOptions {
  deviceId: string;
  dataDir: string;
  intervalMs: number;
  stats: InferenceStats;
  publish: (t: Telemetry) => Promise<void>;
  log: Logger;
  /** Defaults to the systeminformation/statfs reader; sensor errors are logged at debug. */
  readHealth?: (dataDir: string) => Promise<Health>;
}

/**
 * Every `intervalMs` (first tick one interval after `start()`), collects health and inference stats
 * into a `Telemetry` message and publishes it. A failing publish (broker down) is logged, never
 * thrown: warn on the first failure of a streak, debug while it keeps failing, info on recovery.
 * A tick is skipped while the previous one is still running.
 */
export class TelemetryPublisher {
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private failures = 0;
  private health: Health | null = null;
  private readonly read: (dataDir: string) => Promise<Health>;

  constructor(private readonly opts: TelemetryPublisherOptions) {
    if (!Number.isFinite(opts.intervalMs) || opts.intervalMs <= 0) throw new RangeError(`intervalMs must be positive, got ${opts.intervalMs}`);
    this.read =
      opts.readHealth ?? ((dir) => readHealth(dir, (sensor, err) => opts.log.debug({ sensor, err: errorMessage(err) }, 'health sensor failed')));
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.opts.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** The health figures of the latest collect(), for the metrics endpoint; null before the first. */
  lastHealth(): Health | null {
    return this.health;
  }

  /** One telemetry message, validated against the shared schema. */
  async collect(): Promise<Telemetry> {
    const health = await this.read(this.opts.dataDir);
    this.health = health;
    return telemetrySchema.parse({
      deviceId: this.opts.deviceId,
      at: new Date().toISOString(),
      health,
      inference: this.opts.stats.snapshot(),
    });
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    let stage: 'collect' | 'publish' = 'collect';
    try {
      const telemetry = await this.collect();
      if (!this.timer) return; // stopped while collecting
      stage = 'publish';
      await this.opts.publish(telemetry);
      if (this.failures > 0) this.opts.log.info({ failures: this.failures }, 'telemetry publish recovered');
      this.failures = 0;
    } catch (err) {
      this.failures++;
      const fields = { err: errorMessage(err), stage, failures: this.failures };
      if (this.failures === 1) this.opts.log.warn(fields, 'telemetry publish failed');
      else this.opts.log.debug(fields, 'telemetry publish still failing');
    } finally {
      this.busy = false;
    }
  }
}
