import { type HubEvent, type Logger, type ModelType, errorMessage } from '@edgeloop/shared';
import type { HubBroker } from '../broker/broker.js';
import type { Db } from '../store/db.js';

/** Records a hub event in SQLite and publishes it on the fleet events topic. */
export class HubEvents {
  private broker: HubBroker | null = null;

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  attachBroker(broker: HubBroker): void {
    this.broker = broker;
  }

  record(type: HubEvent['type'], modelType: ModelType | null, version: number | null, data: Record<string, unknown>): HubEvent {
    const at = this.now().toISOString();
    const res = this.db.prepare('INSERT INTO hub_events (type, at, model_type, version, data_json) VALUES (?, ?, ?, ?, ?)').run(type, at, modelType, version, JSON.stringify(data));
    const event: HubEvent = { id: Number(res.lastInsertRowid), type, at, modelType, version, data };
    this.log.info({ event: type, modelType, version, ...data }, 'hub event');
    this.broker?.publishFleet('events', event).catch((err) => this.log.warn({ err: errorMessage(err) }, 'hub event not published'));
    return event;
  }

  list(opts: { type?: string; limit: number }): HubEvent[] {
    const rows = this.db
      .prepare(`SELECT * FROM hub_events ${opts.type ? 'WHERE type = ?' : ''} ORDER BY id DESC LIMIT ?`)
      .all(...(opts.type ? [opts.type, opts.limit] : [opts.limit])) as { id: number; type: HubEvent['type']; at: string; model_type: ModelType | null; version: number | null; data_json: string }[];
    return rows.map((r) => ({ id: r.id, type: r.type, at: r.at, modelType: r.model_type, version: r.version, data: JSON.parse(r.data_json) as Record<string, unknown> }));
  }
}
