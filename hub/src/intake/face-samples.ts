import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { requireMember } from './intake-rows.js';
import type { IntakeContext } from './intake-context.js';
import type { FaceSampleInput } from './intake-types.js';
import { faceScoreSchema, memberIdSchema, modelVersionSchema, parseWithPhotos } from './schemas.js';

const faceSampleSchema = z.object({ memberId: memberIdSchema, score: faceScoreSchema, modelVersion: modelVersionSchema });

/** Face samples: successful authentications reported by door agents, kept for training within a retention period. */
export class FaceSamples {
  constructor(
    private readonly ctx: IntakeContext,
    private readonly retentionMs: number,
  ) {}

  /** A successful face authentication reported by a door agent, with the photo it matched on. */
  async add(deviceId: string, input: FaceSampleInput): Promise<{ id: string; sha256: string }> {
    const { db, artifacts, now } = this.ctx;
    const s = await parseWithPhotos(faceSampleSchema, input, [{ path: 'photo', bytes: input.photo }], 'face sample');
    requireMember(db, s.memberId);
    const { sha256 } = await artifacts.put(input.photo, 'photo');
    const id = randomUUID();
    // Synchronous: nothing runs between the second member check and the insert.
    db.transaction(() => {
      requireMember(db, s.memberId);
      db.prepare('INSERT INTO face_samples (id, device_id, member_id, sha256, score, model_version, at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
        id,
        deviceId,
        s.memberId,
        sha256,
        s.score,
        s.modelVersion,
        now().toISOString(),
      );
    })();
    return { id, sha256 };
  }

  /** The newest face samples (successful authentications), for training. */
  list(limit: number): { id: string; memberId: string; sha256: string; score: number; at: string }[] {
    return (
      this.ctx.db.prepare('SELECT id, member_id, sha256, score, at FROM face_samples ORDER BY at DESC, id LIMIT ?').all(limit) as {
        id: string;
        member_id: string;
        sha256: string;
        score: number;
        at: string;
      }[]
    ).map((r) => ({ id: r.id, memberId: r.member_id, sha256: r.sha256, score: r.score, at: r.at }));
  }

  /** Deletes face samples older than the retention period; returns how many. */
  prune(): number {
    const cutoff = new Date(this.ctx.now().getTime() - this.retentionMs).toISOString();
    const n = this.ctx.db.prepare('DELETE FROM face_samples WHERE at < ?').run(cutoff).changes;
    if (n > 0) this.ctx.log.info({ removed: n, cutoff }, 'face samples pruned');
    return n;
  }
}
