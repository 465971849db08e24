import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  type DesiredState,
  type Manifest,
  type SigningKey,
  TOPICS,
  TOPIC_PREFIX,
  TrustStore,
  allDevicesFilter,
  decodeMessage,
  deviceTopic,
  encodeMessage,
  generateSigningKeyPair,
  manifestSchema,
  parseTopic,
  signEnvelope,
} from '../src/index.js';

function signingKey(): SigningKey {
  const pair = generateSigningKeyPair();
  return { keyId: pair.keyId, privateKey: createPrivateKey(pair.privateKeyPem), publicKeyPem: pair.publicKeyPem };
}

const HASH = 'a'.repeat(64);

function manifest(keyId: string): Manifest {
  return manifestSchema.parse({
    schema: 'edgeloop.manifest/v1',
    modelType: 'face',
    version: 3,
    label: 'face v3',
    files: [{ name: 'model.onnx', role: 'network', sha256: HASH, size: 1234 }],
    preprocess: { width: 92, height: 112, channels: 1, mean: [0.5], std: [0.5], inputName: 'input', outputName: 'embedding' },
    labels: [],
    createdAt: '2025-01-01T00:00:00.000Z',
    expiresAt: '2030-01-01T00:00:00Z',
    keyId,
    metrics: { accuracy: 0.97 },
    parentVersion: 2,
    evidenceSha256: null,
  });
}

function desiredState(deviceId: string, key: SigningKey): DesiredState {
  return {
    deviceId,
    revision: 5,
    issuedAt: '2025-01-02T00:00:00Z',
    expiresAt: '2025-01-09T00:00:00+02:00',
    models: { face: { manifest: signEnvelope(manifest(key.keyId), key), rollback: false } },
  };
}

const onlineState = (deviceId: string) => ({
  status: 'online' as const,
  deviceId,
  role: 'gym-door' as const,
  branch: 'main',
  at: '2025-01-01T12:00:00Z',
  agentVersion: '0.1.0',
  desiredRevision: 4,
  models: { face: { version: 3, state: 'active' as const, reason: '', lastKnownGood: 2, refusedVersions: [] } },
});

describe('topic names', () => {
  test('deviceTopic builds edgeloop/v1/devices/{id}/{suffix}', () => {
    assert.equal(TOPIC_PREFIX, 'edgeloop/v1');
    assert.equal(deviceTopic('state', 'door-1'), 'edgeloop/v1/devices/door-1/state');
    assert.equal(deviceTopic('desired', 'door-1'), 'edgeloop/v1/devices/door-1/desired');
    assert.equal(deviceTopic('telemetry', 'l2'), 'edgeloop/v1/devices/l2/telemetry');
  });

  test('allDevicesFilter uses a single-level wildcard for the device', () => {
    assert.equal(allDevicesFilter('events'), 'edgeloop/v1/devices/+/events');
    assert.equal(allDevicesFilter('state'), 'edgeloop/v1/devices/+/state');
  });

  test('parseTopic inverts deviceTopic for every topic kind', () => {
    for (const name of Object.keys(TOPICS) as (keyof typeof TOPICS)[]) {
      assert.deepEqual(parseTopic(deviceTopic(name, 'dev-42')), { name, deviceId: 'dev-42' });
    }
  });

  test('parseTopic rejects a wrong prefix', () => {
    assert.equal(parseTopic('edgeloop/v2/devices/door-1/state'), null);
    assert.equal(parseTopic('other/v1/devices/door-1/state'), null);
    assert.equal(parseTopic('edgeloop/v1/device/door-1/state'), null);
  });

  test('parseTopic rejects the wrong depth', () => {
    assert.equal(parseTopic('edgeloop/v1/devices/door-1'), null);
    assert.equal(parseTopic('edgeloop/v1/devices/door-1/state/extra'), null);
    assert.equal(parseTopic('edgeloop/v1/devices/door-1/state/'), null);
    assert.equal(parseTopic(''), null);
  });

  test('parseTopic rejects an unknown suffix', () => {
    assert.equal(parseTopic('edgeloop/v1/devices/door-1/status'), null);
    assert.equal(parseTopic('edgeloop/v1/devices/door-1/State'), null);
  });

  test('parseTopic rejects bad device ids', () => {
    for (const id of ['A B', 'Door-1', '', '-door', 'door_1', 'x'.repeat(65), '+', '#']) {
      assert.equal(parseTopic(`edgeloop/v1/devices/${id}/state`), null, `device id ${JSON.stringify(id)}`);
    }
    assert.deepEqual(parseTopic(`edgeloop/v1/devices/${'x'.repeat(64)}/state`), { name: 'state', deviceId: 'x'.repeat(64) });
  });
});

