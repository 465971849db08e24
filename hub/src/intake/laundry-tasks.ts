import { randomUUID } from 'node:crypto';
import { ConflictError, ForbiddenError, NotFoundError, sha256Hex } from '@edgeloop/shared';
import { z } from 'zod';
import { normalizeIso, type TaskRow, taskRow, taskView } from './intake-rows.js';
import type { IntakeContext } from './intake-context.js';
import type { ConfirmedTask, LaundryTaskInput, LaundryTaskView, TaskConfirmedEvent, TaskStatus } from './intake-types.js';
import {
  type Confirmation,
  confidenceSchema,
  confirmationSchema,
  type LaundryResult,
  laundryResultSchema,
  modelVersionSchema,
  parseOrThrow,
  parseWithPhotos,
  taskIdSchema,
} from './schemas.js';

const laundryTaskSchema = z.object({
  id: taskIdSchema.optional(),
  aiResult: laundryResultSchema,
  aiConfidence: confidenceSchema,
  modelVersion: modelVersionSchema,
});
const listTasksSchema = z.object({
  status: z.enum(['pending', 'confirmed']).optional(),
  branch: z.string().optional(),
  limit: z.number().int().min(1).max(1000).default(100),
});
const confirmedTasksSchema = z.object({
  since: z.iso.datetime({ offset: true }).nullish(),
  correctedOnly: z.boolean().default(false),
  limit: z.number().int().min(1).max(10_000).default(500),
});

/** Laundry tasks the AI has judged, the branch manager's confirmations of them, and the training set they make (UC-14, UC-24). */
export class LaundryTasks {
  constructor(private readonly ctx: IntakeContext) {}

