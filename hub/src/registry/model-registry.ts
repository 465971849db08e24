import {
  canonicalize,
  ConflictError,
  type FaceSpec,
  type Manifest,
  type ManifestFile,
  manifestSchema,
  type ModelType,
  NotFoundError,
  type PreprocessSpec,
  type SignedManifest,
  signEnvelope,
} from '@edgeloop/shared';
import type { Db } from '../store/db.js';
import type { ArtifactStore } from './artifact-store.js';
import type { KeyStore } from './key-store.js';

export const VERSION_STATUSES = ['candidate', 'verified', 'rejected', 'canary', 'active', 'retired', 'rolled-back'] as const;
export type VersionStatus = (typeof VERSION_STATUSES)[number];

export interface NewVersion {
  modelType: ModelType;
  label: string;
  files: { name: string; role: ManifestFile['role']; bytes: Uint8Array }[];
  preprocess: PreprocessSpec;
  labels: string[];
  metrics: Record<string, number>;
  parentVersion: number | null;
  evidenceSha256: string | null;
  status: VersionStatus;
  /** Face bundles: detector, crop and threshold (with `detector` and `gallery` files). */
  face?: FaceSpec;
}

export interface VersionRecord {
  modelType: ModelType;
  version: number;
  label: string;
  status: VersionStatus;
  createdAt: string;
  signed: SignedManifest;
}

interface Row {
  model_type: ModelType;
  version: number;
  label: string;
  status: VersionStatus;
  manifest_json: string;
  key_id: string;
  signature: string;
  created_at: string;
}

/** Model versions per type: stores files content-addressed, signs each manifest once at registration. */
export class ModelRegistry {
  constructor(
    private readonly db: Db,
    private readonly artifacts: ArtifactStore,
    private readonly keys: KeyStore,
    private readonly manifestTtlMs: number,
    private readonly retention: { keepVersions: number; inUse: (modelType: ModelType) => ReadonlySet<number> } = { keepVersions: 10, inUse: () => new Set() },
    private readonly now: () => Date = () => new Date(),
  ) {}

