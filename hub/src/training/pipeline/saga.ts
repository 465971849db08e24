import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ConflictError, errorMessage, type Logger, type ModelType } from '@edgeloop/shared';
import type { HubEvents } from '../../events/hub-events.js';
import type { ProgressRecord, RunRecord, RunStore, StageName, Trigger } from './run-store.js';

/** The candidate is not good enough (a verdict, not a fault): the run ends `rejected`, no retry. */
export class CandidateRejected extends Error {
  constructor(
    readonly reason: string,
    readonly output: Record<string, unknown>,
  ) {
    super(reason);
    this.name = 'CandidateRejected';
  }
}

/** The candidate passed but needs an admin's approval (drift): the run waits `held` after this stage. */
export class CandidateHeld extends Error {
  constructor(
    readonly reason: string,
    readonly output: Record<string, unknown>,
  ) {
    super(reason);
    this.name = 'CandidateHeld';
  }
}

export interface StageContext {
  run: RunRecord;
  /** This run's working folder (datasets, checkpoints, candidate files). */
  dir: string;
  /** The recorded output of an earlier stage. */
  output<T = Record<string, unknown>>(stage: StageName): T;
  progress(p: Omit<ProgressRecord, 'at'>): void;
  signal: AbortSignal;
  log: Logger;
}

export type StageFn = (ctx: StageContext) => Promise<Record<string, unknown>>;
export type Pipeline = Record<StageName, StageFn>;

export interface SagaOptions {
  store: RunStore;
  pipelines: Record<ModelType, Pipeline>;
  events: HubEvents;
  dataDir: string;
  log: Logger;
  /** Attempts per stage (a crash of the hub inside a stage counts as one). */
  maxAttempts: number;
  backoffMs: number;
  onProgress?: (run: RunRecord, p: ProgressRecord) => void;
  /** Fault injection for crash tests: called when a stage has started. */
  failpoint?: (stage: StageName) => void;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/**
 * The training saga: collect → prepare → train → export → verify → register → rollout, each stage's
 * status and output checkpointed in SQLite. After a crash the run continues at the first stage not
 * done. A failing stage is retried with exponential backoff, up to `maxAttempts`; then the run fails
 * with a TrainingFailed (or, in verify, ModelVerificationFailed) event. Nothing before `register`
 * touches the registry, so a failed run never affects the model in service. One run per model type.
 */
export class TrainingSaga {
  private readonly active = new Map<number, Promise<void>>();
  private readonly abort = new AbortController();

  constructor(private readonly o: SagaOptions) {}

  /** Opens a run and drives it in the background. ConflictError when the type already has one open. */
  start(modelType: ModelType, trigger: Trigger, seed = 1): RunRecord {
    const run = this.o.store.create(modelType, trigger, seed);
    this.o.log.info({ runId: run.id, modelType, trigger }, 'training run started');
    this.drive(run.id);
    return run;
  }

  /** Continues every run a crash interrupted. */
  resumeUnfinished(): RunRecord[] {
    const runs = this.o.store.unfinished();
    for (const r of runs) {
      this.o.log.info({ runId: r.id, modelType: r.modelType, stage: r.stage }, 'resuming training run');
      this.drive(r.id);
    }
    return runs;
  }

  /** A held candidate approved by an admin: the run continues with `register`. */
  approve(runId: number, by: string): RunRecord {
    const run = this.o.store.get(runId);
    if (run.status !== 'held') throw new HeldOnlyError(runId, run.status);
    this.o.store.update(runId, { status: 'running', reason: `approved by ${by}` });
    this.drive(runId);
    return this.o.store.get(runId);
  }

  dismiss(runId: number, by: string): RunRecord {
    const run = this.o.store.get(runId);
    if (run.status !== 'held') throw new HeldOnlyError(runId, run.status);
    this.o.store.update(runId, { status: 'rejected', reason: `dismissed by ${by}: ${run.reason ?? ''}`.trim(), finished: true });
    return this.o.store.get(runId);
  }

