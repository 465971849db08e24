import { ConflictError, type DeviceRole, type Logger, UnauthorizedError } from '@edgeloop/shared';
import type { Db } from '../store/db.js';
import { hashSecret, newSecret } from './credentials.js';
import type { FleetService } from './fleet-service.js';

export interface EnrolmentToken {
  token: string;
  role: DeviceRole;
  branch: string;
  deviceId: string | null;
  expiresAt: string;
}

interface TokenRow {
  token_hash: string;
  role: DeviceRole;
  branch: string;
  device_id: string | null;
  expires_at: string;
  used_at: string | null;
}

/**
 * One-time enrolment: an admin issues a token (kept only as a hash) for a role and branch; a new
 * device presents it once and receives its own MQTT credentials.
 */
export class EnrolmentService {
  constructor(
    private readonly db: Db,
    private readonly fleet: FleetService,
    private readonly log: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  createToken(input: { role: DeviceRole; branch: string; deviceId?: string; ttlHours: number }): EnrolmentToken {
    const token = newSecret();
    const created = this.now();
    const expiresAt = new Date(created.getTime() + input.ttlHours * 3_600_000).toISOString();
    this.db
      .prepare('INSERT INTO enrolment_tokens (token_hash, role, branch, device_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(hashSecret(token), input.role, input.branch, input.deviceId ?? null, created.toISOString(), expiresAt);
    this.log.info({ role: input.role, branch: input.branch, deviceId: input.deviceId ?? null, expiresAt }, 'enrolment token issued');
    return { token, role: input.role, branch: input.branch, deviceId: input.deviceId ?? null, expiresAt };
  }

  /** Spends a token: returns the device's credentials, or refuses (unknown, used, expired, other device). */
  enrol(token: string, deviceId: string): { deviceId: string; password: string; role: DeviceRole; branch: string } {
    return this.db.transaction(() => {
      const row = this.db.prepare('SELECT * FROM enrolment_tokens WHERE token_hash = ?').get(hashSecret(token)) as TokenRow | undefined;
      if (!row) throw new UnauthorizedError('unknown enrolment token');
      if (row.used_at) throw new UnauthorizedError('enrolment token already used');
      if (Date.parse(row.expires_at) <= this.now().getTime()) throw new UnauthorizedError('enrolment token expired');
      if (row.device_id && row.device_id !== deviceId) throw new UnauthorizedError('enrolment token is for another device');
      if (this.fleet.exists(deviceId)) throw new ConflictError(`device ${deviceId} is already enrolled`);
      const creds = this.fleet.issueCredentials({ id: deviceId, role: row.role, branch: row.branch });
      this.db.prepare('UPDATE enrolment_tokens SET used_at = ?, used_by = ? WHERE token_hash = ?').run(this.now().toISOString(), deviceId, row.token_hash);
      return { ...creds, role: row.role, branch: row.branch };
    })();
  }
}
