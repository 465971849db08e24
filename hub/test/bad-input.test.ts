import { randomUUID } from 'node:crypto';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { deviceTopic, encodeMessage, waitFor } from '@edgeloop/shared';
import { memoryLogger, startTestHub, type TestHub } from './support/test-hub.js';

let hub: TestHub;
let device: MqttClient;
const mem = memoryLogger();

before(async () => {
  hub = await startTestHub({ log: mem.log });
  const res = await hub.admin('/api/v1/devices', { method: 'POST', body: JSON.stringify({ id: 'wash-1', role: 'laundry', branch: 'north' }) });
  const { password } = (await res.json()) as { password: string };
  device = await mqtt.connectAsync(hub.mqttUrl, { clientId: 'wash-1', username: 'wash-1', password, reconnectPeriod: 0 });
});
after(async () => {
  await device.endAsync(true);
  await hub.close();
});

const event = (id = randomUUID()) =>
  encodeMessage('events', { id, deviceId: 'wash-1', type: 'sample', at: new Date().toISOString(), modelType: 'laundry', version: 1, data: { n: 1 } });

test('malformed MQTT payloads are logged with a reason and dropped; the hub and the device carry on', async () => {
  const topic = deviceTopic('events', 'wash-1');
  await device.publishAsync(topic, Buffer.from('{not json'), { qos: 1 });
  await device.publishAsync(topic, Buffer.from(JSON.stringify({ id: 'x', type: 'nope' })), { qos: 1 });
  await device.publishAsync(deviceTopic('state', 'wash-1'), Buffer.from(JSON.stringify({ status: 'offline', deviceId: 'wash-2' })), { qos: 1 });
  await device.publishAsync(deviceTopic('telemetry', 'wash-1'), Buffer.alloc(2_000, 0xff), { qos: 1 });

  const dropped = mem.lines().filter((l) => l.msg === 'invalid mqtt payload dropped');
  assert.equal(dropped.length, 4);
  assert.match(String(dropped[0]?.error), /not JSON/);
  assert.match(String(dropped[1]?.error), /events schema/);
  assert.match(String(dropped[2]?.error), /names device wash-2/);
  assert.ok(device.connected, 'the device stays connected');

  // A valid message after the bad ones is still taken, and exactly once.
  const id = randomUUID();
  await device.publishAsync(topic, event(id), { qos: 1 });
  await device.publishAsync(topic, event(id), { qos: 1 });
  const rows = hub.services.db.prepare('SELECT COUNT(*) AS n FROM device_events WHERE event_id = ?').get(id) as { n: number };
  assert.equal(rows.n, 1);
  assert.equal((await fetch(`${hub.httpUrl}/healthz`)).status, 200);
});

test('bad HTTP bodies get a clear 4xx and change nothing', async () => {
  const badJson = await hub.admin('/api/v1/devices', { method: 'POST', body: '{"id":' });
  assert.equal(badJson.status, 400);
  const invalid = await hub.admin('/api/v1/devices', { method: 'POST', body: JSON.stringify({ id: 'Bad Id', role: 'toaster' }) });
  assert.equal(invalid.status, 400);
  const body = (await invalid.json()) as { message: string; details: { issues: { path: string }[] } };
  assert.deepEqual(body.details.issues.map((i) => i.path).sort(), ['id', 'role']);
  const deploy = await hub.admin('/api/v1/deployments', { method: 'POST', body: JSON.stringify({ modelType: 'face', version: 0 }) });
  assert.equal(deploy.status, 400);
  const unknown = await hub.admin('/api/v1/deployments', { method: 'POST', body: JSON.stringify({ modelType: 'face', version: 42 }) });
  assert.equal(unknown.status, 404);
  const noAuth = await fetch(`${hub.httpUrl}/api/v1/devices`);
  assert.equal(noAuth.status, 401);
  const wrongAuth = await fetch(`${hub.httpUrl}/api/v1/devices`, { headers: { authorization: 'Bearer nope' } });
  assert.equal(wrongAuth.status, 401);
  const list = (await (await hub.admin('/api/v1/devices')).json()) as { devices: { id: string }[] };
  assert.deepEqual(list.devices.map((d) => d.id), ['wash-1']);
});

test('secrets never reach the log', async () => {
  const res = await hub.admin('/api/v1/devices', { method: 'POST', body: JSON.stringify({ id: 'wash-9', role: 'laundry' }) });
  const { password } = (await res.json()) as { password: string };
  await waitFor(() => mem.lines().some((l) => l.deviceId === 'wash-9'), 'enrolment log line');
  const all = JSON.stringify(mem.lines());
  assert.ok(!all.includes(password), 'device secret not logged');
  assert.ok(!all.includes('test-admin-token'), 'admin token not logged');
});
