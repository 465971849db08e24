/**
 * The TUF attack list against a real hub and a real agent: every attack is refused, the refusal
 * is reported to the hub with its code and reason, the previous good version keeps serving, and
 * nothing of the attacker's files is stored on the device.
 */
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { copyFileSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  type DesiredState,
  generateSigningKeyPair,
  type Manifest,
  type SignedDesiredState,
  type SignedManifest,
  type SigningKey,
  signEnvelope,
  waitFor,
} from '@edgeloop/shared';
import { buildBootstrapModel } from '../../hub/src/training/bootstrap-models.js';
import { type DeviceEventRow, Fleet, testPhoto } from './support/fleet.js';

const HOUR = 3_600_000;
const photo = await testPhoto();

/** Starts a fleet (v1 active), runs `fn`, always closes it. */
async function withFleet(fn: (fleet: Fleet) => Promise<void>): Promise<void> {
  const fleet = await Fleet.start({ role: 'laundry' });
  try {
    await fn(fleet);
  } finally {
    await fleet.close();
  }
}

function rogueKey(): SigningKey {
  const pair = generateSigningKeyPair();
  return { keyId: pair.keyId, privateKey: createPrivateKey(pair.privateKeyPem), publicKeyPem: pair.publicKeyPem };
}

/** A desired state for the fleet's device that does not move its revision forward, valid for an hour. */
function desiredState(fleet: Fleet, manifest: SignedManifest, overrides: Partial<DesiredState> = {}): DesiredState {
  const now = Date.now();
  return {
    deviceId: fleet.deviceId,
    revision: fleet.hub.services.fleet.get(fleet.deviceId).desiredRevision,
    issuedAt: new Date(now).toISOString(),
    expiresAt: new Date(now + HOUR).toISOString(),
    models: { laundry: { manifest, rollback: false } },
    ...overrides,
  };
}

/** Publishes a (forged) desired state on the device's topic, as a compromised broker or mirror would. */
async function publishDesired(fleet: Fleet, envelope: SignedDesiredState): Promise<void> {
  const broker = fleet.hub.services.broker;
  assert.ok(broker, 'hub has a broker');
  await broker.publish('desired', fleet.deviceId, envelope);
}

/** Waits until the hub has received a refusal with `code`, and returns it. */
async function refusal(fleet: Fleet, code: string): Promise<DeviceEventRow & { data: { code: string; reason: string } }> {
  const row = await waitFor(() => fleet.events('refused').find((e) => e.data.code === code), `'${code}' refusal reported to the hub`);
  assert.equal(typeof row.data.reason, 'string');
  return row as DeviceEventRow & { data: { code: string; reason: string } };
}

async function assertServes(fleet: Fleet, version: number): Promise<void> {
  assert.equal(fleet.agent.slot.active?.version, version, `v${version} is the active version`);
  const res = await fleet.infer(photo);
  assert.equal(res.status, 200, `inference answers: ${JSON.stringify(res.body)}`);
  assert.equal(res.body.version, version, `v${version} still serves`);
}

/** Neither a stored blob nor a partial download of `sha256` exists on the device. */
function assertNothingStored(fleet: Fleet, sha256: string): void {
  const blobs = readdirSync(join(fleet.dir, 'agent', 'blobs'));
  const partial = readdirSync(join(fleet.dir, 'agent', 'partial'));
  assert.ok(!blobs.includes(sha256), `${sha256} is not in blobs/ (${blobs.join(', ')})`);
  assert.ok(!partial.some((p) => p.startsWith(sha256)), `${sha256} is not in partial/ (${partial.join(', ')})`);
}

function networkOf(signed: SignedManifest): { sha256: string; size: number } {
  const file = signed.signed.files.find((f) => f.role === 'network');
  assert.ok(file, 'manifest has a network file');
  return file;
}

