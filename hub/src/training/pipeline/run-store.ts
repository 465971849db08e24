import { ConflictError, type ModelType, NotFoundError } from '@edgeloop/shared';
import type { Db } from '../../store/db.js';

export const STAGES = ['collect', 'prepare', 'train', 'export', 'verify', 'register', 'rollout'] as const;
export type StageName = (typeof STAGES)[number];
export const TRIGGERS = ['nightly', 'corrections', 'urgent', 'manual'] as const;
export type Trigger = (typeof TRIGGERS)[number];
/** running → succeeded | failed | rejected | held; held → running (approved) | rejected (dismissed). */
export type RunStatus = 'running' | 'succeeded' | 'failed' | 'rejected' | 'held';
export type StageStatus = 'pending' | 'running' | 'done' | 'failed';

export interface StageRecord {
  stage: StageName;
  status: StageStatus;
  attempts: number;
  startedAt: string | null;
  finishedAt: string | null;
  seconds: number | null;
  output: Record<string, unknown> | null;
  error: string | null;
}

export interface RunRecord {
  id: number;
  modelType: ModelType;
  trigger: Trigger;
  status: RunStatus;
  stage: StageName | null;
  reason: string | null;
  seed: number;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
  candidateVersion: number | null;
  reportSha256: string | null;
  stages: StageRecord[];
}

export interface ProgressRecord {
  epoch: number;
  loss: number;
  accuracy: number | null;
  valAccuracy: number | null;
  at: string;
}

interface RunRow {
  id: number;
  model_type: ModelType;
  trigger: Trigger;
  status: RunStatus;
  stage: StageName | null;
  reason: string | null;
  seed: number;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
  candidate_version: number | null;
  report_sha256: string | null;
}

interface StageRow {
  stage: StageName;
  status: StageStatus;
  attempts: number;
  started_at: string | null;
  finished_at: string | null;
  seconds: number | null;
  output_json: string | null;
  error: string | null;
}

/**
 * The training saga's checkpoints in SQLite: one row per run, one per stage (status, attempts,
 * output), and the epoch-by-epoch progress. Every change is one transaction, so a crash leaves
 * either the previous or the next checkpoint, never half of one.
 */
export class RunStore {
  constructor(
    private readonly db: Db,
    private readonly now: () => Date,
  ) {}

  /** Opens a run; a ConflictError when the model type already has a running or held run. */
  create(modelType: ModelType, trigger: Trigger, seed: number): RunRecord {
    const at = this.now().toISOString();
    const id = this.db.transaction(() => {
      const open = this.db.prepare("SELECT id FROM training_runs WHERE model_type = ? AND status IN ('running', 'held')").get(modelType) as { id: number } | undefined;
      if (open) throw new ConflictError(`a ${modelType} training run is already open (run ${open.id})`);
      const res = this.db
        .prepare("INSERT INTO training_runs (model_type, trigger, status, stage, seed, created_at, updated_at) VALUES (?, ?, 'running', ?, ?, ?, ?)")
        .run(modelType, trigger, STAGES[0], seed, at, at);
      const runId = Number(res.lastInsertRowid);
      const ins = this.db.prepare("INSERT INTO training_stages (run_id, stage, status) VALUES (?, ?, 'pending')");
      for (const s of STAGES) ins.run(runId, s);
      return runId;
    })();
    return this.get(id);
  }

  get(id: number): RunRecord {
    const row = this.db.prepare('SELECT * FROM training_runs WHERE id = ?').get(id) as RunRow | undefined;
    if (!row) throw new NotFoundError(`no training run ${id}`);
    return this.toRecord(row);
  }

  list(opts: { modelType?: ModelType; limit?: number } = {}): RunRecord[] {
    const rows = this.db
      .prepare(`SELECT * FROM training_runs ${opts.modelType ? 'WHERE model_type = ?' : ''} ORDER BY id DESC LIMIT ?`)
      .all(...(opts.modelType ? [opts.modelType, opts.limit ?? 50] : [opts.limit ?? 50])) as RunRow[];
    return rows.map((r) => this.toRecord(r));
  }

  /** Runs a crash interrupted: still `running`, oldest first. */
  unfinished(): RunRecord[] {
    return (this.db.prepare("SELECT * FROM training_runs WHERE status = 'running' ORDER BY id").all() as RunRow[]).map((r) => this.toRecord(r));
  }

