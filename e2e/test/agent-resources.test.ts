import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { waitFor } from '@edgeloop/shared';
import { buildBootstrapModel } from '../../hub/src/training/bootstrap-models.js';
import { Fleet, testPhoto } from './support/fleet.js';

const MEMORY_LOG = 'not enough memory for two models: unloading the serving one first, requests wait';
/** Far more than any test machine has: every memory / disk check fails. */
const HUGE = 1e15;

const fleets: Fleet[] = [];
async function startFleet(): Promise<Fleet> {
  const fleet = await Fleet.start({ role: 'laundry' });
  fleets.push(fleet);
  return fleet;
}

after(async () => {
  for (const f of fleets) await f.close();
});

async function assertServes(fleet: Fleet, version: number): Promise<void> {
  const res = await fleet.infer(await testPhoto());
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.version, version);
}

test('with memory to spare, a deploy keeps the previous version loaded as the warm spare', async () => {
  const fleet = await startFleet();
  await fleet.register(buildBootstrapModel('laundry', 2));
  await fleet.deploy(2);
  await fleet.waitActive(2);
  assert.equal(fleet.agent.slot.spare?.version, 1);
  await assertServes(fleet, 2);
  assert.equal(fleet.agentLog.find(MEMORY_LOG).length, 0);
  const deployed = await waitFor(() => fleet.events('deployed').find((e) => e.version === 2), 'deployed event');
  assert.equal(deployed.data.spare, 1);
  assert.equal(deployed.data.previous, 1);
  assert.equal(deployed.data.source, 'hub');
});

test('when memory is too tight for two models, the serving one is unloaded first and requests wait through the swap', async () => {
  const fleet = await startFleet();
  await fleet.agent.stop();
  await fleet.startAgent({ memory: { minFreeBytes: HUGE, modelFactor: 4 } });
  await fleet.waitActive(1);
  await fleet.register(buildBootstrapModel('laundry', 2));
  const photo = await testPhoto();

  // 50 clients keep sending requests from before the deploy until v2 has answered.
  const statuses: number[] = [];
  const versions = new Set<unknown>();
  let stop = false;
  const client = async () => {
    while (!stop) {
      const res = await fleet.infer(photo);
      statuses.push(res.status);
      versions.add(res.body.version);
    }
  };
  const clients = Array.from({ length: 50 }, client);
  try {
    await waitFor(() => statuses.length >= 50, 'requests flowing before the deploy');
    await fleet.deploy(2);
    await fleet.waitActive(2);
    await waitFor(() => versions.has(2), 'a request answered by v2');
  } finally {
    stop = true;
    await Promise.all(clients);
  }

  assert.ok(statuses.length >= 100, `${statuses.length} requests`);
  assert.deepEqual(
    statuses.filter((s) => s !== 200),
    [],
    'every request sent during the swap succeeded',
  );
  assert.deepEqual([...versions].sort(), [1, 2]);
  assert.equal(fleet.agentLog.find(MEMORY_LOG).length, 1, 'the unload-first path was taken');
  assert.equal(fleet.agent.slot.active?.version, 2);
  assert.equal(fleet.agent.slot.spare, null, 'no warm spare without memory for it');
  const deployed = await waitFor(() => fleet.events('deployed').find((e) => e.version === 2), 'deployed event');
  assert.equal(deployed.data.spare, null);
  await assertServes(fleet, 2);
});

test('when the disk cannot take the download, the deploy is refused with insufficient-disk and v1 keeps serving', async () => {
  const fleet = await startFleet();
  await fleet.agent.stop();
  await fleet.startAgent({ updates: { minFreeDiskBytes: HUGE, retryDelayMs: 50 } });
  await fleet.waitActive(1);
  const v2 = await fleet.register(buildBootstrapModel('laundry', 2));
  await fleet.deploy(2);

  const refused = await waitFor(() => fleet.events('refused').find((e) => e.version === 2), 'refusal reported to the hub');
  assert.equal(refused.data.code, 'insufficient-disk');
  assert.match(String(refused.data.reason), /free/);
  assert.equal(fleet.agent.runner.lastRefusal?.code, 'insufficient-disk');
  assert.equal(fleet.agent.slot.active?.version, 1);
  await assertServes(fleet, 1);

  const partial = join(fleet.dir, 'agent', 'partial');
  assert.deepEqual(existsSync(partial) ? readdirSync(partial) : [], [], 'nothing was downloaded');
  const file = v2.signed.signed.files[0];
  assert.ok(file);
  assert.ok(!existsSync(join(fleet.dir, 'agent', 'blobs', file.sha256)), 'v2 is not in the content store');
  assert.equal(fleet.events('deployed').filter((e) => e.version === 2).length, 0);
  // The reported state tells the hub why the device still runs v1.
  const reported = await waitFor(() => {
    const r = fleet.hub.services.fleet.get(fleet.deviceId).reported;
    const m = r?.status === 'online' ? r.models.laundry : undefined;
    return m?.reason.startsWith('refused v2') ? m : null;
  }, 'reported state naming the refusal');
  assert.equal(reported.version, 1);
  assert.equal(reported.state, 'active');
});
