import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import sharp from 'sharp';
import { startAgent, agentConfigSchema, type RunningAgent } from '@edgeloop/edge-agent';
import { startHub, hubConfigSchema, type RunningHub } from '@edgeloop/hub';
import { createLogger, deviceTopic, generateSigningKeyPair, signEnvelope, waitFor, type DesiredState } from '@edgeloop/shared';
import { memoryLogger } from '@edgeloop/shared/testing';
import { createPrivateKey } from 'node:crypto';
import { buildBootstrapModel } from '../../hub/src/training/bootstrap-models.js';

const tmp = mkdtempSync(join(tmpdir(), 'edgeloop-refusals-'));
let hub: RunningHub;
let agent: RunningAgent;
const agentLog = memoryLogger();
const jpeg = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#ccc' } }).jpeg().toBuffer();

const events = (type: string) =>
  hub.services.db.prepare('SELECT data_json FROM device_events WHERE device_id = ? AND type = ? ORDER BY received_at').all('wash-r1', type).map((r) => JSON.parse((r as { data_json: string }).data_json) as { code: string; reason: string });

before(async () => {
  hub = await startHub(
    hubConfigSchema.parse({ dataDir: join(tmp, 'hub'), logLevel: 'silent', http: { port: 0 }, mqtt: { port: 0 }, admin: { token: 'x'.repeat(20) } }),
    createLogger({ name: 'hub', level: 'silent' }),
  );
  const { password } = hub.services.fleet.issueCredentials({ id: 'wash-r1', role: 'laundry', branch: 'b' });
  await hub.services.rollout.assignDefault('wash-r1');
  agent = await startAgent(
    agentConfigSchema.parse({
      deviceId: 'wash-r1',
      role: 'laundry',
      dataDir: join(tmp, 'agent'),
      hub: { mqttUrl: hub.mqttUrl, httpUrl: hub.httpUrl },
      mqtt: { password, reconnectMs: 200 },
      trust: { keysPem: hub.services.keys.publicKeys().map((k) => k.publicKeyPem) },
      api: { port: 0 },
      updates: { retryDelayMs: 50 },
    }),
    agentLog.log,
  );
  await waitFor(() => agent.slot.active?.version === 1, 'v1 active');
});
after(async () => {
  await agent.stop();
  await hub.stop();
  rmSync(tmp, { recursive: true, force: true });
});

async function stillServesV1(): Promise<void> {
  const res = await fetch(`${agent.apiUrl}/v1/infer`, { method: 'POST', body: jpeg });
  assert.equal(res.status, 200);
  assert.equal(((await res.json()) as { version: number }).version, 1);
}

test('a desired state signed by an unknown key is refused before anything is downloaded', async () => {
  const rogue = generateSigningKeyPair();
  const key = { keyId: rogue.keyId, privateKey: createPrivateKey(rogue.privateKeyPem), publicKeyPem: rogue.publicKeyPem };
  const v1 = hub.services.registry.get('laundry', 1).signed;
  const desired: DesiredState = {
    deviceId: 'wash-r1',
    revision: 99,
    issuedAt: new Date().toISOString(),
    expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    models: { laundry: { manifest: v1, rollback: false } },
  };
  await hub.services.broker?.publish('desired', 'wash-r1', signEnvelope(desired, key));
  await waitFor(() => events('refused').some((e) => e.code === 'signature'), 'signature refusal reported to the hub');
  assert.match(events('refused').find((e) => e.code === 'signature')?.reason ?? '', /not trusted/);
  assert.ok(agentLog.lines().some((l) => l.msg === 'desired state refused: signature'));
  await stillServesV1();
});

