import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { hubConfigSchema, type RunningHub, startHub } from '@edgeloop/hub';
import { createLogger, type ReportedModel, waitFor } from '@edgeloop/shared';
import { buildBootstrapModel } from '../../hub/src/training/bootstrap-models.js';
import { testPhoto } from './support/fleet.js';
import { exited, type Proc, startAgentProcess } from './support/processes.js';

// The agent runs as a real child process and is killed with a real SIGKILL (armed failpoint) at
// each step of an update; after a restart it must serve a valid model at once and converge.

const tmp = mkdtempSync(join(tmpdir(), 'edgeloop-crash-'));
let hub: RunningHub;
let photo: Buffer;

before(async () => {
  hub = await startHub(
    hubConfigSchema.parse({ dataDir: join(tmp, 'hub'), logLevel: 'silent', http: { port: 0 }, mqtt: { port: 0 }, admin: { token: 'crash-admin-token-xyz' } }),
    createLogger({ name: 'hub', level: 'silent' }),
  );
  photo = await testPhoto();
});
after(async () => {
  await hub.stop();
  rmSync(tmp, { recursive: true, force: true });
});

async function register(seed: number): Promise<number> {
  // 3 MB of weights: the download spans many chunks, so "midway" is a real partial file.
  const model = buildBootstrapModel('laundry', seed, { paddingBytes: 3_000_000 });
  return (await hub.services.registry.registerNetwork(model, { label: `seed ${seed}`, status: 'verified' })).version;
}

function agentEnv(deviceId: string, password: string, env: Record<string, string> = {}) {
  return {
    deviceId,
    role: 'laundry' as const,
    dataDir: join(tmp, deviceId),
    mqttUrl: hub.mqttUrl,
    httpUrl: hub.httpUrl,
    rootPem: [hub.services.keys.root.publicKeyPem],
    password,
    env,
  };
}

async function served(agent: Proc): Promise<number> {
  const res = await fetch(`${agent.ready.apiUrl}/v1/infer`, { method: 'POST', body: photo });
  assert.equal(res.status, 200, 'serves right after restart');
  return ((await res.json()) as { version: number }).version;
}

function reported(deviceId: string): ReportedModel | undefined {
  const r = hub.services.fleet.get(deviceId).reported;
  return r?.status === 'online' ? r.models.laundry : undefined;
}

for (const point of ['download-midway', 'before-verify', 'after-install', 'after-switch'] as const) {
  test(`SIGKILL at ${point}: the restarted agent serves a valid model at once and converges`, async () => {
    const deviceId = `crash-${point}`;
    const { password } = hub.services.fleet.issueCredentials({ id: deviceId, role: 'laundry', branch: 'x' });
    await hub.services.rollout.assignDefault(deviceId);
    let agent = await startAgentProcess(agentEnv(deviceId, password));
    await waitFor(() => reported(deviceId)?.version === 1, 'v1 active');
    await agent.stop();

    agent = await startAgentProcess(agentEnv(deviceId, password, { EDGELOOP_AGENT_TESTING__FAILPOINT: point }));
    const version = await register(100 + point.length);
    await hub.services.rollout.deploy('laundry', version, [deviceId]);
    assert.equal(await exited(agent), 'SIGKILL');

    agent = await startAgentProcess(agentEnv(deviceId, password));
    try {
      const first = await served(agent);
      assert.ok(first === 1 || first === version, `served v${first}`);
      if (point === 'after-install' || point === 'after-switch') assert.equal(first, version, 'the persisted active version boots');
      await waitFor(() => reported(deviceId)?.version === version && reported(deviceId)?.state === 'active', `v${version} active after restart`, { timeoutMs: 60_000 });
      assert.equal(await served(agent), version);
      if (point === 'download-midway') {
        const resumed = agent.logs.find((l) => l.msg === 'resuming download');
        assert.ok(resumed && Number(resumed.offset) > 0, 'the download resumed with a Range request');
      }
    } finally {
      await agent.stop();
    }
  });
}

test('when the active model no longer loads at boot, the last-known-good one boots and the hub is told', async () => {
  const deviceId = 'crash-lkg';
  const { password } = hub.services.fleet.issueCredentials({ id: deviceId, role: 'laundry', branch: 'x' });
  await hub.services.rollout.assignDefault(deviceId);
  let agent = await startAgentProcess(agentEnv(deviceId, password));
  await waitFor(() => reported(deviceId)?.version === 1, 'v1 active');
  const version = await register(77);
  await hub.services.rollout.deploy('laundry', version, [deviceId]);
  await waitFor(() => reported(deviceId)?.version === version && reported(deviceId)?.lastKnownGood === 1, 'new version active, v1 last-known-good');
  await agent.stop();

  // Damage the active version's network on the device.
  const manifest = hub.services.registry.get('laundry', version).signed.signed;
  const file = manifest.files[0];
  assert.ok(file);
  const blob = join(tmp, deviceId, 'blobs', file.sha256);
  writeFileSync(blob, readFileSync(blob).subarray(0, 1000));

  agent = await startAgentProcess(agentEnv(deviceId, password));
  try {
    assert.equal(await served(agent), 1, 'last-known-good serves');
    const boot = await waitFor(
      () => hub.services.db.prepare("SELECT data_json FROM device_events WHERE device_id = ? AND type = 'boot'").get(deviceId) as { data_json: string } | undefined,
      'boot fallback reported',
    );
    const data = JSON.parse(boot.data_json) as { fellBack: boolean; reason: string };
    assert.equal(data.fellBack, true);
    assert.match(data.reason, new RegExp(`v${version} failed to load`));
  } finally {
    await agent.stop();
  }
});