  /** The last run of a type that produced a candidate or finished, for trigger decisions. */
  lastStarted(modelType: ModelType, triggers?: readonly Trigger[]): RunRecord | null {
    const rows = this.db.prepare('SELECT * FROM training_runs WHERE model_type = ? ORDER BY id DESC').all(modelType) as RunRow[];
    const row = rows.find((r) => !triggers || triggers.includes(r.trigger));
    return row ? this.toRecord(row) : null;
  }

  stageStarted(runId: number, stage: StageName): number {
    const at = this.now().toISOString();
    return this.db.transaction(() => {
      this.db.prepare("UPDATE training_stages SET status = 'running', attempts = attempts + 1, started_at = ?, error = NULL WHERE run_id = ? AND stage = ?").run(at, runId, stage);
      this.db.prepare('UPDATE training_runs SET stage = ?, updated_at = ? WHERE id = ?').run(stage, at, runId);
      return (this.db.prepare('SELECT attempts FROM training_stages WHERE run_id = ? AND stage = ?').get(runId, stage) as { attempts: number }).attempts;
    })();
  }

  stageDone(runId: number, stage: StageName, output: Record<string, unknown>, seconds: number): void {
    const at = this.now().toISOString();
    this.db
      .prepare("UPDATE training_stages SET status = 'done', finished_at = ?, seconds = ?, output_json = ? WHERE run_id = ? AND stage = ?")
      .run(at, seconds, JSON.stringify(output), runId, stage);
  }

  stageFailed(runId: number, stage: StageName, error: string, final: boolean): void {
    const at = this.now().toISOString();
    this.db.prepare('UPDATE training_stages SET status = ?, finished_at = ?, error = ? WHERE run_id = ? AND stage = ?').run(final ? 'failed' : 'pending', at, error, runId, stage);
  }

  /** Sets run fields; `finished` stamps finished_at. */
  update(runId: number, f: { status?: RunStatus; reason?: string | null; candidateVersion?: number; reportSha256?: string; finished?: boolean }): void {
    const at = this.now().toISOString();
    const cur = this.get(runId);
    this.db
      .prepare('UPDATE training_runs SET status = ?, reason = ?, candidate_version = ?, report_sha256 = ?, updated_at = ?, finished_at = ? WHERE id = ?')
      .run(
        f.status ?? cur.status,
        f.reason === undefined ? cur.reason : f.reason,
        f.candidateVersion ?? cur.candidateVersion,
        f.reportSha256 ?? cur.reportSha256,
        at,
        f.finished ? at : cur.finishedAt,
        runId,
      );
  }

  addProgress(runId: number, p: Omit<ProgressRecord, 'at'>): ProgressRecord {
    const at = this.now().toISOString();
    this.db
      .prepare('INSERT OR REPLACE INTO training_progress (run_id, epoch, loss, accuracy, val_accuracy, at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(runId, p.epoch, p.loss, p.accuracy, p.valAccuracy, at);
    return { ...p, at };
  }

  progress(runId: number): ProgressRecord[] {
    return (
      this.db.prepare('SELECT epoch, loss, accuracy, val_accuracy, at FROM training_progress WHERE run_id = ? ORDER BY epoch').all(runId) as {
        epoch: number;
        loss: number;
        accuracy: number | null;
        val_accuracy: number | null;
        at: string;
      }[]
    ).map((r) => ({ epoch: r.epoch, loss: r.loss, accuracy: r.accuracy, valAccuracy: r.val_accuracy, at: r.at }));
  }

  private toRecord(row: RunRow): RunRecord {
    const stages = (this.db.prepare('SELECT * FROM training_stages WHERE run_id = ?').all(row.id) as StageRow[])
      .map(
        (s): StageRecord => ({
          stage: s.stage,
          status: s.status,
          attempts: s.attempts,
          startedAt: s.started_at,
          finishedAt: s.finished_at,
          seconds: s.seconds,
          output: s.output_json ? (JSON.parse(s.output_json) as Record<string, unknown>) : null,
          error: s.error,
        }),
      )
      .sort((a, b) => STAGES.indexOf(a.stage) - STAGES.indexOf(b.stage));
    return {
      id: row.id,
      modelType: row.model_type,
      trigger: row.trigger,
      status: row.status,
      stage: row.stage,
      reason: row.reason,
      seed: row.seed,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      finishedAt: row.finished_at,
      candidateVersion: row.candidate_version,
      reportSha256: row.report_sha256,
      stages,
    };
  }
}