  /** Resolves when no run is being driven (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.active.size > 0) await Promise.allSettled([...this.active.values()]);
  }

  stop(): void {
    this.abort.abort();
  }

  private drive(runId: number): void {
    if (this.active.has(runId)) return;
    const p = this.loop(runId)
      .catch((err) => this.o.log.error({ runId, err: errorMessage(err) }, 'training run driver failed'))
      .finally(() => this.active.delete(runId));
    this.active.set(runId, p);
  }

  private async loop(runId: number): Promise<void> {
    const signal = this.abort.signal;
    const dir = join(this.o.dataDir, 'training', `run-${runId}`);
    await mkdir(dir, { recursive: true });
    for (;;) {
      const run = this.o.store.get(runId);
      if (run.status !== 'running' || signal.aborted) return;
      const next = run.stages.find((s) => s.status !== 'done');
      if (!next) {
        this.o.store.update(runId, { status: 'succeeded', finished: true });
        this.o.log.info({ runId, candidateVersion: run.candidateVersion }, 'training run succeeded');
        return;
      }
      const stage = next.stage;
      const attempt = this.o.store.stageStarted(runId, stage);
      if (attempt > this.o.maxAttempts) {
        this.fail(run, stage, `stage ${stage} did not finish in ${this.o.maxAttempts} attempts (last error: ${next.error ?? 'the hub stopped inside it'})`);
        return;
      }
      this.o.failpoint?.(stage);
      const t0 = performance.now();
      try {
        const output = await this.o.pipelines[run.modelType][stage](this.context(this.o.store.get(runId), dir, signal));
        this.o.store.stageDone(runId, stage, output, (performance.now() - t0) / 1000);
      } catch (err) {
        if (signal.aborted) return; // shutting down: the stage runs again after the restart
        const seconds = (performance.now() - t0) / 1000;
        if (err instanceof CandidateRejected) {
          this.o.store.stageDone(runId, stage, { ...err.output, rejected: err.reason }, seconds);
          this.o.store.update(runId, { status: 'rejected', reason: err.reason, finished: true });
          this.o.events.record('ModelVerificationFailed', run.modelType, null, { runId, stage, reason: err.reason, reportSha256: err.output.reportSha256 ?? null });
          return;
        }
        if (err instanceof CandidateHeld) {
          this.o.store.stageDone(runId, stage, { ...err.output, held: err.reason }, seconds);
          this.o.store.update(runId, { status: 'held', reason: err.reason });
          this.o.log.warn({ runId, reason: err.reason }, 'candidate held for an admin');
          return;
        }
        const message = errorMessage(err);
        const final = attempt >= this.o.maxAttempts;
        this.o.store.stageFailed(runId, stage, message, final);
        this.o.log.warn({ runId, stage, attempt, err: message }, final ? 'training stage failed for good' : 'training stage failed; retrying');
        if (final) {
          this.fail(run, stage, `stage ${stage} failed ${attempt} times: ${message}`);
          return;
        }
        await (this.o.sleep ?? sleep)(this.o.backoffMs * 2 ** (attempt - 1), signal).catch(() => {});
      }
    }
  }

  private fail(run: RunRecord, stage: StageName, reason: string): void {
    this.o.store.stageFailed(run.id, stage, reason, true);
    this.o.store.update(run.id, { status: 'failed', reason, finished: true });
    this.o.events.record(stage === 'verify' ? 'ModelVerificationFailed' : 'TrainingFailed', run.modelType, null, { runId: run.id, stage, reason });
  }

  private context(run: RunRecord, dir: string, signal: AbortSignal): StageContext {
    return {
      run,
      dir,
      signal,
      log: this.o.log.child({ runId: run.id }),
      output: <T>(stage: StageName) => {
        const s = run.stages.find((x) => x.stage === stage);
        if (s?.status !== 'done' || !s.output) throw new Error(`stage ${stage} has no recorded output`);
        return s.output as T;
      },
      progress: (p) => {
        const rec = this.o.store.addProgress(run.id, p);
        this.o.onProgress?.(run, rec);
      },
    };
  }
}

export class HeldOnlyError extends ConflictError {
  constructor(runId: number, status: string) {
    super(`run ${runId} is ${status}, not held`);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      reject(new Error('aborted'));
    }, { once: true });
  });
}

