import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { createLogger, type DeviceEvent, deviceTopic, encodeMessage, waitFor } from '@edgeloop/shared';
import { startHub } from '../../../hub/src/app.js';
import { hubConfigSchema } from '../../../hub/src/config/schema.js';
import { startTestHub, TEST_ADMIN_TOKEN } from '../../../hub/test/support/test-hub.js';
import { DeviceMqtt } from '../../src/mqtt/device-mqtt.js';
import { Outbox } from '../../src/mqtt/outbox.js';
import { OutboxSender } from '../../src/mqtt/outbox-sender.js';

const silent = createLogger({ name: 'test', level: 'silent' });
const WAIT = { timeoutMs: 60_000, intervalMs: 20 };

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'edgeloop-outbox-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

interface HubLike {
  services: { db: { prepare(sql: string): { get(...a: unknown[]): unknown; all(...a: unknown[]): unknown[] } } };
  mqttUrl: string;
  mqttPort: number;
  stop(): Promise<void>;
}

async function enrol(hub: { admin(path: string, init?: RequestInit): Promise<Response> }, id: string): Promise<string> {
  const res = await hub.admin('/api/v1/devices', { method: 'POST', body: JSON.stringify({ id, role: 'laundry', branch: 'b' }) });
  assert.equal(res.status, 201);
  return ((await res.json()) as { password: string }).password;
}

function hubCount(hub: HubLike, deviceId: string): number {
  return (hub.services.db.prepare('SELECT COUNT(*) AS n FROM device_events WHERE device_id = ?').get(deviceId) as { n: number }).n;
}

function hubIds(hub: HubLike, deviceId: string): string[] {
  return (hub.services.db.prepare('SELECT event_id FROM device_events WHERE device_id = ? ORDER BY event_id').all(deviceId) as { event_id: string }[]).map(
    (r) => r.event_id,
  );
}

function makeEvent(deviceId: string, i: number): DeviceEvent {
  const type = i % 10 === 3 ? 'deployed' : 'inference';
  return { id: randomUUID(), deviceId, type, at: new Date().toISOString(), modelType: 'laundry', version: 1, data: { i } };
}

/** A DeviceMqtt wired to an outbox sender the way the agent wires it, with every publish recorded. */
function deviceWithSender(url: string, deviceId: string, password: string, outboxPath: string, opts: { failCall?: number } = {}) {
  const outbox = new Outbox({ path: outboxPath, log: silent });
  const calls: { id: string; connected: boolean }[] = [];
  let sender: OutboxSender | null = null;
  const dev = new DeviceMqtt({
    url,
    deviceId,
    password,
    keepaliveSeconds: 30,
    reconnectMs: 200,
    log: silent,
    onMessage: () => {},
    onConnect: () => sender?.kick(),
  });
  sender = new OutboxSender({
    outbox,
    log: silent,
    isConnected: () => dev.connected,
    retryMs: 100,
    publish: (e) => {
      calls.push({ id: e.id, connected: dev.connected });
      if (calls.length === opts.failCall) return Promise.reject(new Error('injected publish failure'));
      return dev.publish('events', e);
    },
  });
  const s = sender;
  const close = async () => {
    await s.stop();
    await dev.close();
    outbox.close();
  };
  cleanups.push(close);
  return { outbox, sender: s, dev, calls, close };
}

