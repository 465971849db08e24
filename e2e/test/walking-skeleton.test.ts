import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { waitFor } from '@edgeloop/shared';
import { type Proc, startAgentProcess, startHubProcess } from './support/processes.js';

const ADMIN = 'e2e-admin-token-abcdefghij';
const tmp = mkdtempSync(join(tmpdir(), 'edgeloop-e2e-'));
const hubDir = join(tmp, 'hub');
let hub: Proc;
const agents: Proc[] = [];

const admin = (path: string, init: RequestInit = {}) =>
  fetch(`${hub.ready.httpUrl}${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' } });

before(async () => {
  hub = await startHubProcess(hubDir, ADMIN);
});
after(async () => {
  for (const a of agents) await a.stop();
  await hub?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

interface DeviceView {
  id: string;
  status: string;
  reported: { models: Record<string, { version: number | null; state: string }> } | null;
}

async function enrolAndStart(deviceId: string, role: 'gym-door' | 'laundry'): Promise<Proc> {
  const res = await admin('/api/v1/devices', { method: 'POST', body: JSON.stringify({ id: deviceId, role, branch: 'e2e' }) });
  assert.equal(res.status, 201);
  const { password } = (await res.json()) as { password: string };
  const agent = await startAgentProcess({
    deviceId,
    role,
    dataDir: join(tmp, deviceId),
    mqttUrl: hub.ready.mqttUrl ?? '',
    httpUrl: hub.ready.httpUrl ?? '',
    rootPem: [readFileSync(join(hubDir, 'keys', 'root.pub.pem'), 'utf8')],
    password,
  });
  agents.push(agent);
  return agent;
}

async function deviceActive(deviceId: string, modelType: string, version: number): Promise<DeviceView | null> {
  const { devices } = (await (await admin('/api/v1/devices')).json()) as { devices: DeviceView[] };
  const d = devices.find((x) => x.id === deviceId);
  const m = d?.reported?.models[modelType];
  return d && d.status === 'online' && m?.state === 'active' && m.version === version ? d : null;
}

test('hub signs v1, agents verify, download, load and serve; the hub sees them active', async () => {
  const door = await enrolAndStart('door-e2e-1', 'gym-door');
  const tablet = await enrolAndStart('laundry-e2e-1', 'laundry');

  await waitFor(() => deviceActive('door-e2e-1', 'face', 1), 'door agent active on face v1', { timeoutMs: 60_000 });
  await waitFor(() => deviceActive('laundry-e2e-1', 'laundry', 1), 'laundry agent active on laundry v1', { timeoutMs: 60_000 });

  // Face: a real photo (PGM) in, an embedding out.
  const pgm = readFileSync(join(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'orl_faces', 's1', '1.pgm'));
  const faceRes = await fetch(`${door.ready.apiUrl}/v1/infer`, { method: 'POST', body: pgm, headers: { 'content-type': 'image/x-portable-graymap' } });
  assert.equal(faceRes.status, 200);
  const face = (await faceRes.json()) as { modelType: string; version: number; result: { embedding: number[] } };
  assert.equal(face.modelType, 'face');
  assert.equal(face.version, 1);
  assert.equal(face.result.embedding.length, 32);
  assert.ok(Math.abs(Math.hypot(...face.result.embedding) - 1) < 1e-4, 'embedding is unit length');

  // Laundry: a JPEG in, a label with confidence out.
  const jpeg = await sharp({ create: { width: 320, height: 240, channels: 3, background: '#d8d4cc' } }).jpeg().toBuffer();
  const lRes = await fetch(`${tablet.ready.apiUrl}/v1/infer`, { method: 'POST', body: jpeg, headers: { 'content-type': 'image/jpeg' } });
  assert.equal(lRes.status, 200);
  const l = (await lRes.json()) as { modelType: string; version: number; result: { label: string; confidence: number; scores: Record<string, number> } };
  assert.equal(l.version, 1);
  assert.ok(['good', 'defect'].includes(l.result.label));
  assert.ok(l.result.confidence >= 0.5 && l.result.confidence <= 1);
  assert.ok(Math.abs((l.result.scores.good ?? 0) + (l.result.scores.defect ?? 0) - 1) < 1e-5);

  // Not an image: a clear 400, and the agent keeps serving.
  const bad = await fetch(`${tablet.ready.apiUrl}/v1/infer`, { method: 'POST', body: 'hello' });
  assert.equal(bad.status, 400);
  assert.equal((await fetch(`${tablet.ready.apiUrl}/v1/infer`, { method: 'POST', body: jpeg })).status, 200);
});

test('a second start of the hub reuses its data: same key, same versions, same devices', async () => {
  const keysOf = async () => {
    const k = (await (await fetch(`${hub.ready.httpUrl}/api/v1/keys`)).json()) as { root: unknown; keys: unknown; keySet: { signed: { version: number } } };
    return { root: k.root, keys: k.keys, keySetVersion: k.keySet.signed.version };
  };
  const keysBefore = await keysOf();
  await hub.stop();
  hub = await (await import('./support/processes.js')).startHubProcess(hubDir, ADMIN);
  assert.deepEqual(await keysOf(), keysBefore);
  const { versions } = (await (await admin('/api/v1/models/face/versions')).json()) as { versions: { version: number }[] };
  assert.deepEqual(versions.map((v) => v.version), [1]);
  const { devices } = (await (await admin('/api/v1/devices')).json()) as { devices: DeviceView[] };
  assert.deepEqual(devices.map((d) => d.id).sort(), ['door-e2e-1', 'laundry-e2e-1']);
});
