import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Health } from '../../src/telemetry/health.js';
import { escapeLabelValue, type MetricsInput, renderMetrics } from '../../src/telemetry/prometheus.js';

interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Parsed {
  help: Map<string, string>;
  type: Map<string, string>;
  samples: ParsedSample[];
}

const SAMPLE_RE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.eE+-]+|NaN|[+-]Inf)$/;
const LABEL_RE = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy;

function unescapeLabel(v: string): string {
  return v.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

/** A small parser for the text exposition format: fails the test on any line it does not understand. */
function parse(text: string): Parsed {
  assert.ok(text.endsWith('\n'), 'output ends with a newline');
  const out: Parsed = { help: new Map(), type: new Map(), samples: [] };
  for (const line of text.slice(0, -1).split('\n')) {
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      (kind === 'HELP' ? out.help : out.type).set(name, rest);
      continue;
    }
    const m = SAMPLE_RE.exec(line);
    assert.ok(m, `unparseable line: ${JSON.stringify(line)}`);
    const [, name, labelText = '', value] = m as unknown as [string, string, string | undefined, string];
    const labels: Record<string, string> = {};
    LABEL_RE.lastIndex = 0;
    let consumed = 0;
    for (let l = LABEL_RE.exec(labelText); l; l = LABEL_RE.exec(labelText)) {
      labels[l[1] as string] = unescapeLabel(l[2] as string);
      consumed = LABEL_RE.lastIndex;
    }
    assert.equal(consumed, labelText.length, `bad labels in ${line}`);
    out.samples.push({ name, labels, value: Number(value) });
  }
  return out;
}

const health: Health = { cpuLoad: 12.5, memUsedBytes: 1_000_000, memTotalBytes: 8_000_000, diskFreeBytes: 5e9, temperatureC: 48.25 };
const base: MetricsInput = {
  deviceId: 'door-1',
  role: 'gym-door',
  health,
  stats: {
    'face@3': { count: 120, errors: 2, p50: 10.5, p95: 20, p99: 31 },
    'face@4': { count: 7, errors: 0, p50: 9, p95: 9, p99: 9 },
  },
  activeVersions: { face: 4, laundry: null },
  mqttConnected: true,
  outboxPending: 3,
};

const P = 'edgeloop_agent_';
const find = (p: Parsed, name: string, labels: Record<string, string> = {}) =>
  p.samples.filter((s) => s.name === P + name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
const sampleValue = (p: Parsed, name: string, labels: Record<string, string> = {}) => {
  const hits = find(p, name, labels);
  assert.equal(hits.length, 1, `${name} ${JSON.stringify(labels)}`);
  return hits[0]?.value;
};

describe('renderMetrics', () => {
  test('every sample belongs to a family with HELP and TYPE', () => {
    const p = parse(renderMetrics(base));
    for (const s of p.samples) {
      assert.ok(s.name.startsWith(P), s.name);
      assert.ok(p.help.has(s.name), `HELP for ${s.name}`);
      assert.ok(['counter', 'gauge'].includes(p.type.get(s.name) ?? ''), `TYPE for ${s.name}`);
    }
    assert.deepEqual([...p.help.keys()].sort(), [...p.type.keys()].sort());
    assert.equal(p.type.get(`${P}inference_requests_total`), 'counter');
    assert.equal(p.type.get(`${P}inference_errors_total`), 'counter');
    assert.equal(p.type.get(`${P}inference_latency_ms`), 'gauge');
  });

  test('values match the input', () => {
    const p = parse(renderMetrics(base));
    assert.equal(sampleValue(p, 'info', { device_id: 'door-1', role: 'gym-door' }), 1);
    assert.equal(sampleValue(p, 'inference_requests_total', { model_type: 'face', version: '3' }), 120);
    assert.equal(sampleValue(p, 'inference_errors_total', { model_type: 'face', version: '3' }), 2);
    assert.equal(sampleValue(p, 'inference_requests_total', { model_type: 'face', version: '4' }), 7);
    assert.equal(sampleValue(p, 'inference_latency_ms', { version: '3', quantile: '0.5' }), 10.5);
    assert.equal(sampleValue(p, 'inference_latency_ms', { version: '3', quantile: '0.95' }), 20);
    assert.equal(sampleValue(p, 'inference_latency_ms', { version: '3', quantile: '0.99' }), 31);
    assert.equal(find(p, 'inference_latency_ms').length, 6);
    assert.equal(sampleValue(p, 'model_active_version', { model_type: 'face' }), 4);
    assert.equal(sampleValue(p, 'model_active_version', { model_type: 'laundry' }), 0);
    assert.equal(sampleValue(p, 'cpu_load_percent'), 12.5);
    assert.equal(sampleValue(p, 'memory_used_bytes'), 1_000_000);
    assert.equal(sampleValue(p, 'memory_total_bytes'), 8_000_000);
    assert.equal(sampleValue(p, 'disk_free_bytes'), 5e9);
    assert.equal(sampleValue(p, 'temperature_celsius'), 48.25);
    assert.equal(sampleValue(p, 'mqtt_connected'), 1);
    assert.equal(sampleValue(p, 'outbox_pending'), 3);
  });

  test('null temperature, null health, missing outbox and disconnected MQTT', () => {
    let p = parse(renderMetrics({ ...base, health: { ...health, temperatureC: null }, mqttConnected: false, outboxPending: undefined }));
    assert.equal(find(p, 'temperature_celsius').length, 0);
    assert.ok(p.type.has(`${P}temperature_celsius`));
    assert.equal(sampleValue(p, 'cpu_load_percent'), 12.5);
    assert.equal(sampleValue(p, 'mqtt_connected'), 0);
    assert.equal(find(p, 'outbox_pending').length, 0);
    p = parse(renderMetrics({ ...base, health: null, stats: {}, activeVersions: {} }));
    for (const n of ['cpu_load_percent', 'memory_used_bytes', 'memory_total_bytes', 'disk_free_bytes', 'temperature_celsius', 'inference_latency_ms']) {
      assert.equal(find(p, n).length, 0, n);
    }
  });

  test('label values are escaped', () => {
    assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
    const nasty = 'x"y\\z\nw';
    const text = renderMetrics({ ...base, deviceId: nasty, role: 'r' });
    assert.ok(text.includes('device_id="x\\"y\\\\z\\nw"'));
    const p = parse(text);
    assert.equal(sampleValue(p, 'info', { device_id: nasty }), 1);
  });
});
