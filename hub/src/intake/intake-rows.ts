import { NotFoundError } from '@edgeloop/shared';
import type { Db } from '../store/db.js';
import type { LaundryTaskView, MemberView } from './intake-types.js';
import { invalid, type LaundryResult } from './schemas.js';

/** A row of `laundry_tasks`. */
export interface TaskRow {
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

/** A row of `members`. */
export interface MemberRow {
  id: string;
  name: string;
  branch: string;
  created_at: string;
}

export function memberRow(db: Db, id: string): MemberRow | undefined {
  return db.prepare('SELECT * FROM members WHERE id = ?').get(id) as MemberRow | undefined;
}

export function requireMember(db: Db, id: string): MemberRow {
  const row = memberRow(db, id);
  if (!row) throw new NotFoundError(`no member ${id}`);
  return row;
}

export function taskRow(db: Db, id: string): TaskRow | undefined {
  return db.prepare('SELECT * FROM laundry_tasks WHERE id = ?').get(id) as TaskRow | undefined;
}

export function normalizeIso(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw invalid('timestamp', [{ path: 'since', message: `${iso} is not an ISO date` }]);
  return new Date(t).toISOString();
}

export function taskView(r: TaskRow): LaundryTaskView {
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

export function memberView(r: MemberRow, photos: string[]): MemberView {
  return { id: r.id, name: r.name, branch: r.branch, createdAt: r.created_at, photos };
}
