import {
  ConflictError,
  type DesiredState,
  type DeviceEvent,
  type DeviceRole,
  type DeviceState,
  type Logger,
  type ModelType,
  NotFoundError,
  type SignedManifest,
  signEnvelope,
  type Telemetry,
} from '@edgeloop/shared';
import type { HubBroker } from '../broker/broker.js';
import type { KeyStore } from '../registry/key-store.js';
import type { Db } from '../store/db.js';
import { hashSecret, newSecret, secretMatches } from './credentials.js';

export interface DeviceView {
  id: string;
  role: DeviceRole;
  branch: string;
  status: string;
  lastSeen: string | null;
  revoked: boolean;
  desiredRevision: number;
  desired: Partial<Record<ModelType, { version: number; rollback: boolean }>>;
  reported: DeviceState | null;
  telemetry: Telemetry | null;
}

interface DeviceRow {
  id: string;
  role: DeviceRole;
  branch: string;
  credential_hash: string | null;
  revoked: number;
  status: string;
  last_seen: string | null;
  reported_json: string | null;
  desired_json: string | null;
  desired_revision: number;
}

export interface FleetOptions {
  db: Db;
  keys: KeyStore;
  log: Logger;
  desiredTtlMs: number;
  /** Health reports kept per device. */
  healthHistory?: number;
  now?: () => Date;
}

/** Devices, their credentials, the desired state the hub signs for each, and what each reports. */
export class FleetService {
  private broker: HubBroker | null = null;
  private readonly telemetry = new Map<string, Telemetry>();
  private readonly now: () => Date;

  constructor(private readonly opts: FleetOptions) {
    this.now = opts.now ?? (() => new Date());
  }

  attachBroker(broker: HubBroker): void {
    this.broker = broker;
  }

  /** Registers a device (or re-issues its secret) and returns the secret once; only its hash is kept. */
  issueCredentials(input: { id: string; role: DeviceRole; branch: string }): { deviceId: string; password: string } {
    const password = newSecret();
    const existing = this.row(input.id);
    if (existing && existing.role !== input.role) {
      throw new ConflictError(`device ${input.id} is already enrolled as ${existing.role}`);
    }
    this.opts.db
      .prepare(
        `INSERT INTO devices (id, role, branch, credential_hash, created_at) VALUES (@id, @role, @branch, @hash, @now)
         ON CONFLICT(id) DO UPDATE SET credential_hash = @hash, branch = @branch, revoked = 0`,
      )
      .run({ id: input.id, role: input.role, branch: input.branch, hash: hashSecret(password), now: this.now().toISOString() });
    this.opts.log.info({ deviceId: input.id, role: input.role }, 'device credentials issued');
    return { deviceId: input.id, password };
  }

  exists(deviceId: string): boolean {
    return this.row(deviceId) !== undefined;
  }

  /** Revokes a device: its credentials stop working and its retained desired state is cleared. */
  async revoke(deviceId: string): Promise<void> {
    if (!this.row(deviceId)) throw new NotFoundError(`no device ${deviceId}`);
    this.opts.db.prepare("UPDATE devices SET revoked = 1, credential_hash = NULL, status = 'revoked' WHERE id = ?").run(deviceId);
    this.broker?.disconnect(deviceId);
    await this.broker?.clearRetained('desired', deviceId);
    this.opts.log.warn({ deviceId }, 'device revoked');
  }

  /** Versions of a model type that some device is told to run (never pruned). */
  versionsInUse(modelType: ModelType): Set<number> {
    const rows = this.opts.db.prepare('SELECT desired_json FROM devices WHERE desired_json IS NOT NULL').all() as { desired_json: string }[];
    const out = new Set<number>();
    for (const r of rows) {
      const v = (JSON.parse(r.desired_json) as DesiredState).models[modelType]?.manifest.signed.version;
      if (v !== undefined) out.add(v);
    }
    return out;
  }

  /** Health history, newest first. */
  health(deviceId: string, limit: number): Telemetry[] {
    const rows = this.opts.db.prepare('SELECT telemetry_json FROM device_health WHERE device_id = ? ORDER BY id DESC LIMIT ?').all(deviceId, limit) as { telemetry_json: string }[];
    return rows.map((r) => JSON.parse(r.telemetry_json) as Telemetry);
  }

  authenticate(deviceId: string, password: string): boolean {
    const row = this.row(deviceId);
    return !!row && row.revoked === 0 && !!row.credential_hash && secretMatches(password, row.credential_hash);
  }

  list(): DeviceView[] {
    const rows = this.opts.db.prepare('SELECT * FROM devices ORDER BY id').all() as DeviceRow[];
    return rows.map((r) => this.view(r));
  }

  get(deviceId: string): DeviceView {
    const row = this.row(deviceId);
    if (!row) throw new NotFoundError(`no device ${deviceId}`);
    return this.view(row);
  }

  idsByRole(role: DeviceRole): string[] {
    return (this.opts.db.prepare('SELECT id FROM devices WHERE role = ? AND revoked = 0 ORDER BY id').all(role) as { id: string }[]).map((r) => r.id);
  }

