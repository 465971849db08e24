import { createReadStream, existsSync } from 'node:fs';
import { mkdir, rename, stat, rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { fsyncDir, IntegrityError, type ManifestFile, sha256Hex, writeFileAtomic } from '@edgeloop/shared';

/**
 * Installed model files by content: `blobs/<sha256>`. A blob only ever appears there by rename
 * after its hash and size were checked and the bytes fsynced, so what is there is always whole.
 */
export class ContentStore {
  readonly blobDir: string;
  readonly partialDir: string;

  constructor(dataDir: string) {
    this.blobDir = join(dataDir, 'blobs');
    this.partialDir = join(dataDir, 'partial');
  }

  async init(): Promise<void> {
    await mkdir(this.blobDir, { recursive: true });
    await mkdir(this.partialDir, { recursive: true });
  }

  pathOf(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new IntegrityError(`not a sha256: ${sha256}`);
    return join(this.blobDir, sha256);
  }

  partialPathOf(sha256: string): string {
    return join(this.partialDir, `${sha256}.part`);
  }

  has(file: Pick<ManifestFile, 'sha256'>): boolean {
    return existsSync(this.pathOf(file.sha256));
  }

  /** Stores bytes already in memory (a sideloaded bundle) after checking them against the manifest entry. */
  async putVerified(file: ManifestFile, bytes: Buffer): Promise<void> {
    if (bytes.length !== file.size) throw new IntegrityError(`${file.name} has ${bytes.length} bytes, manifest says ${file.size}`);
    if (sha256Hex(bytes) !== file.sha256) throw new IntegrityError(`${file.name} does not match its sha256`);
    if (!this.has(file)) await writeFileAtomic(this.pathOf(file.sha256), bytes);
  }

  /** Moves a fully checked partial file into the store. */
  async commit(sha256: string): Promise<void> {
    await rename(this.partialPathOf(sha256), this.pathOf(sha256));
    await fsyncDir(this.blobDir);
  }

  /** Re-hashes a stored blob (boot-time check that nothing rotted or was tampered with). */
  async verify(file: Pick<ManifestFile, 'sha256' | 'size'>): Promise<void> {
    const path = this.pathOf(file.sha256);
    const st = await stat(path).catch(() => null);
    if (!st) throw new IntegrityError(`file ${file.sha256} is not installed`);
    if (st.size !== file.size) {
      await rm(path, { force: true });
      throw new IntegrityError(`file ${file.sha256} has ${st.size} bytes, expected ${file.size}; removed`);
    }
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    if (hash.digest('hex') !== file.sha256) {
      await rm(path, { force: true });
      throw new IntegrityError(`file ${file.sha256} does not match its hash; removed`);
    }
  }
}