describe('OutboxSender with a real hub', () => {
  test('drains 300 events to the hub exactly once and empties the outbox', async () => {
    const hub = await startTestHub();
    cleanups.push(() => hub.close());
    const id = 'outbox-drain';
    const password = await enrol(hub, id);
    const d = deviceWithSender(hub.mqttUrl, id, password, join(tempDir(), 'outbox.sqlite'));
    await waitFor(() => d.dev.connected, 'device connected', WAIT);

    const events = Array.from({ length: 300 }, (_, i) => makeEvent(id, i));
    for (const e of events) d.outbox.enqueue(e);
    assert.equal(d.outbox.count(), 300);
    const sent = await d.sender.drain();
    await waitFor(() => d.outbox.count() === 0, 'outbox empty', WAIT); // a kick-started drain may have sent some
    assert.ok(sent > 0 && sent <= 300);
    assert.equal(hubCount(hub, id), 300);
    assert.deepEqual(hubIds(hub, id), events.map((e) => e.id).sort());
    const deployed = hub.services.db.prepare("SELECT COUNT(*) AS n FROM device_events WHERE device_id = ? AND type = 'deployed'").get(id) as { n: number };
    assert.equal(deployed.n, 30);
    assert.ok(d.calls.every((c) => c.connected), 'never published while disconnected');
    assert.equal(d.calls.length, 300, 'no failures, so no event was sent twice');
    await d.close();
    await hub.close();
  });

  test('a failed publish stops the drain, is retried, and nothing is lost', async () => {
    const hub = await startTestHub();
    cleanups.push(() => hub.close());
    const id = 'outbox-retry';
    const password = await enrol(hub, id);
    const d = deviceWithSender(hub.mqttUrl, id, password, join(tempDir(), 'outbox.sqlite'), { failCall: 7 });
    await waitFor(() => d.dev.connected, 'device connected', WAIT);
    const events = Array.from({ length: 120 }, (_, i) => makeEvent(id, i));
    for (const e of events) d.outbox.enqueue(e);
    const first = await d.sender.drain();
    assert.ok(first < 120, 'the first drain stopped at the failure');
    assert.ok(d.outbox.count() > 0);
    assert.ok(d.outbox.peek(1)[0]?.id === events[6]?.id, 'the failed event is still queued, at the head');
    await waitFor(() => d.outbox.count() === 0, 'retry drained the outbox', WAIT);
    assert.deepEqual(hubIds(hub, id), events.map((e) => e.id).sort());
    await d.close();
    await hub.close();
  });

  test('broker stops and restarts mid-stream: 600 events, none lost, none twice', async () => {
    const dataDir = tempDir();
    const hub1 = await startTestHub({ dataDir });
    const id = 'outbox-restart';
    const password = await enrol(hub1, id);
    const port = hub1.mqttPort;
    let hub2: HubLike | null = null;
    cleanups.push(async () => {
      await hub1.stop();
      await hub2?.stop();
    });

    const d = deviceWithSender(hub1.mqttUrl, id, password, join(tempDir(), 'outbox.sqlite'));
    await waitFor(() => d.dev.connected, 'device connected', WAIT);

    const events = Array.from({ length: 600 }, (_, i) => makeEvent(id, i));
    let produced = 0;
    let releaseRest: () => void = () => {};
    const hubDown = new Promise<void>((r) => {
      releaseRest = r;
    });
    const producer = (async () => {
      for (const e of events) {
        if (produced === 300) await hubDown; // the second half is produced only while the hub is down
        d.outbox.enqueue(e);
        d.sender.kick();
        produced++;
        await new Promise((r) => setImmediate(r));
      }
    })();

    await waitFor(() => hubCount(hub1, id) >= 200, '200 events at the first hub', WAIT);
    const atStop = hubCount(hub1, id);
    await hub1.stop();
    await waitFor(() => !d.dev.connected, 'device sees the hub gone', WAIT);
    const callsWhenDown = d.calls.length;
    releaseRest();
    await producer;
    assert.equal(produced, 600);
    assert.ok(d.outbox.count() >= 300, `the outbox holds what could not be sent (${d.outbox.count()})`);
    // The sender keeps retrying while down (retryMs 100): give it a few rounds, then check it sent nothing.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(d.calls.length, callsWhenDown, 'nothing published while disconnected');
    assert.ok(atStop < 600);

    const config = hubConfigSchema.parse({
      dataDir,
      logLevel: 'silent',
      http: { host: '127.0.0.1', port: 0, publicUrl: '' },
      mqtt: { host: '127.0.0.1', port },
      admin: { token: TEST_ADMIN_TOKEN },
      training: { bootstrapOnStart: false },
    });
    hub2 = await startHub(config, silent);
    const h2 = hub2;
    await waitFor(() => d.dev.connected, 'device reconnected', WAIT);
    await waitFor(() => d.outbox.count() === 0 && hubCount(h2, id) === 600, 'all 600 at the new hub', WAIT);
    assert.equal(hubCount(h2, id), 600);
    assert.deepEqual(hubIds(h2, id), events.map((e) => e.id).sort(), 'exactly the events enqueued, each once');
    assert.ok(d.calls.every((c) => c.connected), 'never published while disconnected');
    await d.close();
  });

  test('crash before ack: events published but not acked are sent again and counted once', async () => {
    const hub = await startTestHub();
    cleanups.push(() => hub.close());
    const id = 'outbox-crash';
    const password = await enrol(hub, id);
    const path = join(tempDir(), 'outbox.sqlite');

    // "Before the crash": publish 50 queued events with a plain client, get their PUBACKs, ack only 20.
    const before = new Outbox({ path, log: silent });
    const events = Array.from({ length: 50 }, (_, i) => makeEvent(id, i));
    for (const e of events) before.enqueue(e);
    const client = await mqtt.connectAsync(hub.mqttUrl, { clientId: id, username: id, password, clean: false, reconnectPeriod: 0 });
    for (const e of before.peek(50)) await client.publishAsync(deviceTopic('events', id), encodeMessage('events', e), { qos: 1 });
    before.ack(events.slice(0, 20).map((e) => e.id));
    await client.endAsync(true);
    before.close();
    assert.equal(hubCount(hub, id), 50);

    // "After the restart": the 30 unacked events are sent again; the hub keeps each id once.
    const d = deviceWithSender(hub.mqttUrl, id, password, path);
    assert.equal(d.outbox.count(), 30);
    await waitFor(() => d.dev.connected, 'device connected', WAIT);
    await d.sender.drain();
    await waitFor(() => d.outbox.count() === 0, 'outbox empty', WAIT);
    assert.deepEqual(
      d.calls.map((c) => c.id),
      events.slice(20).map((e) => e.id),
      'resent in order',
    );
    assert.equal(hubCount(hub, id), 50);
    assert.deepEqual(hubIds(hub, id), events.map((e) => e.id).sort());

    // And a plain re-enqueue of already-delivered ids is harmless too.
    for (const e of events.slice(0, 10)) d.outbox.enqueue(e);
    await d.sender.drain();
    await waitFor(() => d.outbox.count() === 0, 'outbox empty again', WAIT);
    assert.equal(hubCount(hub, id), 50);
    await d.close();
    await hub.close();
  });

  test('does not publish while disconnected and starts on kick once connected', async () => {
    const hub = await startTestHub();
    cleanups.push(() => hub.close());
    const id = 'outbox-offline';
    const password = await enrol(hub, id);
    const outbox = new Outbox({ path: join(tempDir(), 'outbox.sqlite'), log: silent });
    cleanups.push(() => outbox.close());
    let connected = false;
    const calls: string[] = [];
    const client = await mqtt.connectAsync(hub.mqttUrl, { clientId: id, username: id, password, clean: false, reconnectPeriod: 0 });
    cleanups.push(() => client.endAsync(true));
    const sender = new OutboxSender({
      outbox,
      log: silent,
      isConnected: () => connected,
      retryMs: 50,
      publish: async (e) => {
        calls.push(e.id);
        await client.publishAsync(deviceTopic('events', id), encodeMessage('events', e), { qos: 1 });
      },
    });
    cleanups.push(() => sender.stop());
    const events = Array.from({ length: 10 }, (_, i) => makeEvent(id, i));
    for (const e of events) {
      outbox.enqueue(e);
      sender.kick();
    }
    assert.equal(await sender.drain(), 0);
    assert.equal(calls.length, 0);
    assert.equal(outbox.count(), 10);
    connected = true;
    sender.kick();
    await waitFor(() => outbox.count() === 0, 'outbox empty', WAIT);
    assert.deepEqual(calls, events.map((e) => e.id));
    assert.equal(hubCount(hub, id), 10);
    await sender.stop();
    outbox.enqueue(makeEvent(id, 99));
    sender.kick();
    assert.equal(await sender.drain(), 0, 'a stopped sender sends nothing');
    assert.equal(outbox.count(), 1);
    await hub.close();
  });
});
