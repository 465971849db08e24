import type { Logger } from '@edgeloop/shared';
import type { ArtifactStore } from '../registry/artifact-store.js';
import type { Db } from '../store/db.js';
import type { LaundryResult } from './schemas.js';

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
