import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { type DeviceEvent, deviceEventSchema, errorMessage, type Logger, ValidationError } from '@edgeloop/shared';

export interface OutboxOptions {
  /** The SQLite file; its folder is created when missing. One Outbox per file. */
  path: string;
  log: Logger;
  /**
   * Most rows kept (default 100 000). Past it the oldest `inference` events are dropped (down to
   * 1 % below the limit, so a full queue does not warn on every enqueue); other types never are.
   */
  maxRows?: number;
}

interface Row {
  seq: number;
  id: string;
  json: string;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    json TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS outbox_type_seq ON outbox (type, seq);
`;

/**
 * The device's durable queue of events for the hub. `enqueue` returns only once the event is on
 * disk (WAL, synchronous = FULL); events leave it only through `ack`, after the hub acknowledged them.
 */
export class Outbox {
  private readonly db: Database.Database;
  private readonly log: Logger;
  private readonly maxRows: number;
  /** Rows in the table as far as this instance knows; re-counted before any eviction. */
  private size: number;
  private readonly insert: Database.Statement;
  private readonly selectAfter: Database.Statement;
  private readonly deleteById: Database.Statement;
  private readonly deleteBySeq: Database.Statement;
  private readonly evictInference: Database.Statement;
  private readonly countRows: Database.Statement;
  private readonly enqueueTx: Database.Transaction<(events: readonly DeviceEvent[]) => void>;
  private readonly ackTx: Database.Transaction<(ids: readonly string[]) => number>;

  constructor(opts: OutboxOptions) {
    const maxRows = opts.maxRows ?? 100_000;
    if (!Number.isInteger(maxRows) || maxRows < 1) throw new ValidationError(`outbox maxRows must be a positive integer, got ${maxRows}`);
    this.maxRows = maxRows;
    this.log = opts.log;
    mkdirSync(dirname(opts.path), { recursive: true });
    this.db = new Database(opts.path);
    try {
      const mode = this.db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') this.log.warn({ path: opts.path, mode }, 'outbox could not switch to WAL mode');
      this.db.pragma('synchronous = FULL');
      this.db.pragma('busy_timeout = 5000');
      this.db.exec(SCHEMA);
    } catch (err) {
      this.db.close();
      throw err;
    }
    this.insert = this.db.prepare('INSERT OR IGNORE INTO outbox (id, type, json) VALUES (?, ?, ?)');
    this.selectAfter = this.db.prepare('SELECT seq, id, json FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?');
    this.deleteById = this.db.prepare('DELETE FROM outbox WHERE id = ?');
    this.deleteBySeq = this.db.prepare('DELETE FROM outbox WHERE seq = ?');
    this.evictInference = this.db.prepare(
      "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE type = 'inference' ORDER BY seq LIMIT ?)",
    );
    this.countRows = this.db.prepare('SELECT COUNT(*) AS n FROM outbox');
    this.size = this.count();

    this.enqueueTx = this.db.transaction((events: readonly DeviceEvent[]) => {
      for (const event of events) this.size += this.insert.run(event.id, event.type, JSON.stringify(event)).changes;
      if (this.size > this.maxRows) this.evict();
    });
    this.ackTx = this.db.transaction((ids: readonly string[]) => {
      let removed = 0;
      for (const id of ids) removed += this.deleteById.run(id).changes;
      return removed;
    });
  }

  /** Validates and durably stores one event; an id already queued is ignored. Throws ValidationError. */
  enqueue(event: DeviceEvent): void {
    this.enqueueMany([event]);
  }

  /** Validates every event first, then stores them all in one transaction (one sync): all or none. */
  enqueueMany(events: readonly DeviceEvent[]): void {
    const valid = events.map((event) => {
      const parsed = deviceEventSchema.safeParse(event);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
        throw new ValidationError(`invalid device event: ${issues.join('; ')}`, { issues });
      }
      return parsed.data;
    });
    if (valid.length > 0) this.enqueueTx.immediate(valid);
  }

  /** Up to `limit` queued events, oldest first. Rows that no longer decode are logged and deleted. */
  peek(limit: number): DeviceEvent[] {
    const out: DeviceEvent[] = [];
    let after = 0;
    while (out.length < limit) {
      const rows = this.selectAfter.all(after, limit - out.length) as Row[];
      if (rows.length === 0) break;
      for (const row of rows) {
        after = row.seq;
        const event = this.decode(row);
        if (event) out.push(event);
        else this.size -= this.deleteBySeq.run(row.seq).changes;
      }
    }
    return out;
  }

  /** Removes delivered events; unknown ids are ignored. */
  ack(ids: string[]): void {
    if (ids.length === 0) return;
    this.size -= this.ackTx(ids);
  }

  count(): number {
    return (this.countRows.get() as { n: number }).n;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private decode(row: Row): DeviceEvent | null {
    let reason: string;
    try {
      const parsed = deviceEventSchema.safeParse(JSON.parse(row.json));
      if (parsed.success && parsed.data.id === row.id) return parsed.data;
      reason = parsed.success ? `stored event id ${parsed.data.id} differs from row id` : parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    } catch (err) {
      reason = `not JSON: ${errorMessage(err)}`;
    }
    this.log.error({ seq: row.seq, eventId: row.id, reason }, 'corrupt outbox row deleted');
    return null;
  }

  /** Inside the enqueue transaction: drops the oldest inference events until back under the limit. */
  private evict(): void {
    this.size = this.count();
    if (this.size <= this.maxRows) return;
    const target = this.maxRows - Math.floor(this.maxRows / 100);
    const dropped = this.evictInference.run(this.size - target).changes;
    this.size -= dropped;
    if (dropped > 0) this.log.warn({ dropped, maxRows: this.maxRows, remaining: this.size }, 'outbox full: dropped the oldest inference events');
    if (this.size > this.maxRows) {
      this.log.warn({ count: this.size, maxRows: this.maxRows }, 'outbox over its limit with no inference events left to drop');
    }
  }
}
