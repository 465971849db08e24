import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type DesiredState, FLEET_TOPICS, type SignedKeySet, signEnvelope, type SigningKey, waitFor } from '@edgeloop/shared';
import { buildBootstrapModel } from '../../hub/src/training/bootstrap-models.js';
import { Fleet, testPhoto } from './support/fleet.js';

const ADMIN = { authorization: 'Bearer fleet-admin-token-0123' };

function desiredFor(fleet: Fleet, version: number): DesiredState {
  return {
    deviceId: fleet.deviceId,
    revision: fleet.hub.services.fleet.get(fleet.deviceId).desiredRevision,
    issuedAt: new Date().toISOString(),
    expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    models: { laundry: { manifest: fleet.hub.services.registry.get('laundry', version).signed, rollback: false } },
  };
}

test('signing keys rotate and are revoked without reflashing: the device trusts only root', async () => {
  const fleet = await Fleet.start({ role: 'laundry' });
  try {
    const photo = await testPhoto();
    const hub = fleet.hub.services;
    const k1: SigningKey = hub.keys.signing;
    const oldKeySet: SignedKeySet = hub.keys.keySet();

    // Rotation: new versions are signed by K2, which root certified; the device accepts them.
    const rotated = await fetch(`${fleet.hub.httpUrl}/api/v1/keys/rotate`, { method: 'POST', headers: ADMIN });
    assert.equal(rotated.status, 201);
    const k2 = hub.keys.signing;
    assert.notEqual(k2.keyId, k1.keyId);
    const v2 = await fleet.register(buildBootstrapModel('laundry', 2));
    assert.equal(v2.signed.keyId, k2.keyId);
    await fleet.deploy(v2.version);
    await fleet.waitActive(v2.version);

    // Revocation of K1: the hub re-signs what K1 signed, and K1 signatures are refused from now on.
    const revoked = await fetch(`${fleet.hub.httpUrl}/api/v1/keys/${k1.keyId}/revoke`, { method: 'POST', headers: ADMIN });
    assert.equal(revoked.status, 200);
    assert.equal(hub.registry.get('laundry', 1).signed.keyId, k2.keyId, 'v1 re-signed with the current key');
    await waitFor(() => fleet.agentLog.find('key set applied').length >= 3, 'device applied the key set with the revocation');
    await hub.broker?.publish('desired', fleet.deviceId, signEnvelope(desiredFor(fleet, 1), k1));
    const refusal = await waitFor(() => fleet.events('refused').find((e) => e.data.code === 'signature'), 'K1 signature refused');
    assert.match(String(refusal.data.reason), /revoked/);

    // Replaying the older key set (where K1 was still good) changes nothing.
    await hub.broker?.publishFleet('keys', oldKeySet);
    await hub.broker?.publish('desired', fleet.deviceId, signEnvelope(desiredFor(fleet, 1), k1));
    await waitFor(() => fleet.events('refused').filter((e) => e.data.code === 'signature').length >= 2, 'second K1 refusal');
    assert.equal(fleet.agent.slot.active?.version, v2.version);

    // The revocation survives a reboot (persisted key set), and the device still serves v2.
    await fleet.agent.stop();
    await fleet.startAgent();
    await fleet.waitActive(v2.version);
    assert.equal((await fleet.infer(photo)).status, 200);
    await hub.broker?.publishFleet('keys', hub.keys.keySet());
    await hub.broker?.publish('desired', fleet.deviceId, signEnvelope(desiredFor(fleet, 1), k1));
    await waitFor(() => fleet.events('refused').filter((e) => e.data.code === 'signature').length >= 3, 'K1 refused after reboot');
    const installed = JSON.parse(readFileSync(join(fleet.dir, 'agent', 'installed.json'), 'utf8')) as { models: { laundry: { active: { keyId: string } } } };
    assert.equal(installed.models.laundry.active.keyId, k2.keyId);
  } finally {
    await fleet.close();
  }
});

test('a forged key set (not signed by root) is refused', async () => {
  const fleet = await Fleet.start({ role: 'laundry' });
  try {
    const hub = fleet.hub.services;
    const fake = hub.keys.keySet();
    const forged = { ...fake, signed: { ...fake.signed, version: fake.signed.version + 10, revoked: [hub.keys.signing.keyId] } };
    await hub.broker?.publishFleet('keys', forged);
    await waitFor(() => fleet.agentLog.find('key set refused').length > 0, 'forged key set refused');
    // The current key still works: a new version deploys.
    const v2 = await fleet.register(buildBootstrapModel('laundry', 5));
    await fleet.deploy(v2.version);
    await fleet.waitActive(v2.version);
    assert.equal(FLEET_TOPICS.keys.retain, true);
  } finally {
    await fleet.close();
  }
});