  /**
   * A laundry item the AI has judged, awaiting the branch manager's confirmation. Idempotent on `id`:
   * the same device sending the same photo again gets the stored task (`created: false`); anything else
   * under an existing id is a conflict.
   */
  async add(deviceId: string, branch: string, input: LaundryTaskInput): Promise<{ id: string; sha256: string; created: boolean }> {
    const { db, artifacts, now } = this.ctx;
    const t = await parseWithPhotos(laundryTaskSchema, input, [{ path: 'photo', bytes: input.photo }], 'laundry task');
    const id = t.id ?? randomUUID();
    const before = taskRow(db, id);
    if (before) return { ...sameTask(before, deviceId, input.photo), created: false };
    const { sha256 } = await artifacts.put(input.photo, 'photo');
    return db.transaction(() => {
      const raced = taskRow(db, id);
      if (raced) return { ...sameTask(raced, deviceId, input.photo), created: false };
      db.prepare(
        `INSERT INTO laundry_tasks (id, device_id, branch, sha256, ai_result, ai_confidence, model_version, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(id, deviceId, branch, sha256, t.aiResult, t.aiConfidence, t.modelVersion, now().toISOString());
      return { id, sha256, created: true };
    })();
  }

  get(taskId: string): LaundryTaskView {
    const row = taskRow(this.ctx.db, taskId);
    if (!row) throw new NotFoundError(`no laundry task ${taskId}`);
    return taskView(row);
  }

  /** Newest first. */
  list(opts: { status?: TaskStatus | undefined; branch?: string | undefined; limit?: number | undefined }): LaundryTaskView[] {
    const o = parseOrThrow(listTasksSchema, opts, 'task query');
    const where: string[] = [];
    const params: unknown[] = [];
    if (o.status === 'pending') where.push('confirmed_at IS NULL');
    if (o.status === 'confirmed') where.push('confirmed_at IS NOT NULL');
    if (o.branch !== undefined) {
      where.push('branch = ?');
      params.push(o.branch);
    }
    const sql = `SELECT * FROM laundry_tasks ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id LIMIT ?`;
    return (this.ctx.db.prepare(sql).all(...params, o.limit) as TaskRow[]).map(taskView);
  }

  /**
   * UC-14: the branch manager's verdict on a task, recorded once, with a `TaskConfirmed` hub event.
   * 400: the body contradicts itself (`corrected` ≠ finalResult≠aiResult, correction without reason).
   * 404: no such task. 403: `opts.branch` given and the task belongs to another branch.
   * 409: already confirmed, or `aiResult` is not the AI result stored for the task.
   */
  confirm(taskId: string, input: Confirmation, opts: { branch?: string; confirmedBy?: string }): TaskConfirmedEvent {
    const { db, log, now } = this.ctx;
    const c = parseOrThrow(confirmationSchema, input, 'confirmation');
    return db.transaction((): TaskConfirmedEvent => {
      const row = taskRow(db, taskId);
      if (!row) throw new NotFoundError(`no laundry task ${taskId}`);
      if (opts.branch !== undefined && row.branch !== opts.branch) {
        throw new ForbiddenError(`task ${taskId} belongs to another branch`);
      }
      if (row.confirmed_at !== null) {
        throw new ConflictError(`task ${taskId} was already confirmed at ${row.confirmed_at}`, { confirmedAt: row.confirmed_at });
      }
      if (row.ai_result !== c.aiResult) {
        throw new ConflictError(`aiResult ${c.aiResult} is not the AI result recorded for task ${taskId} (${row.ai_result})`, {
          recordedAiResult: row.ai_result,
        });
      }
      const at = now().toISOString();
      const reason = c.corrected ? (c.correctionReason ?? null) : null;
      db.prepare(
        'UPDATE laundry_tasks SET final_result = ?, corrected = ?, correction_reason = ?, confirmed_at = ? WHERE id = ? AND confirmed_at IS NULL',
      ).run(c.finalResult, c.corrected ? 1 : 0, reason, at, taskId);
      const data = {
        taskId,
        deviceId: row.device_id,
        branch: row.branch,
        finalResult: c.finalResult,
        aiResult: c.aiResult,
        corrected: c.corrected,
        correctionReason: reason,
        photoSha256: row.sha256,
        modelVersion: row.model_version,
        confirmedBy: opts.confirmedBy ?? 'admin',
      };
      const res = db
        .prepare("INSERT INTO hub_events (type, at, model_type, version, data_json) VALUES ('TaskConfirmed', ?, 'laundry', ?, ?)")
        .run(at, row.model_version, JSON.stringify(data));
      log.info({ taskId, branch: row.branch, corrected: c.corrected, confirmedBy: data.confirmedBy }, 'laundry task confirmed');
      return { eventId: Number(res.lastInsertRowid), type: 'TaskConfirmed', at, ...data };
    })();
  }

  /** Corrections confirmed after `iso` (all when null): the UC-24 retraining trigger counts these. */
  correctionsSince(iso: string | null): number {
    const since = iso === null ? null : normalizeIso(iso);
    const row = this.ctx.db
      .prepare('SELECT COUNT(*) AS n FROM laundry_tasks WHERE corrected = 1 AND confirmed_at IS NOT NULL AND (? IS NULL OR confirmed_at > ?)')
      .get(since, since) as { n: number };
    return row.n;
  }

  /** Confirmed tasks, newest confirmation first: the training set for retraining. */
  confirmed(opts: { since?: string | null; correctedOnly?: boolean; limit?: number }): ConfirmedTask[] {
    const o = parseOrThrow(confirmedTasksSchema, opts, 'confirmed task query');
    const since = o.since ? normalizeIso(o.since) : null;
    const rows = this.ctx.db
      .prepare(
        `SELECT * FROM laundry_tasks WHERE confirmed_at IS NOT NULL AND (? IS NULL OR confirmed_at > ?) AND (? = 0 OR corrected = 1)
         ORDER BY confirmed_at DESC, id LIMIT ?`,
      )
      .all(since, since, o.correctedOnly ? 1 : 0, o.limit) as TaskRow[];
    return rows.map((r) => ({
      taskId: r.id,
      deviceId: r.device_id,
      branch: r.branch,
      sha256: r.sha256,
      aiResult: r.ai_result,
      aiConfidence: r.ai_confidence,
      modelVersion: r.model_version,
      finalResult: r.final_result as LaundryResult,
      corrected: r.corrected === 1,
      correctionReason: r.correction_reason,
      confirmedAt: r.confirmed_at as string,
    }));
  }
}

/** A retried upload of a known task id: fine from the same device with the same photo, a conflict otherwise. */
function sameTask(row: TaskRow, deviceId: string, photo: Buffer): { id: string; sha256: string } {
  if (row.device_id !== deviceId) throw new ConflictError(`task ${row.id} was reported by another device`);
  // The store names blobs by their SHA-256: compare without writing a blob.
  if (sha256Hex(photo) !== row.sha256) throw new ConflictError(`task ${row.id} was already reported with another photo`);
  return { id: row.id, sha256: row.sha256 };
}
