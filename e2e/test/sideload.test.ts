import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Bundle, BUNDLE_SUFFIX, type SignedManifest, waitFor } from '@edgeloop/shared';
import { buildBootstrapModel } from '../../hub/src/training/bootstrap-models.js';
import type { VersionRecord } from '../../hub/src/registry/model-registry.js';
import { Fleet, testPhoto } from './support/fleet.js';

type Result = { file: string; ok: true; version: number } | { file: string; ok: false; reason: string };

let fleet: Fleet;
let v1: VersionRecord;
let v2: VersionRecord;
let v3: VersionRecord;
const results: Result[] = [];

const sideloadDir = () => join(fleet.dir, 'agent', 'sideload');
const blobDir = () => join(fleet.dir, 'agent', 'blobs');

/** The bundle of a registered version: its signed manifest and the file bytes as the hub stores them. */
function bundleOf(rec: VersionRecord, manifest: SignedManifest = rec.signed): Bundle {
  const files: Record<string, string> = {};
  for (const f of rec.signed.signed.files) files[f.name] = readFileSync(fleet.hub.services.artifacts.pathOf(f.sha256)).toString('base64');
  return { format: 'edgeloop.bundle/v1', manifest, files };
}

/** Drops a file the way a careful technician would: written under a dot name, then renamed into place. */
function drop(name: string, content: string | Buffer): void {
  const tmp = join(sideloadDir(), `.${name}.tmp`);
  writeFileSync(tmp, content);
  renameSync(tmp, join(sideloadDir(), name));
}

function resultOf(name: string): Promise<Result> {
  return waitFor(() => results.find((r) => r.file === name), `sideload result for ${name}`);
}

/** Asserts `name` was rejected: moved to rejected/ with a reason file matching `reason`, gone from the drop folder. */
async function assertRejected(name: string, reason: RegExp): Promise<string> {
  const r = await resultOf(name);
  assert.equal(r.ok, false, `${name} should be rejected`);
  assert.ok(!r.ok);
  assert.match(r.reason, reason);
  const reasonFile = join(sideloadDir(), 'rejected', `${name}.reason.txt`);
  await waitFor(() => existsSync(reasonFile), `${name}.reason.txt`);
  const text = readFileSync(reasonFile, 'utf8');
  assert.match(text, reason);
  assert.ok(existsSync(join(sideloadDir(), 'rejected', name)), `${name} is kept in rejected/`);
  assert.ok(!existsSync(join(sideloadDir(), name)), `${name} left the drop folder`);
  assert.ok(!existsSync(join(sideloadDir(), 'installed', name)), `${name} is not in installed/`);
  return text;
}

async function assertServes(version: number): Promise<void> {
  assert.equal(fleet.agent.slot.active?.version, version);
  const res = await fleet.infer(await testPhoto());
  assert.equal(res.status, 200);
  assert.equal(res.body.version, version);
}

function fileShaOf(rec: VersionRecord): string {
  const f = rec.signed.signed.files[0];
  assert.ok(f);
  return f.sha256;
}

before(async () => {
  fleet = await Fleet.start({ role: 'laundry' });
  fleet.agent.sideload.onResult((r) => results.push(r));
  v1 = fleet.hub.services.registry.get('laundry', 1);
  v2 = await fleet.register(buildBootstrapModel('laundry', 2), 'sideload-v2');
  v3 = await fleet.register(buildBootstrapModel('laundry', 3), 'sideload-v3');
  assert.equal(v2.version, 2);
  assert.equal(v3.version, 3);
  // Every version has its own file, so "never stored" can be told from "already there".
  assert.equal(new Set([fileShaOf(v1), fileShaOf(v2), fileShaOf(v3)]).size, 3);
});

after(async () => {
  await fleet?.close();
});

test('a valid bundle dropped into the folder is installed: v2 serves, the bundle moves to installed/, the hub hears of it', async () => {
  assert.ok(!existsSync(join(blobDir(), fileShaOf(v2))), 'v2 is not on the device before the bundle');
  const name = `laundry-v2${BUNDLE_SUFFIX}`;
  drop(name, JSON.stringify(bundleOf(v2)));

  const r = await resultOf(name);
  assert.deepEqual(r, { file: name, ok: true, version: 2 });
  await fleet.waitActive(2);
  assert.ok(existsSync(join(sideloadDir(), 'installed', name)), 'bundle moved to installed/');
  assert.ok(!existsSync(join(sideloadDir(), name)), 'bundle left the drop folder');
  assert.ok(!existsSync(join(sideloadDir(), 'rejected', name)));
  assert.ok(existsSync(join(blobDir(), fileShaOf(v2))), 'v2 file stored in the content store');
  await assertServes(2);

  const deployed = await waitFor(() => fleet.events('deployed').find((e) => e.version === 2), 'deployed event for v2 at the hub');
  assert.equal(deployed.data.source, 'sideload');
  assert.equal(deployed.data.previous, 1);
  assert.equal(deployed.data.rollback, false);
});

