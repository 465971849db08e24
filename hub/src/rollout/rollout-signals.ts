import type { ModelType } from '@edgeloop/shared';
import type { DeviceView, FleetService } from '../fleet/fleet-service.js';
import type { Db } from '../store/db.js';
import type { GroupFigures } from './canary-policy.js';

/**
 * What a rollout check reads from the fleet, once per device: each group's live figures, the canary
 * devices that do not yet report the new version active, and those that rolled back by themselves.
 */
export function canarySignals(
  db: Db,
  fleet: Pick<FleetService, 'get'>,
  modelType: ModelType,
  version: number,
  canary: readonly string[],
  control: readonly string[],
  since: string,
): { figures: { canary: GroupFigures; control: GroupFigures }; notReported: string[]; rolledBack: string[] } {
  const views = new Map([...canary, ...control].map((id) => [id, fleet.get(id)]));
  const figures = { canary: groupFigures(db, modelType, canary, version, since, views), control: groupFigures(db, modelType, control, null, since, views) };
  const notReported = canary.filter((id) => {
    const rep = views.get(id)?.reported;
    const m = rep?.status === 'online' ? rep.models[modelType] : undefined;
    return !(m && m.version === version && m.state === 'active');
  });
  // A canary device that rolled back says so in its retained state (and later in a report event).
  const reportedRollback = canary.filter((id) => {
    const rep = views.get(id)?.reported;
    return rep?.status === 'online' && (rep.models[modelType]?.refusedVersions ?? []).includes(version);
  });
  const eventRollback = (
    db.prepare("SELECT DISTINCT device_id FROM device_events WHERE type = 'rolled-back' AND model_type = ? AND version = ? AND at >= ?").all(modelType, version, since) as {
      device_id: string;
    }[]
  ).map((x) => x.device_id);
  const rolledBack = canary.filter((id) => reportedRollback.includes(id) || eventRollback.includes(id));
  return { figures, notReported, rolledBack };
}

/** A group's live figures: inference telemetry on `version` (or each device's own version) and laundry corrections. */
function groupFigures(db: Db, modelType: ModelType, devices: readonly string[], version: number | null, since: string, views: ReadonlyMap<string, DeviceView>): GroupFigures {
  let requests = 0;
  let errors = 0;
  let p95Weighted = 0;
  for (const id of devices) {
    const view = views.get(id);
    const t = view?.telemetry ?? null;
    const rep = view?.reported ?? null;
    const v = version ?? (rep?.status === 'online' ? (rep.models[modelType]?.version ?? null) : null);
    const s = t && v !== null ? t.inference[`${modelType}@${v}`] : undefined;
    if (!s) continue;
    requests += s.count;
    errors += s.errors;
    p95Weighted += s.p95 * s.count;
  }
  const corr = devices.length
    ? (db
        .prepare(
          `SELECT COUNT(*) AS confirmations, COALESCE(SUM(corrected), 0) AS corrections FROM laundry_tasks
           WHERE confirmed_at >= ? AND device_id IN (${devices.map(() => '?').join(',')}) ${version !== null ? 'AND model_version = ?' : ''}`,
        )
        .get(since, ...devices, ...(version !== null ? [version] : [])) as { confirmations: number; corrections: number })
    : { confirmations: 0, corrections: 0 };
  return { devices: devices.length, requests, errors, p95Ms: requests > 0 ? p95Weighted / requests : 0, ...corr };
}
