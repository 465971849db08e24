import { errorMessage, type Logger, MODEL_TYPES, type ModelType } from '@edgeloop/shared';
import type { RunRecord, RunStore } from './run-store.js';
import type { TrainingSaga } from './saga.js';
import { dueTrigger, type TriggerConfig } from './triggers.js';

/**
 * Checks the triggers every `intervalMs` (and whenever `tick` is called) and starts the runs that
 * are due. The clock is injected, so tests drive it.
 */
export class TrainingScheduler {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly o: {
      store: RunStore;
      saga: TrainingSaga;
      config: TriggerConfig;
      now: () => Date;
      correctionsSince: (iso: string | null) => number;
      members: () => number;
      log: Logger;
      intervalMs: number;
    },
  ) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), this.o.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Starts what is due now; returns the runs it started. */
  tick(): RunRecord[] {
    const started: RunRecord[] = [];
    for (const modelType of MODEL_TYPES) {
      try {
        const run = this.tickType(modelType);
        if (run) started.push(run);
      } catch (err) {
        this.o.log.error({ modelType, err: errorMessage(err) }, 'training trigger check failed');
      }
    }
    return started;
  }

  private tickType(modelType: ModelType): RunRecord | null {
    const now = this.o.now();
    const last = this.o.store.lastStarted(modelType);
    const lastNightly = this.o.store.lastStarted(modelType, ['nightly', 'corrections']);
    const trigger = dueTrigger(
      {
        modelType,
        now,
        openRun: last !== null && (last.status === 'running' || last.status === 'held'),
        lastRunAt: last ? new Date(last.createdAt) : null,
        lastNightlyAt: lastNightly ? new Date(lastNightly.createdAt) : null,
        corrections: modelType === 'laundry' ? this.o.correctionsSince(last?.createdAt ?? null) : 0,
        members: modelType === 'face' ? this.o.members() : 0,
      },
      this.o.config,
    );
    if (!trigger) return null;
    this.o.log.info({ modelType, trigger }, 'training run due');
    return this.o.saga.start(modelType, trigger, Math.floor(now.getTime() / 86_400_000));
  }
}
