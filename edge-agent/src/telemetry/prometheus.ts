import type { ModelType } from '@edgeloop/shared';
import type { Health } from './health.js';
import type { VersionStats } from './inference-stats.js';

export interface MetricsInput {
  deviceId: string;
  role: string;
  health: Health | null;
  /** Key: `<modelType>@<version>`, as from `InferenceStats.snapshot()`. */
  stats: Record<string, VersionStats>;
  activeVersions: Partial<Record<ModelType, number | null>>;
  mqttConnected: boolean;
  outboxPending?: number;
}

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const PREFIX = 'edgeloop_agent_';
const QUANTILES = [
  ['0.5', 'p50'],
  ['0.95', 'p95'],
  ['0.99', 'p99'],
] as const;

type Labels = Record<string, string>;
interface Sample {
  labels?: Labels;
  value: number;
}

/** Label values: backslash, double quote and line feed are escaped. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}

function family(name: string, type: 'counter' | 'gauge', help: string, samples: Sample[]): string {
  let out = `# HELP ${PREFIX}${name} ${escapeHelp(help)}\n# TYPE ${PREFIX}${name} ${type}\n`;
  for (const s of samples) {
    const labels = s.labels ? Object.entries(s.labels) : [];
    const rendered = labels.length ? `{${labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}` : '';
    out += `${PREFIX}${name}${rendered} ${formatValue(s.value)}\n`;
  }
  return out;
}

/** Splits `<modelType>@<version>` at the last `@`. */
function splitKey(key: string): { model_type: string; version: string } {
  const at = key.lastIndexOf('@');
  return at < 0 ? { model_type: key, version: '' } : { model_type: key.slice(0, at), version: key.slice(at + 1) };
}

/**
 * Renders the agent's metrics in the Prometheus text exposition format 0.0.4.
 * Every family has HELP and TYPE lines even when it has no sample. Device identity is carried by
 * `edgeloop_agent_info{device_id,role} 1`. Health samples are omitted when `health` is null, the
 * temperature sample when the platform has no sensor, `outbox_pending` when not given. An active
 * version of null (no model serving) renders as 0.
 */
export function renderMetrics(input: MetricsInput): string {
  const keys = Object.keys(input.stats).sort();
  const perVersion = (pick: (s: VersionStats) => number): Sample[] =>
    keys.flatMap((k) => {
      const s = input.stats[k];
      return s ? [{ labels: splitKey(k), value: pick(s) }] : [];
    });
  const latency: Sample[] = keys.flatMap((k) => {
    const s = input.stats[k];
    return s ? QUANTILES.map(([q, field]) => ({ labels: { ...splitKey(k), quantile: q }, value: s[field] })) : [];
  });
  const active: Sample[] = Object.entries(input.activeVersions)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([modelType, v]) => ({ labels: { model_type: modelType }, value: v ?? 0 }));
  const h = input.health;
  const healthSample = (v: number | null | undefined): Sample[] => (h && v !== null && v !== undefined ? [{ value: v }] : []);

  return [
    family('info', 'gauge', 'Agent identity; always 1.', [{ labels: { device_id: input.deviceId, role: input.role }, value: 1 }]),
    family('inference_requests_total', 'counter', 'Inference requests since agent start, per model version.', perVersion((s) => s.count)),
    family('inference_errors_total', 'counter', 'Failed inference requests since agent start, per model version.', perVersion((s) => s.errors)),
    family(
      'inference_latency_ms',
      'gauge',
      'Inference latency in milliseconds over the latest samples (nearest-rank quantiles), per model version.',
      latency,
    ),
    family('model_active_version', 'gauge', 'Model version currently serving, per model type (0 when none).', active),
    family('cpu_load_percent', 'gauge', 'Current CPU load, 0 to 100.', healthSample(h?.cpuLoad)),
    family('memory_used_bytes', 'gauge', 'Memory in use (total minus available), bytes.', healthSample(h?.memUsedBytes)),
    family('memory_total_bytes', 'gauge', 'Total memory, bytes.', healthSample(h?.memTotalBytes)),
    family('disk_free_bytes', 'gauge', 'Free space on the filesystem holding the data directory, bytes.', healthSample(h?.diskFreeBytes)),
    family('temperature_celsius', 'gauge', 'CPU temperature, degrees Celsius.', healthSample(h?.temperatureC)),
    family('mqtt_connected', 'gauge', 'Whether the agent is connected to the MQTT broker (1) or not (0).', [{ value: input.mqttConnected ? 1 : 0 }]),
    family('outbox_pending', 'gauge', 'Device events waiting in the outbox for delivery.', input.outboxPending === undefined ? [] : [{ value: input.outboxPending }]),
  ].join('');
}