  /** Sets one model slot of a device's desired state, signs the whole state and publishes it retained. */
  async setDesiredModel(deviceId: string, modelType: ModelType, manifest: SignedManifest, rollback = false): Promise<DesiredState> {
    const row = this.row(deviceId);
    if (!row) throw new NotFoundError(`no device ${deviceId}`);
    const previous = row.desired_json ? (JSON.parse(row.desired_json) as DesiredState) : null;
    const issued = this.now();
    const desired: DesiredState = {
      deviceId,
      revision: row.desired_revision + 1,
      issuedAt: issued.toISOString(),
      expiresAt: new Date(issued.getTime() + this.opts.desiredTtlMs).toISOString(),
      models: { ...(previous?.models ?? {}), [modelType]: { manifest, rollback } },
    };
    this.opts.db
      .prepare('UPDATE devices SET desired_json = ?, desired_revision = ? WHERE id = ?')
      .run(JSON.stringify(desired), desired.revision, deviceId);
    await this.publishDesired(desired);
    return desired;
  }

  /**
   * Rebuilds every device's desired state with the registry's current signed manifests (after a
   * key revocation re-signed them) and publishes it under a new revision.
   */
  async refreshManifests(current: (modelType: ModelType, version: number) => SignedManifest): Promise<number> {
    const rows = this.opts.db.prepare('SELECT id, desired_json FROM devices WHERE desired_json IS NOT NULL AND revoked = 0').all() as { id: string; desired_json: string }[];
    for (const r of rows) {
      const desired = JSON.parse(r.desired_json) as DesiredState;
      for (const [type, m] of Object.entries(desired.models)) {
        if (m) await this.setDesiredModel(r.id, type as ModelType, current(type as ModelType, m.manifest.signed.version), m.rollback);
      }
    }
    return rows.length;
  }

  /** Re-publishes every stored desired state (the broker keeps retained messages in memory only). */
  async republishAll(): Promise<void> {
    const rows = this.opts.db.prepare('SELECT desired_json FROM devices WHERE desired_json IS NOT NULL AND revoked = 0').all() as { desired_json: string }[];
    for (const r of rows) await this.publishDesired(JSON.parse(r.desired_json) as DesiredState);
  }

  private async publishDesired(desired: DesiredState): Promise<void> {
    if (!this.broker) return;
    await this.broker.publish('desired', desired.deviceId, signEnvelope(desired, this.opts.keys.signing));
  }

  onState(deviceId: string, state: DeviceState): void {
    const at = this.now().toISOString();
    if (state.status === 'offline') {
      this.opts.db.prepare("UPDATE devices SET status = 'offline', last_seen = ? WHERE id = ? AND revoked = 0").run(at, deviceId);
    } else {
      this.opts.db
        .prepare("UPDATE devices SET status = 'online', last_seen = ?, reported_json = ? WHERE id = ? AND revoked = 0")
        .run(at, JSON.stringify(state), deviceId);
    }
    this.opts.log.info({ deviceId, status: state.status, models: state.status === 'online' ? state.models : undefined }, 'device state');
  }

  onTelemetry(deviceId: string, t: Telemetry): void {
    this.telemetry.set(deviceId, t);
    const db = this.opts.db;
    db.prepare('UPDATE devices SET last_seen = ? WHERE id = ?').run(this.now().toISOString(), deviceId);
    db.prepare('INSERT INTO device_health (device_id, at, telemetry_json) VALUES (?, ?, ?)').run(deviceId, t.at, JSON.stringify(t));
    // Bounded retention: the newest `healthHistory` rows per device.
    db.prepare(
      'DELETE FROM device_health WHERE device_id = ? AND id <= (SELECT id FROM device_health WHERE device_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)',
    ).run(deviceId, deviceId, this.opts.healthHistory ?? 1000);
  }

  /** Stores a device event once: redelivery of the same id is ignored. Returns true when new. */
  onEvent(deviceId: string, e: DeviceEvent): boolean {
    const res = this.opts.db
      .prepare(
        `INSERT OR IGNORE INTO device_events (event_id, device_id, type, model_type, version, at, received_at, data_json)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(e.id, deviceId, e.type, e.modelType, e.version, e.at, this.now().toISOString(), JSON.stringify(e.data));
    if (res.changes > 0 && e.type !== 'inference') this.opts.log.info({ deviceId, type: e.type, data: e.data }, 'device event');
    return res.changes > 0;
  }

  private row(id: string): DeviceRow | undefined {
    return this.opts.db.prepare('SELECT * FROM devices WHERE id = ?').get(id) as DeviceRow | undefined;
  }

  private view(r: DeviceRow): DeviceView {
    const desired = r.desired_json ? (JSON.parse(r.desired_json) as DesiredState) : null;
    const desiredModels: DeviceView['desired'] = {};
    for (const [type, m] of Object.entries(desired?.models ?? {})) {
      if (m) desiredModels[type as ModelType] = { version: m.manifest.signed.version, rollback: m.rollback };
    }
    return {
      id: r.id,
      role: r.role,
      branch: r.branch,
      status: r.status,
      lastSeen: r.last_seen,
      revoked: r.revoked === 1,
      desiredRevision: r.desired_revision,
      desired: desiredModels,
      reported: r.reported_json ? (JSON.parse(r.reported_json) as DeviceState) : null,
      telemetry: this.telemetry.get(r.id) ?? null,
    };
  }
}
