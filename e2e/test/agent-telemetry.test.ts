import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { waitFor } from '@edgeloop/shared';
import { Fleet, testPhoto } from './support/fleet.js';

const TELEMETRY = { intervalMs: 200 };
const REQUESTS = 5;

let fleet: Fleet;

const device = () => fleet.hub.services.fleet.get(fleet.deviceId);

/**
 * A TCP relay between the agent and the broker. Cutting it drops the agent's connection without an
 * MQTT DISCONNECT (what a pulled cable or a power cut looks like to the broker); while `accepting`
 * is false, reconnection attempts are cut at once.
 */
class CuttableLink {
  accepting = true;
  private readonly sockets = new Set<Socket>();
  private constructor(private readonly server: Server) {}

  static async open(target: string): Promise<CuttableLink> {
    const { hostname, port } = new URL(target);
    const server = createServer();
    const link = new CuttableLink(server);
    server.on('connection', (down) => {
      if (!link.accepting) {
        down.destroy();
        return;
      }
      const up = connect(Number(port), hostname);
      for (const s of [down, up]) {
        link.sockets.add(s);
        s.on('close', () => link.sockets.delete(s));
        s.on('error', () => {});
      }
      down.pipe(up);
      up.pipe(down);
      down.on('close', () => up.destroy());
      up.on('close', () => down.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    return link;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get open(): number {
    return this.sockets.size;
  }

  cut(): void {
    this.accepting = false;
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

before(async () => {
  fleet = await Fleet.start({ role: 'laundry', agent: { telemetry: TELEMETRY } });
});

after(async () => {
  await fleet?.close();
});

test('telemetry reaches the hub over MQTT with inference counts and health figures', async () => {
  const photo = await testPhoto();
  for (let i = 0; i < REQUESTS; i++) {
    const res = await fleet.infer(photo);
    assert.equal(res.status, 200);
    assert.equal(res.body.version, 1);
  }
  const t = await waitFor(() => {
    const tel = device().telemetry;
    return tel?.inference['laundry@1']?.count === REQUESTS ? tel : null;
  }, `telemetry counting ${REQUESTS} requests on laundry@1`);

  assert.equal(t.deviceId, fleet.deviceId);
  assert.ok(!Number.isNaN(Date.parse(t.at)));
  const v1 = t.inference['laundry@1'];
  assert.ok(v1);
  assert.equal(v1.errors, 0);
  assert.ok(v1.p50 > 0 && v1.p50 <= v1.p95 && v1.p95 <= v1.p99, `latency percentiles ordered: ${JSON.stringify(v1)}`);
  assert.deepEqual(Object.keys(t.inference), ['laundry@1']);

  const h = t.health;
  assert.ok(h.memTotalBytes > 0, 'memTotalBytes > 0');
  assert.ok(h.memUsedBytes >= 0 && h.memUsedBytes <= h.memTotalBytes);
  assert.ok(h.diskFreeBytes > 0, 'diskFreeBytes > 0');
  assert.ok(h.cpuLoad >= 0 && h.cpuLoad <= 100);
  assert.ok(h.temperatureC === null || (typeof h.temperatureC === 'number' && Number.isFinite(h.temperatureC)), `temperature ${h.temperatureC}`);

  // Telemetry also refreshes the device's last-seen time.
  assert.ok(device().lastSeen);
});

test('GET /metrics serves Prometheus text with request counts, the active version and the MQTT link', async () => {
  // The health families appear once the first telemetry tick has collected them (the test above waited for one).
  const res = await fetch(`${fleet.agent.apiUrl}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const body = await res.text();
  const lines = body.split('\n');
  const has = (line: string) => assert.ok(lines.includes(line), `metrics should contain the line\n  ${line}\ngot:\n${body}`);

  has(`edgeloop_agent_info{device_id="${fleet.deviceId}",role="laundry"} 1`);
  has(`edgeloop_agent_inference_requests_total{model_type="laundry",version="1"} ${REQUESTS}`);
  has('edgeloop_agent_inference_errors_total{model_type="laundry",version="1"} 0');
  has('edgeloop_agent_model_active_version{model_type="laundry"} 1');
  has('edgeloop_agent_mqtt_connected 1');
  has('# TYPE edgeloop_agent_inference_requests_total counter');
  has('# TYPE edgeloop_agent_model_active_version gauge');
  assert.match(body, /^edgeloop_agent_inference_latency_ms\{model_type="laundry",version="1",quantile="0\.95"\} \d/m);
  assert.match(body, /^edgeloop_agent_memory_total_bytes [1-9]\d*$/m);
  assert.match(body, /^edgeloop_agent_disk_free_bytes [1-9]\d*$/m);
  assert.match(body, /^edgeloop_agent_outbox_pending \d+$/m);
  // Every sample line is `name{labels} value` or `name value`.
  for (const l of lines.filter((x) => x && !x.startsWith('#'))) assert.match(l, /^edgeloop_agent_[a-z_]+(\{[^}]*\})? \S+$/, l);
  // The request for /metrics is not an inference.
  const again = await (await fetch(`${fleet.agent.apiUrl}/metrics`)).text();
  assert.ok(again.split('\n').includes(`edgeloop_agent_inference_requests_total{model_type="laundry",version="1"} ${REQUESTS}`));
});

test('the hub sees the device online while it runs', async () => {
  await waitFor(() => device().status === 'online', 'device online at the hub');
  const reported = device().reported;
  assert.equal(reported?.status, 'online');
});

test('an unclean drop (no DISCONNECT) marks the device offline through its last will; it comes back online on reconnect', async () => {
  const link = await CuttableLink.open(fleet.hub.mqttUrl);
  try {
    await fleet.agent.stop();
    await waitFor(() => device().status === 'offline', 'offline after the clean stop');
    await fleet.startAgent({ telemetry: TELEMETRY, hub: { mqttUrl: link.url, httpUrl: fleet.hub.httpUrl } });
    await fleet.waitActive(1);
    await waitFor(() => device().status === 'online' && link.open > 0, 'device online through the relay');

    link.cut();
    await waitFor(() => device().status === 'offline', 'last will marks the device offline');
    // The agent itself is still running and serving: only its link is gone.
    const res = await fleet.infer(await testPhoto());
    assert.equal(res.status, 200);
    const metrics = await (await fetch(`${fleet.agent.apiUrl}/metrics`)).text();
    assert.ok(metrics.split('\n').includes('edgeloop_agent_mqtt_connected 0'), 'the agent knows it is disconnected');

    link.accepting = true;
    await waitFor(() => device().status === 'online', 'device online again after reconnecting');
  } finally {
    await fleet.agent.stop();
    await link.close();
    await fleet.startAgent({ telemetry: TELEMETRY });
    await fleet.waitActive(1);
  }
});

test('a clean stop marks the device offline: the agent says so itself before disconnecting', async () => {
  await waitFor(() => device().status === 'online', 'device online');
  await fleet.agent.stop();

  await waitFor(() => device().status === 'offline', 'device offline after a clean stop');
  assert.ok(fleet.agentLog.find('agent stopped').length === 1);
});