test('forged signature: a desired state altered after the hub signed it is refused before any download', async () => {
  await withFleet(async (fleet) => {
    const v1 = fleet.hub.services.registry.get('laundry', 1).signed;
    const v2 = (await fleet.register(buildBootstrapModel('laundry', 2))).signed;
    // The hub signs a harmless desired state (v1, already running)…
    const envelope = signEnvelope(desiredState(fleet, v1), fleet.hub.services.keys.signing);
    // …and an attacker swaps in another (itself validly signed) manifest without re-signing.
    const tampered: SignedDesiredState = { ...envelope, signed: { ...envelope.signed, models: { laundry: { manifest: v2, rollback: false } } } };
    await publishDesired(fleet, tampered);

    const r = await refusal(fleet, 'signature');
    assert.match(r.data.reason, /does not verify/);
    assert.match(r.data.reason, new RegExp(fleet.hub.services.keys.signing.keyId));
    assert.ok(fleet.agentLog.lines().some((l) => l.msg === 'desired state refused: signature'));
    assertNothingStored(fleet, networkOf(v2).sha256);
    await assertServes(fleet, 1);
  });
});

test('unknown key: a desired state and manifest signed by an untrusted key are refused; the file is never fetched', async () => {
  await withFleet(async (fleet) => {
    const rogue = rogueKey();
    const v2 = (await fleet.register(buildBootstrapModel('laundry', 2))).signed;
    const sha = networkOf(v2).sha256;
    const rogueManifest = signEnvelope<Manifest>({ ...v2.signed, keyId: rogue.keyId, label: 'rogue' }, rogue);

    // Both layers signed by the rogue key: refused at the desired state.
    await publishDesired(fleet, signEnvelope(desiredState(fleet, rogueManifest), rogue));
    const outer = await refusal(fleet, 'signature');
    assert.match(outer.data.reason, /not trusted/);
    assert.match(outer.data.reason, new RegExp(rogue.keyId));
    assertNothingStored(fleet, sha);
    await assertServes(fleet, 1);

    // A genuine desired state carrying the rogue manifest (e.g. a hub bug or a mixed-up bundle):
    // refused when the manifest itself is checked, still before anything is downloaded.
    await publishDesired(fleet, signEnvelope(desiredState(fleet, rogueManifest), fleet.hub.services.keys.signing));
    const inner = await refusal(fleet, 'unknown-key');
    assert.match(inner.data.reason, /not trusted/);
    assert.equal(inner.version, 2);
    assertNothingStored(fleet, sha);
    await assertServes(fleet, 1);
  });
});

test('downgrade: an older version is refused without a signed rollback and accepted with one', async () => {
  await withFleet(async (fleet) => {
    await fleet.register(buildBootstrapModel('laundry', 2));
    await fleet.deploy(2);
    await fleet.waitActive(2);
    await assertServes(fleet, 2);

    await fleet.deploy(1);
    const r = await refusal(fleet, 'downgrade');
    assert.equal(r.version, 1);
    assert.match(r.data.reason, /v1 is older than running v2/);
    await assertServes(fleet, 2);

    await fleet.deploy(1, true);
    await fleet.waitActive(1);
    await assertServes(fleet, 1);
    const deployed = await waitFor(
      () => fleet.events('deployed').find((e) => e.version === 1 && e.data.rollback === true),
      'signed rollback to v1 reported as deployed',
    );
    assert.equal(deployed.data.previous, 2);
  });
});

test('expired manifest: a hub-signed manifest past its expiresAt is refused before any download', async () => {
  await withFleet(async (fleet) => {
    const v2 = (await fleet.register(buildBootstrapModel('laundry', 2))).signed;
    const now = Date.now();
    const stale: Manifest = { ...v2.signed, createdAt: new Date(now - 2 * HOUR).toISOString(), expiresAt: new Date(now - HOUR).toISOString() };
    const staleSigned = signEnvelope(stale, fleet.hub.services.keys.signing);
    await publishDesired(fleet, signEnvelope(desiredState(fleet, staleSigned), fleet.hub.services.keys.signing));

    const r = await refusal(fleet, 'expired');
    assert.equal(r.version, 2);
    assert.match(r.data.reason, /manifest for v2 expired/);
    assertNothingStored(fleet, networkOf(v2).sha256);
    await assertServes(fleet, 1);
  });
});

