import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { agentConfigSchema, type RunningAgent, startAgent } from '@edgeloop/edge-agent';
import { hubConfigSchema, type RunningHub, startHub } from '@edgeloop/hub';
import { createLogger, waitFor } from '@edgeloop/shared';
import { buildBootstrapModel } from '../../hub/src/training/bootstrap-models.js';
import { buildFaultModel } from '../../hub/src/training/fault-models.js';
import type { BootstrapModel } from '../../hub/src/training/bootstrap-models.js';
import { testPhoto } from './support/fleet.js';

// A real hub and four real agents in-process (two branches). Rollout windows are short for the test.
const tmp = mkdtempSync(join(tmpdir(), 'edgeloop-canary-'));
const ADMIN = { authorization: 'Bearer canary-admin-token-0000', 'content-type': 'application/json' };
let hub: RunningHub;
const agents = new Map<string, RunningAgent>();
let photo: Buffer;
let driving = true;
let driver: Promise<void>;

async function startDevice(id: string, branch: string): Promise<void> {
  const { password } = hub.services.fleet.issueCredentials({ id, role: 'laundry', branch });
  await hub.services.rollout.assignDefault(id);
  const agent = await startAgent(
    agentConfigSchema.parse({
      deviceId: id,
      role: 'laundry',
      branch,
      dataDir: join(tmp, id),
      hub: { mqttUrl: hub.mqttUrl, httpUrl: hub.httpUrl },
      mqtt: { password, reconnectMs: 200 },
      trust: { rootKeysPem: [hub.services.keys.root.publicKeyPem] },
      api: { port: 0 },
      telemetry: { intervalMs: 200 },
      // The agents' own latency watch is as lenient as the hub's (see the hub config below): this file is about errors.
      watch: { windowMs: 60_000, checkIntervalMs: 50, minErrors: 3, maxErrorRate: 0.05, minRequests: 15, maxP95Ms: 30_000, p95Factor: 10, minP95DeltaMs: 2_000 },
    }),
    createLogger({ name: id, level: 'silent' }),
  );
  agents.set(id, agent);
}

async function register(model: BootstrapModel) {
  return hub.services.registry.registerNetwork(model, { label: 'candidate', status: 'verified' });
}

const active = (id: string) => agents.get(id)?.slot.active?.version;
const api = (path: string, body?: unknown) => fetch(`${hub.httpUrl}/api/v1${path}`, { method: body === undefined ? 'GET' : 'POST', headers: ADMIN, body: body === undefined ? undefined : JSON.stringify(body) });

before(async () => {
  hub = await startHub(
    hubConfigSchema.parse({
      dataDir: join(tmp, 'hub'),
      logLevel: 'silent',
      http: { port: 0 },
      mqtt: { port: 0 },
      admin: { token: 'canary-admin-token-0000' },
      // Four agents share this process and the machine's cores with other tests, so a latency gap
      // between the groups is noise here: these tests judge on errors and rollbacks (the latency rule
      // has its own unit tests in hub/test/canary-policy.test.ts).
      rollout: { checkIntervalMs: 100, observeMs: 4_000, reportTimeoutMs: 30_000, minRequests: 10, p95Factor: 5, minP95DeltaMs: 1_000 },
    }),
    createLogger({ name: 'hub', level: 'silent' }),
  );
  photo = await testPhoto();
  for (const [id, branch] of [['wash-a1', 'a'], ['wash-a2', 'a'], ['wash-b1', 'b'], ['wash-b2', 'b']] as const) await startDevice(id, branch);
  await waitFor(() => [...agents.keys()].every((id) => active(id) === 1 && hub.services.fleet.get(id).status === 'online'), 'fleet on v1');
  // Traffic on every device for the whole test, as a branch would send.
  driver = (async () => {
    while (driving) {
      await Promise.all([...agents.values()].map((a) => fetch(`${a.apiUrl}/v1/infer`, { method: 'POST', body: photo }).then((r) => r.arrayBuffer()).catch(() => null)));
    }
  })();
});
after(async () => {
  driving = false;
  await driver;
  for (const a of agents.values()) await a.stop();
  await hub.stop();
  rmSync(tmp, { recursive: true, force: true });
});

