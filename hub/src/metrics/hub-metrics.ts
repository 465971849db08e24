import type { RequestHandler } from 'express';
import { type DeviceRole, type DeviceState, MODEL_TYPE_OF_ROLE } from '@edgeloop/shared';
import type { Db } from '../store/db.js';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface HubMetricsInput {
  /** `version`: the version of the role's model the device last reported (kept while offline), `none` when it reported none. */
  devicesByRoleVersion: { role: string; version: string; online: boolean; count: number }[];
  rollouts: { modelType: string; status: string; count: number }[];
  brokerConnections: number;
  intake: { faceSamples: number; laundryTasks: number; confirmations: number; corrections: number };
}

const INTAKE_KINDS = [
  ['face_samples', 'faceSamples'],
  ['laundry_tasks', 'laundryTasks'],
  ['confirmations', 'confirmations'],
  ['corrections', 'corrections'],
] as const;

/**
 * Prometheus text exposition format 0.0.4. Every family gets HELP and TYPE, even without samples.
 * All are gauges: they are counts of what the hub holds now (face samples are pruned, so
 * `edgeloop_hub_intake_total` can go down and must not be typed as a counter).
 */
export function renderHubMetrics(input: HubMetricsInput): string {
  const out: string[] = [];
  const family = (name: string, help: string, samples: [Record<string, string>, number][]) => {
    out.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} gauge`);
    for (const [labels, value] of samples) out.push(`${name}${labelSet(labels)} ${formatValue(value)}`);
  };

  const devices = new Map<string, [Record<string, string>, number]>();
  for (const d of input.devicesByRoleVersion) {
    const labels = { role: d.role, version: d.version, status: d.online ? 'online' : 'offline' };
    const key = labelSet(labels);
    devices.set(key, [labels, (devices.get(key)?.[1] ?? 0) + d.count]);
  }
  family('edgeloop_hub_devices', 'Enrolled devices by role, reported model version and connection status.', sorted(devices));

  const rollouts = new Map<string, [Record<string, string>, number]>();
  for (const r of input.rollouts) {
    const labels = { model_type: r.modelType, status: r.status };
    const key = labelSet(labels);
    rollouts.set(key, [labels, (rollouts.get(key)?.[1] ?? 0) + r.count]);
  }
  family('edgeloop_hub_rollouts', 'Rollouts by model type and status.', sorted(rollouts));

  family('edgeloop_hub_broker_connections', 'MQTT clients connected to the hub broker.', [[{}, input.brokerConnections]]);

  family(
    'edgeloop_hub_intake_total',
    'Intake records held by the hub: face samples, laundry tasks, confirmations and corrections.',
    INTAKE_KINDS.map(([kind, field]) => [{ kind }, input.intake[field]]),
  );
  return `${out.join('\n')}\n`;
}

/** Reads the figures `renderHubMetrics` needs from the hub database. Revoked devices are left out. */
export function collectHubMetrics(db: Db, brokerConnections: number): HubMetricsInput {
  const rows = db.prepare('SELECT role, status, reported_json FROM devices WHERE revoked = 0').all() as {
    role: DeviceRole;
    status: string;
    reported_json: string | null;
  }[];
  const groups = new Map<string, HubMetricsInput['devicesByRoleVersion'][number]>();
  for (const r of rows) {
    const g = { role: r.role, version: reportedVersion(r.role, r.reported_json), online: r.status === 'online', count: 0 };
    const key = `${g.role}\u0000${g.version}\u0000${g.online}`;
    const entry = groups.get(key) ?? g;
    entry.count++;
    groups.set(key, entry);
  }
  const devicesByRoleVersion = [...groups.values()];
  const rollouts = (
    db.prepare('SELECT model_type, status, COUNT(*) AS n FROM rollouts GROUP BY model_type, status').all() as {
      model_type: string;
      status: string;
      n: number;
    }[]
  ).map((r) => ({ modelType: r.model_type, status: r.status, count: r.n }));
  const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
  return {
    devicesByRoleVersion,
    rollouts,
    brokerConnections,
    intake: {
      faceSamples: count('SELECT COUNT(*) AS n FROM face_samples'),
      laundryTasks: count('SELECT COUNT(*) AS n FROM laundry_tasks'),
      confirmations: count('SELECT COUNT(*) AS n FROM laundry_tasks WHERE confirmed_at IS NOT NULL'),
      corrections: count('SELECT COUNT(*) AS n FROM laundry_tasks WHERE confirmed_at IS NOT NULL AND corrected = 1'),
    },
  };
}

/** `GET /metrics` handler. */
export function metricsHandler(db: Db, brokerConnections: () => number): RequestHandler {
  return (_req, res) => {
    res.type(PROMETHEUS_CONTENT_TYPE).send(renderHubMetrics(collectHubMetrics(db, brokerConnections())));
  };
}

function reportedVersion(role: DeviceRole, reportedJson: string | null): string {
  if (!reportedJson) return 'none';
  try {
    const state = JSON.parse(reportedJson) as DeviceState;
    if (state.status !== 'online') return 'none';
    const modelType = MODEL_TYPE_OF_ROLE[role];
    const version = modelType ? state.models?.[modelType]?.version : undefined;
    return typeof version === 'number' ? String(version) : 'none';
  } catch {
    return 'unknown';
  }
}

function sorted(m: Map<string, [Record<string, string>, number]>): [Record<string, string>, number][] {
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
}

function labelSet(labels: Record<string, string>): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}