describe('decodeMessage', () => {
  test('a valid state payload decodes, from a string, Buffer or Uint8Array', () => {
    const json = JSON.stringify(onlineState('door-1'));
    for (const payload of [json, Buffer.from(json), new Uint8Array(Buffer.from(json))]) {
      const res = decodeMessage(deviceTopic('state', 'door-1'), payload);
      assert.ok(res.ok, JSON.stringify(res));
      assert.equal(res.name, 'state');
      assert.equal(res.deviceId, 'door-1');
      assert.deepEqual(res.payload, onlineState('door-1'));
    }
  });

  test('an unknown topic is refused without throwing', () => {
    const res = decodeMessage('edgeloop/v1/devices/door-1/nope', '{}');
    assert.deepEqual(res, { ok: false, topic: 'edgeloop/v1/devices/door-1/nope', error: 'unknown topic' });
  });

  test('a payload that is not JSON is refused with an error that says so', () => {
    const topic = deviceTopic('state', 'door-1');
    for (const payload of ['{not json', '', Buffer.from([0xff, 0xfe])]) {
      const res = decodeMessage(topic, payload);
      assert.equal(res.ok, false);
      assert.ok(!res.ok);
      assert.equal(res.topic, topic);
      assert.match(res.error, /JSON/);
    }
  });

  test('a schema mismatch is refused and the error lists the offending paths', () => {
    const bad = { ...onlineState('door-1'), at: 'yesterday', models: { face: { version: -1, state: 'active', reason: '', lastKnownGood: null } } };
    const res = decodeMessage(deviceTopic('state', 'door-1'), JSON.stringify(bad));
    assert.ok(!res.ok);
    assert.match(res.error, /state schema/);
    assert.match(res.error, /\bat:/);
    assert.match(res.error, /models\.face\.version/);
  });

  test('a root-level mismatch is reported as (root)', () => {
    const res = decodeMessage(deviceTopic('telemetry', 'door-1'), '42');
    assert.ok(!res.ok);
    assert.match(res.error, /\(root\)/);
  });

  test('a payload naming another device than its topic is refused', () => {
    const res = decodeMessage(deviceTopic('state', 'door-1'), JSON.stringify(onlineState('door-2')));
    assert.ok(!res.ok);
    assert.match(res.error, /door-2/);
    assert.match(res.error, /door-1/);
  });

  test('the offline last-will form is accepted', () => {
    const res = decodeMessage(deviceTopic('state', 'door-1'), '{"status":"offline","deviceId":"door-1"}');
    assert.ok(res.ok);
    assert.deepEqual(res.payload, { status: 'offline', deviceId: 'door-1' });
    const wrongDevice = decodeMessage(deviceTopic('state', 'door-1'), '{"status":"offline","deviceId":"door-9"}');
    assert.equal(wrongDevice.ok, false);
  });

  test('an unknown status is refused', () => {
    const res = decodeMessage(deviceTopic('state', 'door-1'), '{"status":"sleeping","deviceId":"door-1"}');
    assert.equal(res.ok, false);
  });

  test('a signed desired state decodes on the desired topic and still verifies', () => {
    const key = signingKey();
    const envelope = signEnvelope(desiredState('door-1', key), key);
    const res = decodeMessage(deviceTopic('desired', 'door-1'), JSON.stringify(envelope));
    assert.ok(res.ok, JSON.stringify(res));
    assert.equal(res.name, 'desired');
    if (res.name !== 'desired') return;
    assert.deepEqual(res.payload, envelope);
    const trust = new TrustStore([key.publicKeyPem]);
    const desired = trust.verify(res.payload);
    assert.equal(desired.revision, 5);
    const signedManifest = desired.models.face?.manifest;
    assert.ok(signedManifest);
    assert.equal(trust.verify(signedManifest).version, 3);
  });

  test('a desired state for another device is refused (checked inside `signed`)', () => {
    const key = signingKey();
    const envelope = signEnvelope(desiredState('door-2', key), key);
    const res = decodeMessage(deviceTopic('desired', 'door-1'), JSON.stringify(envelope));
    assert.ok(!res.ok);
    assert.match(res.error, /door-2/);
  });

  test('a desired state with a malformed manifest is refused', () => {
    const key = signingKey();
    const state = desiredState('door-1', key);
    const face = state.models.face;
    assert.ok(face);
    const broken = { ...state, models: { face: { ...face, manifest: { ...face.manifest, signed: { ...face.manifest.signed, version: 0 } } } } };
    const res = decodeMessage(deviceTopic('desired', 'door-1'), JSON.stringify(signEnvelope(broken, key)));
    assert.ok(!res.ok);
    assert.match(res.error, /signed\.models\.face\.manifest\.signed\.version/);
  });

  test('a command carries no device id and decodes on any device topic', () => {
    const cmd = { id: '0f8fad5b-d9cb-469f-a165-70867728950e', type: 'resync', at: '2025-01-01T00:00:00Z' };
    const res = decodeMessage(deviceTopic('cmd', 'door-3'), JSON.stringify(cmd));
    assert.ok(res.ok);
    assert.equal(res.deviceId, 'door-3');
  });
});