test('a manifest whose signature does not cover its content is refused', async () => {
  const v1 = hub.services.registry.get('laundry', 1).signed;
  const forged = { ...v1, signed: { ...v1.signed, version: 7, label: 'forged' } };
  // The desired state itself is properly signed by the hub: only the manifest inside is forged.
  const desired: DesiredState = {
    deviceId: 'wash-r1',
    revision: hub.services.fleet.get('wash-r1').desiredRevision, // does not move the device's revision forward
    issuedAt: new Date().toISOString(),
    expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    models: { laundry: { manifest: forged, rollback: false } },
  };
  await hub.services.broker?.publish('desired', 'wash-r1', signEnvelope(desired, hub.services.keys.signing));
  await waitFor(() => events('refused').some((e) => e.code === 'bad-signature'), 'manifest signature refusal');
  await stillServesV1();
});

test('a corrupt download is refused with a reason and nothing of it is kept', async () => {
  const m = buildBootstrapModel('laundry', 2);
  const v2 = await hub.services.registry.register({
    modelType: 'laundry',
    label: 'v2',
    files: [{ name: 'network.onnx', role: 'network', bytes: m.onnx }],
    preprocess: m.preprocess,
    labels: m.labels,
    metrics: {},
    parentVersion: 1,
    evidenceSha256: null,
    status: 'verified',
  });
  const file = v2.signed.signed.files[0];
  assert.ok(file);
  const onDisk = hub.services.artifacts.pathOf(file.sha256);
  const bytes = readFileSync(onDisk);
  bytes[bytes.length - 10] = (bytes[bytes.length - 10] ?? 0) ^ 0xff; // same size, different content
  writeFileSync(onDisk, bytes);
  await hub.services.rollout.deploy('laundry', 2, ['wash-r1']);
  await waitFor(() => events('refused').some((e) => e.code === 'integrity'), 'integrity refusal reported');
  assert.match(events('refused').find((e) => e.code === 'integrity')?.reason ?? '', /sha256/);
  assert.equal(readdirSync(join(tmp, 'agent', 'partial')).length, 0, 'no partial file left behind');
  assert.ok(!readdirSync(join(tmp, 'agent', 'blobs')).includes(file.sha256), 'corrupt file never stored');
  await stillServesV1();
});

test('malformed payloads from a rogue broker are logged and dropped; the agent keeps running', async () => {
  const broker = await Aedes.createBroker();
  const server = createServer(broker.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const log = memoryLogger();
  const rogueAgent = await startAgent(
    agentConfigSchema.parse({
      deviceId: 'wash-r2',
      role: 'laundry',
      dataDir: join(tmp, 'agent2'),
      hub: { mqttUrl: `mqtt://127.0.0.1:${port}`, httpUrl: hub.httpUrl },
      mqtt: { password: 'none' },
      trust: { keysPem: hub.services.keys.publicKeys().map((k) => k.publicKeyPem) },
      api: { port: 0 },
    }),
    log.log,
  );
  try {
    await waitFor(() => log.lines().some((l) => l.msg === 'mqtt connected'), 'agent connected to rogue broker');
    const attacker = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'attacker' });
    const topic = deviceTopic('desired', 'wash-r2');
    await attacker.publishAsync(topic, Buffer.from('not json at all'), { qos: 1 });
    await attacker.publishAsync(topic, Buffer.from(JSON.stringify({ signed: { deviceId: 'wash-r2' }, keyId: 'zz', signature: '' })), { qos: 1 });
    await attacker.publishAsync(topic, Buffer.from(JSON.stringify([1, 2, 3])), { qos: 1 });
    await waitFor(() => log.lines().filter((l) => l.msg === 'invalid mqtt payload dropped').length >= 3, 'three drops');
    const drops = log.lines().filter((l) => l.msg === 'invalid mqtt payload dropped');
    assert.match(String(drops[0]?.error), /not JSON/);
    assert.match(String(drops[1]?.error), /desired schema/);
    await attacker.endAsync();
    const health = await fetch(`${rogueAgent.apiUrl}/healthz`);
    assert.equal(health.status, 200);
    const noModel = await fetch(`${rogueAgent.apiUrl}/v1/infer`, { method: 'POST', body: jpeg });
    assert.equal(noModel.status, 503, 'no model installed: a clear 503, not a crash');
  } finally {
    await rogueAgent.stop();
    await new Promise<void>((r) => broker.close(() => r()));
    server.close();
  }
});
