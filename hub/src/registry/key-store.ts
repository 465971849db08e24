import { chmod } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import { join } from 'node:path';
import {
  ConflictError,
  generateSigningKeyPair,
  type KeyCertificate,
  keyIdOf,
  NotFoundError,
  type SignedKeyCertificate,
  type SignedKeySet,
  signEnvelope,
  type SigningKey,
  writeFileAtomic,
} from '@edgeloop/shared';
import type { Db } from '../store/db.js';

export interface PublicKeyInfo {
  keyId: string;
  role: 'signing';
  status: 'active' | 'retired' | 'revoked';
  publicKeyPem: string;
  certificate: SignedKeyCertificate;
}

interface KeyRow {
  key_id: string;
  public_key_pem: string;
  certificate_json: string;
  status: PublicKeyInfo['status'];
}

/**
 * TUF-like keys: a root key (its public part goes into device images) certifies online signing
 * keys. Signing keys rotate without reflashing devices and can be revoked; the root-signed key set
 * tells devices which to trust. Private keys live in `<dataDir>/keys` with mode 0600.
 */
export class KeyStore {
  private current!: SigningKey;

  private constructor(
    private readonly db: Db,
    private readonly dir: string,
    readonly root: SigningKey,
    private readonly certTtlMs: number,
  ) {}

  static async open(dataDir: string, db: Db, opts: { certTtlDays?: number } = {}): Promise<KeyStore> {
    const dir = join(dataDir, 'keys');
    const root = await loadOrCreate(dir, 'root');
    const store = new KeyStore(db, dir, root, (opts.certTtlDays ?? 3650) * 86_400_000);
    const active = db.prepare("SELECT key_id FROM signing_keys WHERE status = 'active' ORDER BY created_at DESC LIMIT 1").get() as { key_id: string } | undefined;
    if (active) store.current = await loadOrCreate(dir, `signing-${active.key_id}`);
    else await store.rotate();
    return store;
  }

  /** The key that signs new manifests and desired states. */
  get signing(): SigningKey {
    return this.current;
  }

  /** Creates a new signing key certified by root; the previous one stays trusted (retired) unless revoked. */
  async rotate(): Promise<PublicKeyInfo> {
    const pair = generateSigningKeyPair();
    const key = await loadOrCreate(this.dir, `signing-${pair.keyId}`, pair);
    const now = new Date();
    const cert: KeyCertificate = {
      keyId: key.keyId,
      publicKeyPem: key.publicKeyPem,
      role: 'signing',
      issuedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + this.certTtlMs).toISOString(),
    };
    const signed = signEnvelope(cert, this.root);
    this.db.transaction(() => {
      this.db.prepare("UPDATE signing_keys SET status = 'retired' WHERE status = 'active'").run();
      this.db
        .prepare("INSERT INTO signing_keys (key_id, public_key_pem, certificate_json, status, created_at) VALUES (?, ?, ?, 'active', ?)")
        .run(key.keyId, key.publicKeyPem, JSON.stringify(signed), now.toISOString());
    })();
    this.current = key;
    return this.info(key.keyId);
  }

  /** Revokes a signing key. Revoking the active key rotates to a new one first. */
  async revoke(keyId: string): Promise<void> {
    const row = this.row(keyId);
    if (row.status === 'revoked') throw new ConflictError(`key ${keyId} is already revoked`);
    if (keyId === this.current.keyId) await this.rotate();
    this.db.prepare("UPDATE signing_keys SET status = 'revoked', revoked_at = ? WHERE key_id = ?").run(new Date().toISOString(), keyId);
  }

  isRevoked(keyId: string): boolean {
    return this.row(keyId).status === 'revoked';
  }

  publicKeys(): PublicKeyInfo[] {
    const rows = this.db.prepare('SELECT * FROM signing_keys ORDER BY created_at').all() as KeyRow[];
    return rows.map(toInfo);
  }

  /** The root-signed set of trusted and revoked signing keys; its version only grows. */
  keySet(): SignedKeySet {
    const rows = this.db.prepare('SELECT * FROM signing_keys ORDER BY created_at').all() as (KeyRow & { revoked_at: string | null })[];
    const version = rows.length + rows.filter((r) => r.revoked_at !== null).length;
    return signEnvelope(
      {
        version,
        issuedAt: new Date().toISOString(),
        certificates: rows.filter((r) => r.status !== 'revoked').map((r) => JSON.parse(r.certificate_json) as SignedKeyCertificate),
        revoked: rows.filter((r) => r.status === 'revoked').map((r) => r.key_id),
      },
      this.root,
    );
  }

  private info(keyId: string): PublicKeyInfo {
    return toInfo(this.row(keyId));
  }

  private row(keyId: string): KeyRow {
    const row = this.db.prepare('SELECT * FROM signing_keys WHERE key_id = ?').get(keyId) as KeyRow | undefined;
    if (!row) throw new NotFoundError(`no signing key ${keyId}`);
    return row;
  }
}

function toInfo(r: KeyRow): PublicKeyInfo {
  return { keyId: r.key_id, role: 'signing', status: r.status, publicKeyPem: r.public_key_pem, certificate: JSON.parse(r.certificate_json) as SignedKeyCertificate };
}

async function loadOrCreate(dir: string, name: string, pair = generateSigningKeyPair()): Promise<SigningKey> {
  const privPath = join(dir, `${name}.key.pem`);
  const pubPath = join(dir, `${name}.pub.pem`);
  if (!existsSync(privPath)) {
    await writeFileAtomic(pubPath, pair.publicKeyPem);
    await writeFileAtomic(privPath, pair.privateKeyPem);
    await chmod(privPath, 0o600);
  }
  const publicKeyPem = readFileSync(pubPath, 'utf8');
  return { keyId: keyIdOf(publicKeyPem), privateKey: createPrivateKey(readFileSync(privPath, 'utf8')), publicKeyPem };
}
