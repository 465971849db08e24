import { randomUUID } from 'node:crypto';
import { ConflictError } from '@edgeloop/shared';
import { z } from 'zod';
import { type MemberRow, memberRow, memberView, requireMember } from './intake-rows.js';
import type { IntakeContext } from './intake-context.js';
import type { MemberPhoto, MemberView } from './intake-types.js';
import { assertPhotos, branchSchema, invalid, memberIdSchema, parseWithPhotos } from './schemas.js';

const newMemberSchema = z.object({ id: memberIdSchema.optional(), name: z.string().trim().min(1).max(200), branch: branchSchema });

/** The member gallery: members with their enrolment photos, kept in the artifact store by sha256. */
export class MemberGallery {
  constructor(private readonly ctx: IntakeContext) {}

  async add(input: { id?: string | undefined; name: string; branch: string }, photos: Buffer[]): Promise<MemberView> {
    const { db, log, now } = this.ctx;
    const m = await parseWithPhotos(
      newMemberSchema,
      input,
      photos.map((bytes, i) => ({ path: `photos.${i}`, bytes })),
      'member',
    );
    const id = m.id ?? randomUUID();
    if (memberRow(db, id)) throw new ConflictError(`member ${id} already exists`);
    const shas = await this.putAll(photos);
    db.transaction(() => {
      if (memberRow(db, id)) throw new ConflictError(`member ${id} already exists`);
      const at = now().toISOString();
      db.prepare('INSERT INTO members (id, name, branch, created_at) VALUES (?, ?, ?, ?)').run(id, m.name, m.branch, at);
      this.insertPhotos(id, shas, at);
    })();
    log.info({ memberId: id, branch: m.branch, photos: shas.length }, 'member added');
    return this.get(id);
  }

  async addPhotos(id: string, photos: Buffer[]): Promise<MemberView> {
    const { db, now } = this.ctx;
    if (photos.length === 0) throw invalid('member photos', [{ path: 'photos', message: 'at least one photo is needed' }]);
    await assertPhotos(
      photos.map((bytes, i) => ({ path: `photos.${i}`, bytes })),
      'member photos',
    );
    requireMember(db, id);
    const shas = await this.putAll(photos);
    db.transaction(() => {
      requireMember(db, id);
      this.insertPhotos(id, shas, now().toISOString());
    })();
    return this.get(id);
  }

  /**
   * Removes a member with its photos and face samples. Returns the sha256s of those photos that nothing
   * (another member, a face sample, a laundry task) references any more, so the caller can drop them
   * from the gallery and the artifact store.
   */
  delete(id: string): string[] {
    const { db, log } = this.ctx;
    return db.transaction(() => {
      requireMember(db, id);
      const candidates = db
        .prepare('SELECT sha256 FROM member_photos WHERE member_id = ? UNION SELECT sha256 FROM face_samples WHERE member_id = ?')
        .all(id, id) as { sha256: string }[];
      db.prepare('DELETE FROM face_samples WHERE member_id = ?').run(id);
      db.prepare('DELETE FROM member_photos WHERE member_id = ?').run(id);
      db.prepare('DELETE FROM members WHERE id = ?').run(id);
      const stillUsed = db.prepare(
        `SELECT 1 FROM member_photos WHERE sha256 = @s UNION ALL SELECT 1 FROM face_samples WHERE sha256 = @s
         UNION ALL SELECT 1 FROM laundry_tasks WHERE sha256 = @s LIMIT 1`,
      );
      const unreferenced = candidates.map((c) => c.sha256).filter((s) => stillUsed.get({ s }) === undefined);
      log.info({ memberId: id, unreferenced: unreferenced.length }, 'member deleted');
      return unreferenced.sort();
    })();
  }

  list(): MemberView[] {
    const { db } = this.ctx;
    const rows = db.prepare('SELECT * FROM members ORDER BY id').all() as MemberRow[];
    const photos = db.prepare('SELECT member_id, sha256 FROM member_photos ORDER BY created_at, sha256').all() as {
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

  get(id: string): MemberView {
    const row = requireMember(this.ctx.db, id);
    return memberView(
      row,
      this.photos(id).map((p) => p.sha256),
    );
  }

  photos(id: string): MemberPhoto[] {
    requireMember(this.ctx.db, id);
    return (
      this.ctx.db.prepare('SELECT sha256, created_at FROM member_photos WHERE member_id = ? ORDER BY created_at, sha256').all(id) as {
        sha256: string;
        created_at: string;
      }[]
    ).map((r) => ({ sha256: r.sha256, createdAt: r.created_at }));
  }

  private async putAll(photos: Buffer[]): Promise<string[]> {
    const shas: string[] = [];
    for (const p of photos) shas.push((await this.ctx.artifacts.put(p, 'photo')).sha256);
    return shas;
  }

  private insertPhotos(memberId: string, shas: string[], at: string): void {
    const ins = this.ctx.db.prepare('INSERT OR IGNORE INTO member_photos (sha256, member_id, created_at) VALUES (?, ?, ?)');
    for (const s of shas) ins.run(s, memberId, at);
  }
}
