import { randomUUID } from 'node:crypto';
import { ConflictError, ForbiddenError, type Logger, NotFoundError, sha256Hex } from '@edgeloop/shared';
import { z } from 'zod';
import type { ArtifactStore } from '../registry/artifact-store.js';
import type { Db } from '../store/db.js';
import {
  assertPhotos,
  branchSchema,
  type Confirmation,
  confidenceSchema,
  confirmationSchema,
  faceScoreSchema,
  invalid,
  type LaundryResult,
  laundryResultSchema,
  memberIdSchema,
  modelVersionSchema,
  parseOrThrow,
  parseWithPhotos,
  taskIdSchema,
} from './schemas.js';

export interface IntakeDeps {
  db: Db;
  artifacts: ArtifactStore;
  log: Logger;
  now?: () => Date;
  /** Face samples older than this are removed by `pruneFaceSamples`. */
  faceSampleRetentionDays: number;
}

export interface FaceSampleInput {
  memberId: string;
  score: number;
  modelVersion: number;
  photo: Buffer;
}

export interface LaundryTaskInput {
  /** Chosen by the device so that a retried upload is stored once. */
  id?: string | undefined;
  aiResult: LaundryResult;
  aiConfidence: number;
  modelVersion: number;
  photo: Buffer;
}

export type TaskStatus = 'pending' | 'confirmed';

export interface LaundryTaskView {
  id: string;
  deviceId: string;
  branch: string;
  sha256: string;
  aiResult: LaundryResult;
  aiConfidence: number;
  modelVersion: number | null;
  createdAt: string;
  status: TaskStatus;
  finalResult: LaundryResult | null;
  corrected: boolean | null;
  correctionReason: string | null;
  confirmedAt: string | null;
}

/** The UC-14 → UC-24 event, stored in `hub_events` (type `TaskConfirmed`; everything but eventId/type/at is its data). */
export interface TaskConfirmedEvent {
  eventId: number;
  type: 'TaskConfirmed';
  at: string;
  taskId: string;
  deviceId: string;
  branch: string;
  finalResult: LaundryResult;
  aiResult: LaundryResult;
  corrected: boolean;
  correctionReason: string | null;
  photoSha256: string;
  modelVersion: number | null;
  /** `admin` or the id of the device (branch tablet) that confirmed. */
  confirmedBy: string;
}

export interface ConfirmedTask {
  taskId: string;
  deviceId: string;
  branch: string;
  sha256: string;
  aiResult: LaundryResult;
  aiConfidence: number;
  modelVersion: number | null;
  finalResult: LaundryResult;
  corrected: boolean;
  correctionReason: string | null;
  confirmedAt: string;
}

export interface MemberView {
  id: string;
  name: string;
  branch: string;
  createdAt: string;
  photos: string[];
}

export interface MemberPhoto {
  sha256: string;
  createdAt: string;
}

interface TaskRow {
  id: string;
  device_id: string;
  branch: string;
  sha256: string;
  ai_result: LaundryResult;
  ai_confidence: number;
  model_version: number | null;
  created_at: string;
  final_result: LaundryResult | null;
  corrected: number | null;
  correction_reason: string | null;
  confirmed_at: string | null;
}

interface MemberRow {
  id: string;
  name: string;
  branch: string;
  created_at: string;
}

const faceSampleSchema = z.object({ memberId: memberIdSchema, score: faceScoreSchema, modelVersion: modelVersionSchema });
const laundryTaskSchema = z.object({
  id: taskIdSchema.optional(),
  aiResult: laundryResultSchema,
  aiConfidence: confidenceSchema,
  modelVersion: modelVersionSchema,
});
const newMemberSchema = z.object({ id: memberIdSchema.optional(), name: z.string().trim().min(1).max(200), branch: branchSchema });
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

const DAY_MS = 86_400_000;

/**
 * What the edge sends back for learning, and the branch manager's verdicts on it (UC-14, feeding UC-24):
 * face samples from door agents, laundry tasks with the AI's result, their confirmations, and the member gallery.
 * Photos are kept in the content-addressed artifact store; rows hold their sha256.
 */
export class IntakeService {
  private readonly db: Db;
  private readonly artifacts: ArtifactStore;
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly retentionMs: number;

