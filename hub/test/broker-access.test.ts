import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { deviceTopic, encodeMessage, FLEET_TOPICS, signedKeySetSchema, waitFor } from '@edgeloop/shared';
import { ADMIN_MQTT_USERNAME, AdminAcl, DeviceAcl } from '../src/broker/acl.js';
import { startTestHub, TEST_ADMIN_TOKEN, type TestHub } from './support/test-hub.js';

describe('DeviceAcl (pure rules)', () => {
  const acl = new DeviceAcl();
  test('a device publishes only device topics under its own id', () => {
    assert.equal(acl.canPublish('a', deviceTopic('state', 'a')).ok, true);
    assert.equal(acl.canPublish('a', deviceTopic('events', 'a')).ok, true);
    assert.equal(acl.canPublish('a', deviceTopic('state', 'b')).ok, false);
    assert.equal(acl.canPublish('a', deviceTopic('desired', 'a')).ok, false, 'desired state comes only from the hub');
    assert.equal(acl.canPublish('a', deviceTopic('cmd', 'a')).ok, false);
    assert.equal(acl.canPublish('a', 'edgeloop/v1/other').ok, false);
  });
  test('a device subscribes only inside its own subtree', () => {
    assert.equal(acl.canSubscribe('a', deviceTopic('desired', 'a')).ok, true);
    assert.equal(acl.canSubscribe('a', 'edgeloop/v1/devices/a/#').ok, true);
    assert.equal(acl.canSubscribe('a', deviceTopic('cmd', 'b')).ok, false);
    assert.equal(acl.canSubscribe('a', 'edgeloop/v1/devices/+/cmd').ok, false);
    assert.equal(acl.canSubscribe('a', '#').ok, false);
    assert.equal(acl.canSubscribe('a', 'edgeloop/v1/devices/ab/cmd').ok, false, 'prefix of another id does not match');
  });
});

describe('AdminAcl (pure rules)', () => {
  const acl = new AdminAcl();
  test('admin tools subscribe only to fleet topics and publish nothing', () => {
    assert.equal(acl.canSubscribe(FLEET_TOPICS.training.topic).ok, true);
    assert.equal(acl.canSubscribe('edgeloop/v1/fleet/#').ok, true);
    assert.equal(acl.canSubscribe(deviceTopic('cmd', 'a')).ok, false);
    assert.equal(acl.canSubscribe('#').ok, false);
    assert.equal(acl.canPublish(FLEET_TOPICS.training.topic).ok, false);
  });
});

