import { randomUUID } from 'node:crypto';
import { type DeviceEvent, errorMessage, type Logger, type ModelType } from '@edgeloop/shared';
import type { InferenceResult } from './inference-service.js';

export interface EventSink {
  enqueueMany(events: readonly DeviceEvent[]): void;
  kick(): void;
}

/**
 * Turns each answered inference into an `inference` event for the hub. Events are group-committed
 * to the outbox every `flushMs` (one durable transaction for many requests), so the request path
 * never waits on a disk sync; a power cut can lose at most the last interval's inference events,
 * never a deploy or rollback report.
 */
export class InferenceEventRecorder {
  private buffer: DeviceEvent[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly o: { deviceId: string; modelType: ModelType; sink: EventSink; flushMs: number; maxBuffer?: number; log: Logger },
  ) {
    this.timer = setInterval(() => this.flush(), o.flushMs);
    this.timer.unref();
  }

  record(res: InferenceResult): void {
    const data: Record<string, unknown> =
      res.modelType === 'laundry'
        ? { label: res.result.label, confidence: res.result.confidence, latencyMs: res.latencyMs }
        : { latencyMs: res.latencyMs };
    if (res.servedBySpare) data.servedBySpare = true;
    this.buffer.push({ id: randomUUID(), deviceId: this.o.deviceId, type: 'inference', at: new Date().toISOString(), modelType: this.o.modelType, version: res.version, data });
    if (this.buffer.length >= (this.o.maxBuffer ?? 1000)) this.flush();
  }

  flush(): void {
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    try {
      this.o.sink.enqueueMany(batch);
      this.o.sink.kick();
    } catch (err) {
      this.o.log.error({ err: errorMessage(err), events: batch.length }, 'inference events could not be stored');
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.flush();
  }
}