describe('encodeMessage', () => {
  test('round-trips a valid payload through decodeMessage', () => {
    const bytes = encodeMessage('state', onlineState('door-1'));
    assert.ok(Buffer.isBuffer(bytes));
    const res = decodeMessage(deviceTopic('state', 'door-1'), bytes);
    assert.ok(res.ok);
    assert.deepEqual(res.payload, onlineState('door-1'));
  });

  test('round-trips the offline form and telemetry', () => {
    const offline = decodeMessage(deviceTopic('state', 'x1'), encodeMessage('state', { status: 'offline', deviceId: 'x1' }));
    assert.ok(offline.ok);
    const telemetry = {
      deviceId: 'x1',
      at: '2025-01-01T00:00:00Z',
      health: { cpuLoad: 0.3, memUsedBytes: 1, memTotalBytes: 2, diskFreeBytes: 3, temperatureC: null },
      inference: { 'face@3': { count: 10, errors: 0, p50: 1.5, p95: 3, p99: 4 } },
    };
    const res = decodeMessage(deviceTopic('telemetry', 'x1'), encodeMessage('telemetry', telemetry));
    assert.ok(res.ok);
    assert.deepEqual(res.payload, telemetry);
  });

  test('round-trips a signed desired state whose signature still verifies', () => {
    const key = signingKey();
    const envelope = signEnvelope(desiredState('door-1', key), key);
    const res = decodeMessage(deviceTopic('desired', 'door-1'), encodeMessage('desired', envelope));
    assert.ok(res.ok && res.name === 'desired');
    assert.equal(new TrustStore([key.publicKeyPem]).verify(res.payload).deviceId, 'door-1');
  });

  test('never changes what was signed: signed content is strict, so parsing adds, drops and coerces nothing', () => {
    const key = signingKey();
    const desired = desiredState('door-1', key);
    const envelope = signEnvelope(desired, key);
    const bytes = encodeMessage('desired', envelope);
    assert.deepEqual(JSON.parse(bytes.toString('utf8')).signed, desired, 'published bytes carry the signed content unchanged');

    // Missing `rollback`: refused, not silently defaulted (a default would break the signature).
    const { models, ...rest } = desired;
    const face = models.face;
    assert.ok(face);
    const missing = signEnvelope({ ...rest, models: { face: { manifest: face.manifest } } }, key);
    const r1 = decodeMessage(deviceTopic('desired', 'door-1'), JSON.stringify(missing));
    assert.equal(r1.ok, false);
    assert.match(r1.ok ? '' : r1.error, /rollback/);

    // An unknown key inside signed content: refused, not stripped.
    const extra = signEnvelope({ ...desired, extra: 1 }, key);
    const r2 = decodeMessage(deviceTopic('desired', 'door-1'), JSON.stringify(extra));
    assert.equal(r2.ok, false);
    assert.match(r2.ok ? '' : r2.error, /extra/);
  });

  test('throws on invalid payloads', () => {
    assert.throws(() => encodeMessage('state', { status: 'offline', deviceId: 'Not Valid' }));
    assert.throws(() => encodeMessage('state', { ...onlineState('door-1'), role: 'kiosk' } as never));
    assert.throws(() => encodeMessage('telemetry', {} as never));
    assert.throws(() => encodeMessage('cmd', { id: 'not-a-uuid', type: 'resync', at: '2025-01-01T00:00:00Z' }));
  });
});