  constructor(deps: IntakeDeps) {
    if (!(deps.faceSampleRetentionDays > 0)) throw new RangeError('faceSampleRetentionDays must be positive');
    this.db = deps.db;
    this.artifacts = deps.artifacts;
    this.log = deps.log;
    this.now = deps.now ?? (() => new Date());
    this.retentionMs = deps.faceSampleRetentionDays * DAY_MS;
  }

  // ---- face samples ------------------------------------------------------------------------------

  /** A successful face authentication reported by a door agent, with the photo it matched on. */
  async addFaceSample(deviceId: string, input: FaceSampleInput): Promise<{ id: string; sha256: string }> {
    const s = await parseWithPhotos(faceSampleSchema, input, [{ path: 'photo', bytes: input.photo }], 'face sample');
    this.requireMember(s.memberId);
    const { sha256 } = await this.artifacts.put(input.photo, 'photo');
    const id = randomUUID();
    // Synchronous: nothing runs between the second member check and the insert.
    this.db.transaction(() => {
      this.requireMember(s.memberId);
      this.db
        .prepare('INSERT INTO face_samples (id, device_id, member_id, sha256, score, model_version, at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(id, deviceId, s.memberId, sha256, s.score, s.modelVersion, this.now().toISOString());
    })();
    return { id, sha256 };
  }

  /** The newest face samples (successful authentications), for training. */
  faceSamples(limit = 5_000): { id: string; memberId: string; sha256: string; score: number; at: string }[] {
    return (
      this.db.prepare('SELECT id, member_id, sha256, score, at FROM face_samples ORDER BY at DESC, id LIMIT ?').all(limit) as {
        id: string;
        member_id: string;
        sha256: string;
        score: number;
        at: string;
      }[]
    ).map((r) => ({ id: r.id, memberId: r.member_id, sha256: r.sha256, score: r.score, at: r.at }));
  }

  /** Deletes face samples older than the retention period; returns how many. */
  pruneFaceSamples(): number {
    const cutoff = new Date(this.now().getTime() - this.retentionMs).toISOString();
    const n = this.db.prepare('DELETE FROM face_samples WHERE at < ?').run(cutoff).changes;
    if (n > 0) this.log.info({ removed: n, cutoff }, 'face samples pruned');
    return n;
  }

  // ---- laundry tasks -----------------------------------------------------------------------------

  /**
   * A laundry item the AI has judged, awaiting the branch manager's confirmation. Idempotent on `id`:
   * the same device sending the same photo again gets the stored task (`created: false`); anything else
   * under an existing id is a conflict.
   */
  async addLaundryTask(deviceId: string, branch: string, input: LaundryTaskInput): Promise<{ id: string; sha256: string; created: boolean }> {
    const t = await parseWithPhotos(laundryTaskSchema, input, [{ path: 'photo', bytes: input.photo }], 'laundry task');
    const id = t.id ?? randomUUID();
    const before = this.taskRow(id);
    if (before) return { ...this.sameTask(before, deviceId, input.photo), created: false };
    const { sha256 } = await this.artifacts.put(input.photo, 'photo');
    return this.db.transaction(() => {
      const raced = this.taskRow(id);
      if (raced) return { ...this.sameTask(raced, deviceId, input.photo), created: false };
      this.db
        .prepare(
          `INSERT INTO laundry_tasks (id, device_id, branch, sha256, ai_result, ai_confidence, model_version, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(id, deviceId, branch, sha256, t.aiResult, t.aiConfidence, t.modelVersion, this.now().toISOString());
      return { id, sha256, created: true };
    })();
  }

  getTask(taskId: string): LaundryTaskView {
    const row = this.taskRow(taskId);
    if (!row) throw new NotFoundError(`no laundry task ${taskId}`);
    return taskView(row);
  }

  /** Newest first. */
  listTasks(opts: { status?: TaskStatus | undefined; branch?: string | undefined; limit?: number | undefined } = {}): LaundryTaskView[] {
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
    return (this.db.prepare(sql).all(...params, o.limit) as TaskRow[]).map(taskView);
  }

  /**
   * UC-14: the branch manager's verdict on a task, recorded once, with a `TaskConfirmed` hub event.
   * 400: the body contradicts itself (`corrected` ≠ finalResult≠aiResult, correction without reason).
   * 404: no such task. 403: `opts.branch` given and the task belongs to another branch.
   * 409: already confirmed, or `aiResult` is not the AI result stored for the task.
   */
  confirmTask(taskId: string, input: Confirmation, opts: { branch?: string; confirmedBy?: string } = {}): TaskConfirmedEvent {
    const c = parseOrThrow(confirmationSchema, input, 'confirmation');
    return this.db.transaction((): TaskConfirmedEvent => {
      const row = this.taskRow(taskId);
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
      const at = this.now().toISOString();
      const reason = c.corrected ? (c.correctionReason ?? null) : null;
      this.db
        .prepare('UPDATE laundry_tasks SET final_result = ?, corrected = ?, correction_reason = ?, confirmed_at = ? WHERE id = ? AND confirmed_at IS NULL')
        .run(c.finalResult, c.corrected ? 1 : 0, reason, at, taskId);
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
      const res = this.db
        .prepare("INSERT INTO hub_events (type, at, model_type, version, data_json) VALUES ('TaskConfirmed', ?, 'laundry', ?, ?)")
        .run(at, row.model_version, JSON.stringify(data));
      this.log.info({ taskId, branch: row.branch, corrected: c.corrected, confirmedBy: data.confirmedBy }, 'laundry task confirmed');
      return { eventId: Number(res.lastInsertRowid), type: 'TaskConfirmed', at, ...data };
    })();
  }

  /** Corrections confirmed after `iso` (all when null): the UC-24 retraining trigger counts these. */
  correctionsSince(iso: string | null): number {
    const since = iso === null ? null : normalizeIso(iso);
    const row = this.db
      .prepare('SELECT COUNT(*) AS n FROM laundry_tasks WHERE corrected = 1 AND confirmed_at IS NOT NULL AND (? IS NULL OR confirmed_at > ?)')
      .get(since, since) as { n: number };
    return row.n;
  }

  /** Confirmed tasks, newest confirmation first: the training set for retraining. */
  confirmedTasks(opts: { since?: string | null; correctedOnly?: boolean; limit?: number } = {}): ConfirmedTask[] {
    const o = parseOrThrow(confirmedTasksSchema, opts, 'confirmed task query');
    const since = o.since ? normalizeIso(o.since) : null;
    const rows = this.db
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

  // ---- members -----------------------------------------------------------------------------------

  async addMember(input: { id?: string | undefined; name: string; branch: string }, photos: Buffer[]): Promise<MemberView> {
    const m = await parseWithPhotos(
      newMemberSchema,
      input,
      photos.map((bytes, i) => ({ path: `photos.${i}`, bytes })),
      'member',
    );
    const id = m.id ?? randomUUID();
    if (this.memberRow(id)) throw new ConflictError(`member ${id} already exists`);
    const shas = await this.putAll(photos);
    this.db.transaction(() => {
      if (this.memberRow(id)) throw new ConflictError(`member ${id} already exists`);
      const at = this.now().toISOString();
      this.db.prepare('INSERT INTO members (id, name, branch, created_at) VALUES (?, ?, ?, ?)').run(id, m.name, m.branch, at);
      this.insertPhotos(id, shas, at);
    })();
    this.log.info({ memberId: id, branch: m.branch, photos: shas.length }, 'member added');
    return this.member(id);
  }

  async addMemberPhotos(id: string, photos: Buffer[]): Promise<MemberView> {
    if (photos.length === 0) throw invalid('member photos', [{ path: 'photos', message: 'at least one photo is needed' }]);
    await assertPhotos(
      photos.map((bytes, i) => ({ path: `photos.${i}`, bytes })),
      'member photos',
    );
    this.requireMember(id);
    const shas = await this.putAll(photos);
    this.db.transaction(() => {
      this.requireMember(id);
      this.insertPhotos(id, shas, this.now().toISOString());
    })();
    return this.member(id);
  }

  /**
   * Removes a member with its photos and face samples. Returns the sha256s of those photos that nothing
   * (another member, a face sample, a laundry task) references any more, so the caller can drop them
   * from the gallery and the artifact store.
   */
  deleteMember(id: string): string[] {
    return this.db.transaction(() => {
      this.requireMember(id);
      const candidates = this.db
        .prepare('SELECT sha256 FROM member_photos WHERE member_id = ? UNION SELECT sha256 FROM face_samples WHERE member_id = ?')
        .all(id, id) as { sha256: string }[];
      this.db.prepare('DELETE FROM face_samples WHERE member_id = ?').run(id);
      this.db.prepare('DELETE FROM member_photos WHERE member_id = ?').run(id);
      this.db.prepare('DELETE FROM members WHERE id = ?').run(id);
      const stillUsed = this.db.prepare(
        `SELECT 1 FROM member_photos WHERE sha256 = @s UNION ALL SELECT 1 FROM face_samples WHERE sha256 = @s
         UNION ALL SELECT 1 FROM laundry_tasks WHERE sha256 = @s LIMIT 1`,
      );
      const unreferenced = candidates.map((c) => c.sha256).filter((s) => stillUsed.get({ s }) === undefined);
      this.log.info({ memberId: id, unreferenced: unreferenced.length }, 'member deleted');
      return unreferenced.sort();
    })();
  }

  listMembers(): MemberView[] {
    const rows = this.db.prepare('SELECT * FROM members ORDER BY id').all() as MemberRow[];
    const photos = this.db.prepare('SELECT member_id, sha256 FROM member_photos ORDER BY created_at, sha256').all() as {
      member_id: string;
      sha256: string;
    }[];
    const byMember = new Map<string, string[]>();
    for (const p of photos) {
      const list = byMember.get(p.member_id) ?? [];
      list.push(p.sha256);
      byMember.set(p.member_id, list);
    }
    return rows.map((r) => memberView(r, byMember.get(r.id) ?? []));
  }

  member(id: string): MemberView {
    const row = this.requireMember(id);
    return memberView(
      row,
      this.memberPhotos(id).map((p) => p.sha256),
    );
  }

  memberPhotos(id: string): MemberPhoto[] {
    this.requireMember(id);
    return (
      this.db.prepare('SELECT sha256, created_at FROM member_photos WHERE member_id = ? ORDER BY created_at, sha256').all(id) as {
        sha256: string;
        created_at: string;
      }[]
    ).map((r) => ({ sha256: r.sha256, createdAt: r.created_at }));
  }

  // ---- helpers -----------------------------------------------------------------------------------

  private async putAll(photos: Buffer[]): Promise<string[]> {
    const shas: string[] = [];
    for (const p of photos) shas.push((await this.artifacts.put(p, 'photo')).sha256);
    return shas;
  }

  private insertPhotos(memberId: string, shas: string[], at: string): void {
    const ins = this.db.prepare('INSERT OR IGNORE INTO member_photos (sha256, member_id, created_at) VALUES (?, ?, ?)');
    for (const s of shas) ins.run(s, memberId, at);
  }

  private memberRow(id: string): MemberRow | undefined {
    return this.db.prepare('SELECT * FROM members WHERE id = ?').get(id) as MemberRow | undefined;
  }

  private requireMember(id: string): MemberRow {
    const row = this.memberRow(id);
    if (!row) throw new NotFoundError(`no member ${id}`);
    return row;
  }

  private taskRow(id: string): TaskRow | undefined {
    return this.db.prepare('SELECT * FROM laundry_tasks WHERE id = ?').get(id) as TaskRow | undefined;
  }

  /** A retried upload of a known task id: fine from the same device with the same photo, a conflict otherwise. */
  private sameTask(row: TaskRow, deviceId: string, photo: Buffer): { id: string; sha256: string } {
    if (row.device_id !== deviceId) throw new ConflictError(`task ${row.id} was reported by another device`);
    // The store names blobs by their SHA-256: compare without writing a blob.
    if (sha256Hex(photo) !== row.sha256) throw new ConflictError(`task ${row.id} was already reported with another photo`);
    return { id: row.id, sha256: row.sha256 };
  }
}

function normalizeIso(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw invalid('timestamp', [{ path: 'since', message: `${iso} is not an ISO date` }]);
  return new Date(t).toISOString();
}

function taskView(r: TaskRow): LaundryTaskView {
  return {
    id: r.id,
    deviceId: r.device_id,
    branch: r.branch,
    sha256: r.sha256,
    aiResult: r.ai_result,
    aiConfidence: r.ai_confidence,
    modelVersion: r.model_version,
    createdAt: r.created_at,
    status: r.confirmed_at === null ? 'pending' : 'confirmed',
    finalResult: r.final_result,
    corrected: r.corrected === null ? null : r.corrected === 1,
    correctionReason: r.correction_reason,
    confirmedAt: r.confirmed_at,
  };
}

function memberView(r: MemberRow, photos: string[]): MemberView {
  return { id: r.id, name: r.name, branch: r.branch, createdAt: r.created_at, photos };
}
