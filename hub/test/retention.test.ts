import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { buildBootstrapModel } from '../src/training/bootstrap-models.js';
import { startTestHub, type TestHub } from './support/test-hub.js';

let hub: TestHub;
before(async () => {
  hub = await startTestHub();
});
after(async () => {
  await hub.close();
});

async function register(seed: number) {
  return hub.services.registry.registerNetwork(buildBootstrapModel('laundry', seed), { label: `seed ${seed}`, status: 'verified' });
}

test('the registry keeps the last 10 versions, plus pinned, active and in-use ones, and drops unused files', async () => {
  const s = hub.services;
  // v1 is the active bootstrap version. v2 gets pinned; v3 is what a device is told to run.
  const v2 = await register(2);
  const v3 = await register(3);
  const pin = await hub.admin('/api/v1/models/laundry/versions/2/pin', { method: 'POST', body: JSON.stringify({ pinned: true }) });
  assert.equal(pin.status, 200);
  s.fleet.issueCredentials({ id: 'keep-1', role: 'laundry', branch: 'x' });
  await s.fleet.setDesiredModel('keep-1', 'laundry', v3.signed);
  const v4 = await register(4);
  const v4File = v4.signed.signed.files[0]?.sha256 ?? '';
  for (let seed = 5; seed <= 16; seed++) await register(seed);

  const versions = s.registry.list('laundry').map((v) => v.version).sort((a, b) => a - b);
  assert.deepEqual(versions, [1, 2, 3, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
  assert.equal(existsSync(s.artifacts.pathOf(v4File)), false, "a pruned version's file is deleted");
  assert.equal(existsSync(s.artifacts.pathOf(v2.signed.signed.files[0]?.sha256 ?? '')), true);
  const gone = await fetch(`${hub.httpUrl}/api/v1/models/laundry/versions/4/manifest`);
  assert.equal(gone.status, 404);
  const badPin = await hub.admin('/api/v1/models/laundry/versions/4/pin', { method: 'POST', body: JSON.stringify({ pinned: true }) });
  assert.equal(badPin.status, 404);
});

test('health history is kept per device with bounded retention and served to admins', async () => {
  const s = hub.services;
  s.fleet.issueCredentials({ id: 'health-1', role: 'laundry', branch: 'x' });
  for (let i = 0; i < 1005; i++) {
    s.fleet.onTelemetry('health-1', {
      deviceId: 'health-1',
      at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
      health: { cpuLoad: i % 100, memUsedBytes: 1, memTotalBytes: 2, diskFreeBytes: 3, temperatureC: null },
      inference: {},
    });
  }
  const rows = s.db.prepare("SELECT COUNT(*) AS n FROM device_health WHERE device_id = 'health-1'").get() as { n: number };
  assert.equal(rows.n, 1000, 'oldest reports dropped beyond 1000');
  const res = await hub.admin('/api/v1/devices/health-1/health?limit=3');
  const body = (await res.json()) as { health: { health: { cpuLoad: number } }[] };
  assert.deepEqual(body.health.map((h) => h.health.cpuLoad), [4, 3, 2], 'newest first');
  assert.equal((await hub.admin('/api/v1/devices/health-1/health?limit=0')).status, 400);
  assert.equal((await hub.admin('/api/v1/devices/nobody/health')).status, 404);
});

test('enrolment tokens over HTTP: issued by admins only, spent once', async () => {
  const noAuth = await fetch(`${hub.httpUrl}/api/v1/enrolment-tokens`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
  assert.equal(noAuth.status, 401);
  const res = await hub.admin('/api/v1/enrolment-tokens', { method: 'POST', body: JSON.stringify({ role: 'gym-door', branch: 'west', deviceId: 'door-w1' }) });
  assert.equal(res.status, 201);
  const { token } = (await res.json()) as { token: string };
  const enrol = (deviceId: string) => fetch(`${hub.httpUrl}/api/v1/enrol`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, deviceId }) });
  assert.equal((await enrol('door-w2')).status, 401, 'token bound to another device id');
  const ok = await enrol('door-w1');
  assert.equal(ok.status, 201);
  const creds = (await ok.json()) as { password: string; rootKeysPem: string[] };
  assert.ok(hub.services.fleet.authenticate('door-w1', creds.password));
  assert.equal(creds.rootKeysPem[0], hub.services.keys.root.publicKeyPem);
  assert.equal((await enrol('door-w1')).status, 401, 'spent');
  assert.equal((await fetch(`${hub.httpUrl}/api/v1/enrol`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"token":1}' })).status, 400);
});
