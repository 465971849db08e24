import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import mqtt from 'mqtt';
import { hubConfigSchema, type RunningHub, startHub } from '@edgeloop/hub';
import { createLogger, type ReportedModel, waitFor } from '@edgeloop/shared';
import { type Proc, startAgentProcess } from './support/processes.js';

const tmp = mkdtempSync(join(tmpdir(), 'edgeloop-tls-'));
const cert = join(tmp, 'hub.crt');
const key = join(tmp, 'hub.key');
let hub: RunningHub;

before(async () => {
  // A self-signed certificate for 127.0.0.1, made with the real openssl binary.
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  hub = await startHub(
    hubConfigSchema.parse({ dataDir: join(tmp, 'hub'), logLevel: 'silent', http: { port: 0 }, mqtt: { port: 0 }, admin: { token: 'tls-admin-token-000000' }, tls: { certFile: cert, keyFile: key } }),
    createLogger({ name: 'hub', level: 'silent' }),
  );
});
after(async () => {
  await hub.stop();
  rmSync(tmp, { recursive: true, force: true });
});

function reported(id: string): ReportedModel | undefined {
  const r = hub.services.fleet.get(id).reported;
  return r?.status === 'online' ? r.models.laundry : undefined;
}

function agent(deviceId: string, token: string): Promise<Proc> {
  return startAgentProcess({
    deviceId,
    role: 'laundry',
    dataDir: join(tmp, deviceId),
    mqttUrl: hub.mqttUrl,
    httpUrl: hub.httpUrl,
    rootPem: [hub.services.keys.root.publicKeyPem],
    password: '',
    env: { EDGELOOP_AGENT_ENROLMENT__TOKEN: token, EDGELOOP_AGENT_HUB__CA_FILE: cert, NODE_EXTRA_CA_CERTS: cert },
  });
}

test('over TLS, a device enrols with a one-time token, converges, and is locked out once revoked', async () => {
  assert.match(hub.mqttUrl, /^mqtts:/);
  assert.match(hub.httpUrl, /^https:/);
  const status = await new Promise<number>((resolve, reject) => get(`${hub.httpUrl}/healthz`, { ca: readFileSync(cert) }, (res) => resolve(res.statusCode ?? 0)).on('error', reject));
  assert.equal(status, 200);

  const { token } = hub.services.enrolment.createToken({ role: 'laundry', branch: 'east', ttlHours: 1 });
  const a = await agent('tls-tablet-1', token);
  try {
    await waitFor(() => reported('tls-tablet-1')?.state === 'active' && reported('tls-tablet-1')?.version === 1, 'enrolled device active over TLS', { timeoutMs: 60_000 });
    const stored = JSON.parse(readFileSync(join(tmp, 'tls-tablet-1', 'credentials.json'), 'utf8')) as { password: string };
    assert.ok(stored.password.length > 20);
    assert.equal(hub.services.fleet.get('tls-tablet-1').branch, 'east', 'role and branch come from the token');

    // The token is spent.
    assert.throws(() => hub.services.enrolment.enrol(token, 'tls-tablet-2'), /already used/);

    // Revocation: disconnected, and the same credentials no longer connect.
    await hub.services.fleet.revoke('tls-tablet-1');
    await waitFor(() => hub.services.fleet.get('tls-tablet-1').status === 'revoked', 'revoked');
    const err = await new Promise<string>((resolve) => {
      const c = mqtt.connect(hub.mqttUrl, { clientId: 'tls-tablet-1', username: 'tls-tablet-1', password: stored.password, ca: readFileSync(cert), reconnectPeriod: 0 });
      c.once('connect', () => {
        c.end(true);
        resolve('connected');
      });
      c.once('error', (e) => {
        c.end(true);
        resolve(e.message);
      });
    });
    assert.match(err, /Bad username or password|Not authorized/i);
  } finally {
    await a.stop();
  }
});

test('an expired or unknown enrolment token gets no credentials, and the agent says why', async () => {
  const { token } = hub.services.enrolment.createToken({ role: 'laundry', branch: 'east', ttlHours: 1 / 3_600_000 });
  await new Promise((r) => setTimeout(r, 5));
  assert.throws(() => hub.services.enrolment.enrol(token, 'late-1'), /expired/);
  const p = agent('late-2', 'not-a-real-token-0123456789');
  await assert.rejects(p, /enrolment refused \(HTTP 401\)/);
});

test('the exit of a refused agent is an error, not a hang', async () => {
  const p = startAgentProcess({ deviceId: 'nobody', role: 'laundry', dataDir: join(tmp, 'nobody'), mqttUrl: hub.mqttUrl, httpUrl: hub.httpUrl, rootPem: [hub.services.keys.root.publicKeyPem], password: '', env: { NODE_EXTRA_CA_CERTS: cert } });
  await assert.rejects(p, /no MQTT password configured/);
});
