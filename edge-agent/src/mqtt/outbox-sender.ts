import { type DeviceEvent, errorMessage, type Logger } from '@edgeloop/shared';
import type { Outbox } from './outbox.js';

export interface OutboxSenderOptions {
  outbox: Outbox;
  /** Publishes one event (QoS 1); resolves when the broker acknowledged it (PUBACK). */
  publish: (e: DeviceEvent) => Promise<void>;
  isConnected: () => boolean;
  log: Logger;
  /** Events published concurrently per window (default 50). */
  batchSize?: number;
  /** Delay before retrying after a failure, or while disconnected with events queued (default 1000). */
  retryMs?: number;
  /**
   * A window whose acknowledgements have not all come back by then ends as a failure (default 30 000):
   * the unacknowledged events stay queued and are sent again later (the hub ignores repeated ids).
   */
  publishTimeoutMs?: number;
}

type WindowOutcome = 'done' | 'timeout' | 'stopped';

/**
 * Drains the outbox to the hub: at-least-once (an event leaves the outbox only after its PUBACK),
 * which the hub's idempotent event ids turn into exactly once. Never publishes while disconnected,
 * so nothing waits in the MQTT client's in-memory offline queue, which a crash would lose.
 */
export class OutboxSender {
  private readonly batchSize: number;
  private readonly retryMs: number;
  private readonly publishTimeoutMs: number;
  /** True from the start of a drain to its end, set and cleared synchronously around the loop. */
  private active = false;
  private running: Promise<number> = Promise.resolve(0);
  private retryTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private wakeOnStop: () => void = () => {};
  private readonly stopSignal: Promise<'stopped'>;

  constructor(private readonly o: OutboxSenderOptions) {
    this.batchSize = o.batchSize ?? 50;
    this.retryMs = o.retryMs ?? 1000;
    this.publishTimeoutMs = o.publishTimeoutMs ?? 30_000;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw new Error(`batchSize must be a positive integer, got ${this.batchSize}`);
    this.stopSignal = new Promise((resolve) => {
      this.wakeOnStop = () => resolve('stopped');
    });
  }

  /** Starts a drain unless one is running. Call after each enqueue and on every (re)connect. */
  kick(): void {
    if (this.stopped || this.active) return;
    this.drain().catch((err) => {
      this.o.log.error({ err: errorMessage(err) }, 'outbox drain failed');
      this.scheduleRetry();
    });
  }

  /**
   * Sends queued events in order while connected, until the outbox is empty, a publish fails
   * (a retry is then scheduled) or the connection drops. Resolves with how many were delivered;
   * while a drain is running, returns that drain's promise.
   */
  drain(): Promise<number> {
    if (this.active) return this.running;
    if (this.stopped) return Promise.resolve(0);
    this.clearRetry();
    this.active = true;
    this.running = this.loop();
    return this.running;
  }

  /** Stops sending: no new drains or retries; waits for a running drain to settle (unacked events stay queued). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.clearRetry();
    this.wakeOnStop();
    await this.running.catch(() => 0);
  }

  private async loop(): Promise<number> {
    let sent = 0;
    try {
      for (;;) {
        if (this.stopped) break;
        if (!this.o.isConnected()) {
          // The (re)connect kick normally restarts us; the retry is a safety net.
          if (this.o.outbox.peek(1).length > 0) this.scheduleRetry();
          break;
        }
        const batch = this.o.outbox.peek(this.batchSize);
        // No await between this empty peek and `active = false`: a kick can never be lost in between.
        if (batch.length === 0) break;
        const delivered = await this.sendWindow(batch);
        const ids = batch.filter((_, i) => delivered[i]).map((e) => e.id);
        if (ids.length > 0) {
          this.o.outbox.ack(ids);
          sent += ids.length;
        }
        if (ids.length < batch.length) {
          this.scheduleRetry();
          break;
        }
      }
    } finally {
      this.active = false;
    }
    return sent;
  }

  /** Publishes a window concurrently; `delivered[i]` is true once event i's publish resolved. */
  private async sendWindow(batch: DeviceEvent[]): Promise<boolean[]> {
    const delivered = batch.map(() => false);
    let firstError: unknown = null;
    let failed = 0;
    let published = 0;
    const settled: Promise<void>[] = [];
    for (const [i, event] of batch.entries()) {
      if (this.stopped || !this.o.isConnected()) break;
      published++;
      settled.push(
        this.publishOne(event).then(
          () => {
            delivered[i] = true;
          },
          (err: unknown) => {
            failed++;
            firstError ??= err;
          },
        ),
      );
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<WindowOutcome>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.publishTimeoutMs);
      timer.unref();
    });
    const all = Promise.all(settled).then((): WindowOutcome => 'done');
    const outcome = await Promise.race([all, timeout, this.stopSignal]);
    clearTimeout(timer);
    if (failed > 0) {
      this.o.log.warn({ failed, published, err: errorMessage(firstError) }, 'outbox publish failed; will retry');
    } else if (outcome === 'timeout') {
      this.o.log.warn({ published, timeoutMs: this.publishTimeoutMs }, 'outbox publish not acknowledged in time; will retry');
    }
    return delivered;
  }

  private publishOne(event: DeviceEvent): Promise<void> {
    try {
      return Promise.resolve(this.o.publish(event));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.kick();
    }, this.retryMs);
    this.retryTimer.unref();
  }

  private clearRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }
}
