import { existsSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
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

  async put(bytes: Uint8Array): Promise<{ sha256: string; size: number }> {
    const sha256 = sha256Hex(bytes);
    const path = this.pathOf(sha256);
    if (!existsSync(path)) await writeFileAtomic(path, bytes);
    this.db
      .prepare('INSERT OR IGNORE INTO artifacts (sha256, size, created_at) VALUES (?, ?, ?)')
      .run(sha256, bytes.length, new Date().toISOString());
    return { sha256, size: bytes.length };
  }

  async has(sha256: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(sha256))).isFile();
    } catch {
      return false;
    }
  }
}