describe('embedded broker with real MQTT clients', () => {
  let hub: TestHub;
  const creds: Record<string, string> = {};
  const clients: MqttClient[] = [];

  before(async () => {
    hub = await startTestHub();
    for (const id of ['door-a', 'door-b']) {
      const res = await hub.admin('/api/v1/devices', { method: 'POST', body: JSON.stringify({ id, role: 'gym-door', branch: 'x' }) });
      assert.equal(res.status, 201);
      creds[id] = ((await res.json()) as { password: string }).password;
    }
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await hub.close();
  });

  async function connect(id: string, password: string, clientId = id): Promise<MqttClient> {
    const c = await mqtt.connectAsync(hub.mqttUrl, { clientId, username: id, password, reconnectPeriod: 0, connectTimeout: 5000 });
    clients.push(c);
    return c;
  }

  function refused(id: string, password: string, clientId = id): Promise<string> {
    return new Promise((resolve) => {
      const c = mqtt.connect(hub.mqttUrl, { clientId, username: id, password, reconnectPeriod: 0, connectTimeout: 5000 });
      c.once('connect', () => {
        c.end(true);
        resolve('connected');
      });
      c.once('error', (err) => {
        c.end(true);
        resolve(err.message);
      });
    });
  }

  test('unknown devices, wrong secrets and borrowed client ids cannot connect', async () => {
    assert.match(await refused('door-x', 'whatever'), /Bad username or password|Not authorized/i);
    assert.match(await refused('door-a', 'wrong'), /Bad username or password|Not authorized/i);
    assert.match(await refused('door-a', creds['door-a'] ?? '', 'door-b'), /Bad username or password|Not authorized/i);
  });

  test('device A cannot read B commands nor publish as B; its own traffic reaches the hub', async () => {
    const a = await connect('door-a', creds['door-a'] ?? '');
    await assert.rejects(a.subscribeAsync(deviceTopic('cmd', 'door-b'), { qos: 1 }), /Subscribe error/, 'subscription to another device is refused');
    const own = await a.subscribeAsync(deviceTopic('desired', 'door-a'), { qos: 1 });
    assert.equal(own[0]?.qos, 1);

    // Publishing as B: the broker drops the connection of the offender, B's record is untouched.
    const closed = new Promise<void>((r) => a.once('close', () => r()));
    a.publish(deviceTopic('state', 'door-b'), encodeMessage('state', { status: 'offline', deviceId: 'door-b' }), { qos: 1 });
    await closed;
    assert.equal(hub.services.fleet.get('door-b').status, 'never-seen');

    const b = await connect('door-b', creds['door-b'] ?? '');
    await b.publishAsync(
      deviceTopic('state', 'door-b'),
      encodeMessage('state', {
        status: 'online',
        deviceId: 'door-b',
        role: 'gym-door',
        branch: 'x',
        at: new Date().toISOString(),
        agentVersion: 't',
        desiredRevision: null,
        models: {},
      }),
      { qos: 1, retain: true },
    );
    assert.equal(hub.services.fleet.get('door-b').status, 'online', 'stored before the broker acknowledged (QoS 1)');
  });

  test('a device receives only its own desired state', async () => {
    const a = await connect('door-a', creds['door-a'] ?? '', 'door-a');
    const got: string[] = [];
    a.on('message', (topic) => got.push(topic));
    await a.subscribeAsync(`edgeloop/v1/devices/door-a/#`, { qos: 1 });
    const face = hub.services.registry.active('face');
    assert.ok(face);
    await hub.services.fleet.setDesiredModel('door-b', 'face', face.signed);
    await hub.services.fleet.setDesiredModel('door-a', 'face', face.signed);
    await waitFor(() => got.includes(deviceTopic('desired', 'door-a')), 'own desired state');
    assert.ok(!got.some((t) => t.includes('door-b')));
  });

  test('admin tools sign in as _admin with the admin token only, read the fleet topics, and publish nothing', async () => {
    assert.match(await refused(ADMIN_MQTT_USERNAME, 'wrong-token', '_admin-1'), /Bad username or password|Not authorized/i);
    assert.match(await refused(ADMIN_MQTT_USERNAME, TEST_ADMIN_TOKEN, 'door-a'), /Bad username or password|Not authorized/i, 'an admin may not take a device id');

    const tool = await connect(ADMIN_MQTT_USERNAME, TEST_ADMIN_TOKEN, '_admin-tool');
    const keys = new Promise<Buffer>((resolve) => tool.on('message', (topic, payload) => topic === FLEET_TOPICS.keys.topic && resolve(payload)));
    assert.equal((await tool.subscribeAsync('edgeloop/v1/fleet/#', { qos: 1 }))[0]?.qos, 1);
    assert.equal(signedKeySetSchema.safeParse(JSON.parse((await keys).toString('utf8'))).success, true, 'the retained key set arrives');
    await assert.rejects(tool.subscribeAsync(deviceTopic('desired', 'door-a'), { qos: 1 }), /Subscribe error/, 'device topics are not for admin tools');

    const closed = new Promise<void>((r) => tool.once('close', () => r()));
    tool.publish(FLEET_TOPICS.training.topic, '{}', { qos: 1 });
    await closed; // the broker drops a client whose publish is refused
  });
});