test('expired desired state: a hub-signed desired state past its expiresAt is refused (freeze attack)', async () => {
  await withFleet(async (fleet) => {
    const v2 = (await fleet.register(buildBootstrapModel('laundry', 2))).signed;
    const now = Date.now();
    const desired = desiredState(fleet, v2, { issuedAt: new Date(now - 2 * HOUR).toISOString(), expiresAt: new Date(now - HOUR).toISOString() });
    await publishDesired(fleet, signEnvelope(desired, fleet.hub.services.keys.signing));

    const r = await refusal(fleet, 'expired');
    assert.match(r.data.reason, /desired state expired/);
    assertNothingStored(fleet, networkOf(v2).sha256);
    await assertServes(fleet, 1);
  });
});

test('oversized file: an artifact longer than declared is cut off and never stored', async () => {
  await withFleet(async (fleet) => {
    const v2 = (await fleet.register(buildBootstrapModel('laundry', 2))).signed;
    const file = networkOf(v2);
    const onHub = fleet.hub.services.artifacts.pathOf(file.sha256);
    writeFileSync(onHub, Buffer.concat([readFileSync(onHub), Buffer.alloc(64 * 1024, 0x41)]));
    assert.equal(statSync(onHub).size, file.size + 64 * 1024);

    await fleet.deploy(2);
    const r = await refusal(fleet, 'integrity');
    assert.equal(r.version, 2);
    assert.match(r.data.reason, /larger than its declared/);
    assert.match(r.data.reason, new RegExp(`declared ${file.size} bytes`));
    assertNothingStored(fleet, file.sha256);
    await assertServes(fleet, 1);
  });
});

test('swapped file: another valid model served under v2\'s hash is refused on sha256', async () => {
  await withFleet(async (fleet) => {
    const v2 = (await fleet.register(buildBootstrapModel('laundry', 2))).signed;
    const v3 = (await fleet.register(buildBootstrapModel('laundry', 3))).signed;
    const f2 = networkOf(v2);
    const f3 = networkOf(v3);
    assert.notEqual(f2.sha256, f3.sha256);
    assert.equal(f3.size, f2.size, 'same architecture, same size: only the hash can tell them apart');
    copyFileSync(fleet.hub.services.artifacts.pathOf(f3.sha256), fleet.hub.services.artifacts.pathOf(f2.sha256));

    await fleet.deploy(2);
    const r = await refusal(fleet, 'integrity');
    assert.equal(r.version, 2);
    assert.match(r.data.reason, /does not match its sha256/);
    assert.match(r.data.reason, new RegExp(f3.sha256), 'the reason names the hash actually received');
    assertNothingStored(fleet, f2.sha256);
    assertNothingStored(fleet, f3.sha256);
    await assertServes(fleet, 1);
  });
});

test('truncated file: an artifact shorter than declared is refused as an integrity failure and leaves nothing behind', async () => {
  await withFleet(async (fleet) => {
    const v2 = (await fleet.register(buildBootstrapModel('laundry', 2))).signed;
    const file = networkOf(v2);
    const onHub = fleet.hub.services.artifacts.pathOf(file.sha256);
    writeFileSync(onHub, readFileSync(onHub).subarray(0, file.size - 1000));

    await fleet.deploy(2);
    const r = await waitFor(() => fleet.events('refused').find((e) => e.version === 2), 'v2 refusal reported to the hub');
    assert.equal(r.data.code, 'integrity', `refused as an integrity failure, not a transient one: ${JSON.stringify(r.data)}`);
    assertNothingStored(fleet, file.sha256);
    await assertServes(fleet, 1);
  });
});