test('a good version goes to a canary, holds against the control group and is promoted to all', async () => {
  const v2 = await register(buildBootstrapModel('laundry', 2));
  const res = await api('/rollouts', { modelType: 'laundry', version: v2.version });
  assert.equal(res.status, 201);
  const rollout = (await res.json()) as { id: number; canary: string[]; control: string[] };
  assert.equal(rollout.canary.length, 1, 'under 10% of 4 devices, at least one');
  assert.equal(rollout.control.length, 3);
  const conflict = await api('/rollouts', { modelType: 'laundry', version: v2.version });
  assert.equal(conflict.status, 409, 'one rollout per model type at a time');

  await waitFor(() => active(rollout.canary[0] ?? '') === v2.version, 'canary on v2', { timeoutMs: 60_000 });
  assert.ok(rollout.control.every((id) => active(id) === 1), 'control stays on v1 while observing');
  const ended = await waitFor(() => (hub.services.rollouts.get(rollout.id).status !== 'canary' ? hub.services.rollouts.get(rollout.id) : null), 'a verdict', { timeoutMs: 90_000 });
  assert.equal(ended.status, 'promoted', `the good canary was ${ended.status}: ${ended.reason}`);
  await waitFor(() => [...agents.keys()].every((id) => active(id) === v2.version), 'all devices on v2', { timeoutMs: 60_000 });
  assert.equal(hub.services.registry.active('laundry')?.version, v2.version);
  const types = hub.services.events.list({ limit: 50 }).map((e) => e.type);
  assert.ok(types.includes('RolloutStarted') && types.includes('RolloutPromoted') && types.includes('ModelDeployed'));
  const figures = hub.services.rollouts.get(rollout.id).figures;
  assert.ok(figures && figures.canary.requests > 0 && figures.control.requests > 0, 'decided on live figures of both groups');
});

test('a canary that breaks is aborted: the canary devices get a signed rollback, the rest never see it', async () => {
  const bad = await register(buildFaultModel('throws', 9));
  const res = await api('/rollouts', { modelType: 'laundry', version: bad.version });
  const rollout = (await res.json()) as { id: number; canary: string[]; control: string[] };
  const done = await waitFor(() => (hub.services.rollouts.get(rollout.id).status === 'aborted' ? hub.services.rollouts.get(rollout.id) : null), 'aborted', { timeoutMs: 90_000 });
  assert.match(done.reason, /rolled back by themselves|error rate/);
  await waitFor(() => rollout.canary.every((id) => active(id) === 2), 'canary back on v2', { timeoutMs: 60_000 });
  assert.ok(rollout.control.every((id) => active(id) === 2), 'control never left v2');
  assert.equal(hub.services.registry.get('laundry', bad.version).status, 'rolled-back');
  const desired = hub.services.fleet.get(rollout.canary[0] ?? '').desired.laundry;
  assert.deepEqual(desired, { version: 2, rollback: true }, 'a signed rollback directive');
  const types = hub.services.events.list({ limit: 50 }).map((e) => e.type);
  assert.ok(types.includes('RolloutAborted') && types.includes('ModelRolledBack'));
});

test('a canary device that never reports counts as failed, so the rollout cannot hang', async () => {
  const v4 = await register(buildBootstrapModel('laundry', 4));
  const res = await api('/rollouts', { modelType: 'laundry', version: v4.version, reportTimeoutMs: 1_500 });
  const rollout = (await res.json()) as { id: number; canary: string[] };
  const silent = rollout.canary[0] ?? '';
  await agents.get(silent)?.stop();
  agents.delete(silent);
  const done = await waitFor(() => (hub.services.rollouts.get(rollout.id).status === 'aborted' ? hub.services.rollouts.get(rollout.id) : null), 'aborted for silence', { timeoutMs: 90_000 });
  assert.match(done.reason, /did not report/);
  // Manual controls answer too.
  assert.equal((await api(`/rollouts/${rollout.id}/promote`, {})).status, 409, 'an ended rollout cannot be promoted');
  assert.equal((await api('/rollouts/999/abort', {})).status, 404);
});
