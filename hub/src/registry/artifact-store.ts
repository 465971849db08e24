import { existsSync } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { IntegrityError, sha256Hex, writeFileAtomic } from '@edgeloop/shared';
import type { Db } from '../store/db.js';

/** Model files stored by content: `<dataDir>/artifacts/<sha256>`. Identical files are stored once. */
export class ArtifactStore {
  private readonly dir: string;
  constructor(
    dataDir: string,
    private readonly db: Db,
  ) {
    this.dir = join(dataDir, 'artifacts');
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  pathOf(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new IntegrityError('not a sha256');
    return join(this.dir, sha256);
  }

  /** Stores bytes by content. `kind` 'model' files are served to devices; 'photo' files never leave the hub. */
  async put(bytes: Uint8Array, kind: 'model' | 'photo' = 'model'): Promise<{ sha256: string; size: number }> {
    const sha256 = sha256Hex(bytes);
    const path = this.pathOf(sha256);
    if (!existsSync(path)) await writeFileAtomic(path, bytes);
    this.db
      .prepare('INSERT OR IGNORE INTO artifacts (sha256, size, created_at, kind) VALUES (?, ?, ?, ?)')
      .run(sha256, bytes.length, new Date().toISOString(), kind);
    return { sha256, size: bytes.length };
  }

  /** True for model files devices may download. */
  isServable(sha256: string): boolean {
    const row = this.db.prepare('SELECT kind FROM artifacts WHERE sha256 = ?').get(sha256) as { kind: string } | undefined;
    return row?.kind === 'model';
  }

  /** Deletes a stored file (its last user is gone). */
  async remove(sha256: string): Promise<void> {
    await rm(this.pathOf(sha256), { force: true });
    this.db.prepare('DELETE FROM artifacts WHERE sha256 = ?').run(sha256);
  }

  async has(sha256: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(sha256))).isFile();
    } catch {
      return false;
    }
  }
}