test('a bundle whose manifest was tampered with is rejected on its signature and never loaded', async () => {
  const forged: SignedManifest = { ...v3.signed, signed: { ...v3.signed.signed, label: 'tampered-by-hand' } };
  const name = `forged${BUNDLE_SUFFIX}`;
  drop(name, JSON.stringify(bundleOf(v3, forged)));

  await assertRejected(name, /signature/);
  assert.ok(!existsSync(join(blobDir(), fileShaOf(v3))), 'nothing from a forged bundle reaches the content store');
  await assertServes(2);
  assert.ok(!fleet.agentLog.lines().some((l) => l.version === 3 && l.msg === 'model switched'));
});

test('a bundle whose file bytes do not match the manifest sha256 is rejected', async () => {
  const bundle = bundleOf(v3);
  const file = v3.signed.signed.files[0];
  assert.ok(file);
  const bytes = Buffer.from(bundle.files[file.name] ?? '', 'base64');
  assert.equal(bytes.length, file.size);
  const last = bytes.length - 1;
  bytes[last] = (bytes[last] ?? 0) ^ 0xff; // same size, different content
  bundle.files[file.name] = bytes.toString('base64');
  const name = `corrupt${BUNDLE_SUFFIX}`;
  drop(name, JSON.stringify(bundle));

  await assertRejected(name, /sha256/);
  assert.ok(!existsSync(join(blobDir(), fileShaOf(v3))));
  assert.deepEqual(
    readdirSync(blobDir()).filter((f) => f !== fileShaOf(v1) && f !== fileShaOf(v2)),
    [],
    'no other blob was written',
  );
  await assertServes(2);
});

test('garbage named like a bundle is rejected as not JSON', async () => {
  const name = `x${BUNDLE_SUFFIX}`;
  drop(name, Buffer.from([0x00, 0xff, 0x7b, 0x22, 0x6e, 0x6f, 0x74, 0x20, 0x6a, 0x73, 0x6f, 0x6e]));
  await assertRejected(name, /not JSON/);
  await assertServes(2);
});

test('JSON that is not an edgeloop bundle is rejected with the schema problem', async () => {
  const name = `wrong-shape${BUNDLE_SUFFIX}`;
  drop(name, JSON.stringify({ format: 'something/else', files: {} }));
  await assertRejected(name, /edgeloop\.bundle\/v1/);
  await assertServes(2);
});

test('a file not named *.bundle.json is rejected with a reason, even when its content is a valid bundle', async () => {
  const name = 'laundry-v3.json';
  drop(name, JSON.stringify(bundleOf(v3)));
  await assertRejected(name, /\.bundle\.json/);
  assert.ok(!existsSync(join(blobDir(), fileShaOf(v3))));
  await assertServes(2);
});

test('a validly signed bundle for another model type is rejected', async () => {
  const face = buildBootstrapModel('face');
  const faceRec = await fleet.hub.services.registry.register({
    modelType: 'face',
    label: 'face-for-the-wrong-device',
    files: [{ name: 'network.onnx', role: 'network', bytes: face.onnx }],
    preprocess: face.preprocess,
    labels: face.labels,
    metrics: {},
    parentVersion: null,
    evidenceSha256: null,
    status: 'verified',
  });
  const name = `face-v${faceRec.version}${BUNDLE_SUFFIX}`;
  drop(name, JSON.stringify(bundleOf(faceRec)));

  await assertRejected(name, /face/);
  assert.ok(!existsSync(join(blobDir(), fileShaOf(faceRec))), 'the face network was not stored');
  await assertServes(2);
});

test('a bundle of an older version than the one serving is rejected as a downgrade', async () => {
  const name = `laundry-v1${BUNDLE_SUFFIX}`;
  drop(name, JSON.stringify(bundleOf(v1)));
  await assertRejected(name, /downgrade/);
  await assertServes(2);
  const refused = await waitFor(() => fleet.events('refused').find((e) => e.version === 1), 'downgrade refusal reported to the hub');
  assert.equal(refused.data.code, 'downgrade');
});

test('after all that, only the valid bundle was installed and v2 still serves', async () => {
  assert.deepEqual(readdirSync(join(sideloadDir(), 'installed')), [`laundry-v2${BUNDLE_SUFFIX}`]);
  assert.deepEqual(
    readdirSync(sideloadDir()).filter((f) => f !== 'installed' && f !== 'rejected'),
    [],
    'the drop folder is empty again',
  );
  assert.equal(fleet.events('deployed').filter((e) => e.data.source === 'sideload').length, 1);
  await assertServes(2);
});

test('a bundle dropped while the agent is down is installed when it starts again', async () => {
  await fleet.agent.stop();
  const name = `laundry-v3${BUNDLE_SUFFIX}`;
  drop(name, JSON.stringify(bundleOf(v3)));
  await fleet.startAgent();
  fleet.agent.sideload.onResult((r) => results.push(r));
  await fleet.waitActive(3);
  assert.ok(existsSync(join(sideloadDir(), 'installed', name)));
  assert.ok(!existsSync(join(sideloadDir(), name)));
  await assertServes(3);
  const deployed = await waitFor(() => fleet.events('deployed').find((e) => e.version === 3), 'deployed event for v3 at the hub');
  assert.equal(deployed.data.source, 'sideload');
});