  async register(input: NewVersion): Promise<VersionRecord> {
    const files: ManifestFile[] = [];
    for (const f of input.files) {
      const { sha256, size } = await this.artifacts.put(f.bytes);
      files.push({ name: f.name, role: f.role, sha256, size });
    }
    const created = this.now();
    const record = this.db.transaction(() => {
      const version = this.latestVersionNumber(input.modelType) + 1;
      const manifest: Manifest = manifestSchema.parse({
        schema: 'edgeloop.manifest/v1',
        modelType: input.modelType,
        version,
        label: input.label,
        files,
        preprocess: input.preprocess,
        labels: input.labels,
        createdAt: created.toISOString(),
        expiresAt: new Date(created.getTime() + this.manifestTtlMs).toISOString(),
        keyId: this.keys.signing.keyId,
        metrics: input.metrics,
        parentVersion: input.parentVersion,
        evidenceSha256: input.evidenceSha256,
        ...(input.face ? { face: input.face } : {}),
      });
      const signed = signEnvelope(manifest, this.keys.signing);
      this.db
        .prepare(
          `INSERT INTO model_versions (model_type, version, label, status, manifest_json, key_id, signature, parent_version, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(input.modelType, version, input.label, input.status, canonicalize(manifest), signed.keyId, signed.signature, input.parentVersion, manifest.createdAt);
      return { modelType: input.modelType, version, label: input.label, status: input.status, createdAt: manifest.createdAt, signed };
    })();
    await this.prune(input.modelType, this.retention.keepVersions, this.retention.inUse(input.modelType));
    return record;
  }

  /** Re-signs, with the current key, every manifest signed by one of `keyIds` (after a revocation). Returns how many. */
  resignManifests(keyIds: readonly string[]): number {
    const rows = this.db.prepare(`SELECT * FROM model_versions WHERE key_id IN (${keyIds.map(() => '?').join(',') || "''"})`).all(...keyIds) as Row[];
    const update = this.db.prepare('UPDATE model_versions SET manifest_json = ?, key_id = ?, signature = ? WHERE model_type = ? AND version = ?');
    this.db.transaction(() => {
      for (const row of rows) {
        const manifest: Manifest = { ...manifestSchema.parse(JSON.parse(row.manifest_json)), keyId: this.keys.signing.keyId };
        const signed = signEnvelope(manifest, this.keys.signing);
        update.run(canonicalize(manifest), signed.keyId, signed.signature, row.model_type, row.version);
      }
    })();
    return rows.length;
  }

  setPinned(modelType: ModelType, version: number, pinned: boolean): void {
    this.get(modelType, version);
    this.db.prepare('UPDATE model_versions SET pinned = ? WHERE model_type = ? AND version = ?').run(pinned ? 1 : 0, modelType, version);
  }

  /**
   * Keeps the newest `keep` versions of a type, plus pinned ones, the active and canary ones and any
   * a device is told to run; deletes the rest and the model files no remaining version uses.
   * Returns the versions pruned.
   */
  async prune(modelType: ModelType, keep: number, inUse: ReadonlySet<number>): Promise<number[]> {
    const rows = this.db.prepare('SELECT * FROM model_versions WHERE model_type = ? ORDER BY version DESC').all(modelType) as (Row & { pinned: number })[];
    const doomed = rows.slice(keep).filter((r) => r.pinned === 0 && r.status !== 'active' && r.status !== 'canary' && !inUse.has(r.version));
    if (doomed.length === 0) return [];
    const files = (r: Row) => manifestSchema.parse(JSON.parse(r.manifest_json)).files.map((f) => f.sha256);
    this.db.transaction(() => {
      for (const r of doomed) this.db.prepare('DELETE FROM model_versions WHERE model_type = ? AND version = ?').run(r.model_type, r.version);
    })();
    const stillUsed = new Set(
      (this.db.prepare('SELECT manifest_json FROM model_versions').all() as Row[]).flatMap((r) => files(r)),
    );
    for (const sha of new Set(doomed.flatMap(files))) if (!stillUsed.has(sha)) await this.artifacts.remove(sha);
    return doomed.map((r) => r.version);
  }

  /** Registers a single-network version (network file, preprocessing and labels). */
  registerNetwork(
    net: { modelType: ModelType; onnx: Uint8Array; preprocess: PreprocessSpec; labels: string[] },
    meta: { label: string; status: VersionStatus; parentVersion?: number | null; metrics?: Record<string, number>; evidenceSha256?: string | null },
  ): Promise<VersionRecord> {
    return this.register({
      modelType: net.modelType,
      label: meta.label,
      files: [{ name: 'network.onnx', role: 'network', bytes: net.onnx }],
      preprocess: net.preprocess,
      labels: net.labels,
      metrics: meta.metrics ?? {},
      parentVersion: meta.parentVersion ?? null,
      evidenceSha256: meta.evidenceSha256 ?? null,
      status: meta.status,
    });
  }

  latestVersionNumber(modelType: ModelType): number {
    const row = this.db.prepare('SELECT MAX(version) AS v FROM model_versions WHERE model_type = ?').get(modelType) as { v: number | null };
    return row.v ?? 0;
  }

  get(modelType: ModelType, version: number): VersionRecord {
    const row = this.db.prepare('SELECT * FROM model_versions WHERE model_type = ? AND version = ?').get(modelType, version) as Row | undefined;
    if (!row) throw new NotFoundError(`no ${modelType} model version ${version}`);
    return toRecord(row);
  }

  list(modelType: ModelType): VersionRecord[] {
    const rows = this.db.prepare('SELECT * FROM model_versions WHERE model_type = ? ORDER BY version DESC').all(modelType) as Row[];
    return rows.map(toRecord);
  }

  /** True when that registered version lists the file (by sha256) in its manifest. */
  versionHasFile(modelType: ModelType, version: number, sha256: string): boolean {
    const row = this.db
      .prepare(
        "SELECT 1 FROM model_versions, json_each(model_versions.manifest_json, '$.files') AS f WHERE model_type = ? AND version = ? AND json_extract(f.value, '$.sha256') = ? LIMIT 1",
      )
      .get(modelType, version, sha256);
    return row !== undefined;
  }

  /** The version the fleet of this type should run when no rollout says otherwise. */
  active(modelType: ModelType): VersionRecord | null {
    const row = this.db
      .prepare("SELECT * FROM model_versions WHERE model_type = ? AND status = 'active' ORDER BY version DESC LIMIT 1")
      .get(modelType) as Row | undefined;
    return row ? toRecord(row) : null;
  }

  setStatus(modelType: ModelType, version: number, status: VersionStatus): void {
    const current = this.get(modelType, version);
    if (current.status === 'rejected' && status === 'active') throw new ConflictError('a rejected version cannot become active');
    this.db.transaction(() => {
      if (status === 'active') {
        this.db.prepare("UPDATE model_versions SET status = 'retired' WHERE model_type = ? AND status = 'active'").run(modelType);
      }
      this.db.prepare('UPDATE model_versions SET status = ? WHERE model_type = ? AND version = ?').run(status, modelType, version);
    })();
  }
}

function toRecord(row: Row): VersionRecord {
  const manifest = manifestSchema.parse(JSON.parse(row.manifest_json));
  return {
    modelType: row.model_type,
    version: row.version,
    label: row.label,
    status: row.status,
    createdAt: row.created_at,
    signed: { signed: manifest, keyId: row.key_id, signature: row.signature },
  };
}
