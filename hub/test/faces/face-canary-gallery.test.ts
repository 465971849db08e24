/**
 * Member changes during a face canary, in a real hub (SQLite, aedes, onnxruntime) with real MQTT
 * doors: enrolling or deleting a member rebuilds the gallery of the version in service and of the
 * canary candidate; the rollout moves to the rebuilt candidate (canary doors get it, the other doors
 * the refreshed version in service); an abort rolls the canary back to the version in service as it
 * is now; `upToDate` gives a held candidate a gallery of today's members, and a face run's rollout
 * stage ships it so, finding its rollout again when resumed after an interruption.
 *
 * Then, in a second hub, what the gallery deployer does when the canary cannot follow a member
 * change (the candidate cannot be rebuilt; it was promoted, or superseded, meanwhile), and the
 * rollout lock: a promote and an abort of one rollout started together end with exactly one winner.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import {
  ConflictError,
  decodeMessage,
  type DesiredState,
  deviceTopic,
  encodeMessage,
  FaceGallery,
  ROLE_OF_MODEL_TYPE,
  TrustStore,
  waitFor,
} from '@edgeloop/shared';
import type { FaceNetworks } from '../../src/faces/face-bundles.js';
import { galleryDeployer } from '../../src/faces/gallery-deploy.js';
import type { VersionRecord } from '../../src/registry/model-registry.js';
import type { RolloutView } from '../../src/rollout/rollout-manager.js';
import { buildBootstrapModel } from '../../src/training/bootstrap-models.js';
import { type DetectorTrainingResult, trainFaceDetector } from '../../src/training/faces/detector-training.js';
import { encodeImage } from '../../src/training/synthetic/encode.js';
import { faceIdentity, faceVariation, renderScene } from '../../src/training/synthetic/faces.js';
import { startTestHub, type TestHub } from '../support/test-hub.js';

const DOORS = ['door-1', 'door-2', 'door-3'];
const ROLE = ROLE_OF_MODEL_TYPE.face;
const LONG = { timeoutMs: 120_000 };
/** The rollout must not decide by itself while the test looks at it. */
const NEVER = { observeMs: 30 * 86_400_000, reportTimeoutMs: 30 * 86_400_000 };

let hub: TestHub;
let detector: DetectorTrainingResult | undefined;
let trust: TrustStore;
const clients: MqttClient[] = [];
/** The latest desired state each simulated door received over MQTT, signature checked. */
const received = new Map<string, DesiredState>();
/** Every face directive each door received over MQTT, in order. */
const history = new Map<string, { version: number; rollback: boolean }[]>();

/** Two photos of one synthetic person: a face in a cluttered frame. */
async function photos(person: number): Promise<Buffer[]> {
  return Promise.all(
    [0, 1].map(async (k) => {
      const s = renderScene({ seed: 1000 * person + k, faces: [{ identity: faceIdentity(person), x: 80 + 30 * k, y: 50, width: 90, variation: faceVariation(k + 1, 0.4) }] });
      return encodeImage(s.pixels, s.width, s.height, 'png');
    }),
  );
}

function networks(seed: number): FaceNetworks {
  const embedder = buildBootstrapModel('face', seed);
  assert.ok(detector, 'the detector is trained');
  return { embedder: { onnx: embedder.onnx, preprocess: embedder.preprocess }, detector: { onnx: detector.onnx, spec: detector.spec }, threshold: 0.6 };
}

function fileSha(rec: VersionRecord, role: 'network' | 'detector' | 'gallery'): string {
  const f = rec.signed.signed.files.find((x) => x.role === role);
  assert.ok(f, `v${rec.version} has a ${role} file`);
  return f.sha256;
}

async function galleryMembers(rec: VersionRecord): Promise<string[]> {
  const gallery = FaceGallery.decode(await readFile(hub.services.artifacts.pathOf(fileSha(rec, 'gallery'))));
  return [...gallery.memberIds()].sort();
}

/** A real MQTT door: connects with its credentials, follows its desired state, reports itself online. */
async function connectDoor(id: string, branch: string): Promise<void> {
  const { password } = hub.services.fleet.issueCredentials({ id, role: ROLE, branch });
  const c = await mqtt.connectAsync(hub.mqttUrl, { clientId: id, username: id, password, reconnectPeriod: 0, connectTimeout: 10_000 });
  clients.push(c);
  c.on('message', (topic, payload) => {
    const msg = decodeMessage(topic, payload);
    if (!msg.ok || msg.name !== 'desired' || msg.deviceId !== id) return;
    const desired = trust.verify(msg.payload);
    received.set(id, desired);
    const face = desired.models.face;
    if (face) history.set(id, [...(history.get(id) ?? []), { version: face.manifest.signed.version, rollback: face.rollback }]);
  });
  await c.subscribeAsync(deviceTopic('desired', id), { qos: 1 });
  await c.publishAsync(
    deviceTopic('state', id),
    encodeMessage('state', { status: 'online', deviceId: id, role: ROLE, branch, at: new Date().toISOString(), agentVersion: 'test', desiredRevision: null, models: {} }),
    { qos: 1, retain: true },
  );
  await waitFor(() => hub.services.fleet.get(id).status === 'online', `${id} online`, LONG);
}

/** What the hub wants the door to run (stored), and that the door received it, signed, over MQTT. */
async function assertDesired(id: string, version: number, rollback: boolean): Promise<void> {
  assert.deepEqual(hub.services.fleet.get(id).desired.face, { version, rollback }, `${id} desired face version`);
  await waitFor(
    () => {
      const m = received.get(id)?.models.face;
      return m?.manifest.signed.version === version && m.rollback === rollback;
    },
    `${id} receives v${version}${rollback ? ' (rollback)' : ''} over MQTT`,
    LONG,
  );
}

/**
 * A real hub with members 'ann' and 'bob', face version P (`seed`) active on three MQTT doors. The
 * detector is trained once for the file; the rollout's periodic check is off, so only a test's
 * calls decide a rollout.
 */
async function openHub(seed: number): Promise<VersionRecord> {
  detector ??= await trainFaceDetector({ seed: 7, budget: 'test' });
  hub = await startTestHub({ training: { backoffMs: 10 } });
  hub.services.rollouts.stop();
  trust = new TrustStore([hub.services.keys.signing.publicKeyPem]);
  received.clear();
  history.clear();
  for (const [i, id] of ['ann', 'bob'].entries()) await hub.services.members.enrol({ id, name: id, branch: 'north' }, await photos(4300 + i));
  const { faces, registry } = hub.services;
  const previous = await faces.register(networks(seed), { label: 'P', status: 'verified' });
  registry.setStatus('face', previous.version, 'active');
  assert.deepEqual(await galleryMembers(previous), ['ann', 'bob']);
  for (const [i, id] of DOORS.entries()) await connectDoor(id, i === 0 ? 'north' : 'south');
  await hub.services.rollout.deploy('face', previous.version);
  return previous;
}

async function closeHub(): Promise<void> {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await hub?.close();
}

/** A new candidate (`seed`'s embedder, today's members) in a canary rollout that never decides by itself; its canary doors get it. */
async function beginCanary(seed: number, label: string): Promise<{ candidate: VersionRecord; rollout: RolloutView; from: VersionRecord }> {
  const { faces, registry, rollouts } = hub.services;
  const from = registry.active('face');
  assert.ok(from, 'a face version in service');
  const candidate = await faces.register(networks(seed), { label, status: 'verified', parentVersion: from.version });
  const rollout = await rollouts.begin('face', candidate.version, NEVER);
  assert.ok(rollout.canary.length >= 1 && rollout.control.length >= 1, JSON.stringify(rollout));
  assert.deepEqual([...rollout.canary, ...rollout.control].sort(), DOORS);
  for (const id of rollout.canary) await assertDesired(id, candidate.version, false);
  for (const id of rollout.control) assert.equal(hub.services.fleet.get(id).desired.face?.version, from.version, `${id} keeps v${from.version}`);
  return { candidate, rollout, from };
}

/** A running canary, then a member enrolled: the version in service rebuilt with them (active), not yet shipped. */
async function canaryAndMemberChange(seed: number, label: string, member: string, photoSeed: number) {
  const { intake, faces, registry } = hub.services;
  const started = await beginCanary(seed, label);
  await intake.addMember({ id: member, name: member, branch: 'south' }, await photos(photoSeed));
  const rec = await faces.upToDate(started.from);
  registry.setStatus('face', rec.version, 'active');
  return { ...started, rec };
}

describe('member changes during a face canary (real hub, MQTT doors, onnxruntime)', { timeout: 15 * 60_000 }, () => {
  let previous: VersionRecord; // P: in service when the canary starts
  let candidate: VersionRecord; // C: the canary candidate
  let rolloutId: number;
  let canary: string[];
  let control: string[];
  /** The latest versions made by a member change. */
  let active: VersionRecord;
  let rebuilt: VersionRecord;
  /** A verified candidate that waits (e.g. for an admin's approval) while members change. */
  let held: VersionRecord;

  before(async () => {
    previous = await openHub(11);
    const started = await beginCanary(12, 'C');
    candidate = started.candidate;
    rolloutId = started.rollout.id;
    canary = started.rollout.canary;
    control = started.rollout.control;
    assert.deepEqual(await galleryMembers(candidate), ['ann', 'bob']);
    for (const id of control) await assertDesired(id, previous.version, false);
  });

  after(closeHub);

  /** After a member change: a new active version and a rebuilt candidate the rollout moved to. */
  async function assertMoved(from: { active: VersionRecord; candidate: VersionRecord }, faceVersion: number | null, members: string[]): Promise<void> {
    const { registry, rollouts, fleet } = hub.services;
    const nowActive = registry.active('face');
    assert.ok(nowActive);
    assert.equal(faceVersion, nowActive.version, 'the member change returns the new version in service');
    assert.ok(nowActive.version > from.active.version);
    assert.equal(nowActive.signed.signed.parentVersion, from.active.version);
    assert.equal(fileSha(nowActive, 'network'), fileSha(previous, 'network'), "P's embedder");
    assert.equal(fileSha(nowActive, 'detector'), fileSha(previous, 'detector'));
    assert.deepEqual(await galleryMembers(nowActive), members);
    assert.equal(registry.get('face', from.active.version).status, 'retired');

    const r = rollouts.get(rolloutId);
    assert.equal(r.status, 'canary');
    assert.notEqual(r.version, from.candidate.version, 'the rollout moved to the rebuilt candidate');
    assert.notEqual(r.version, nowActive.version);
    assert.deepEqual(r.canary, canary, 'the same canary doors');
    const next = registry.get('face', r.version);
    assert.equal(next.status, 'canary');
    assert.equal(registry.get('face', from.candidate.version).status, 'retired');
    assert.equal(fileSha(next, 'network'), fileSha(candidate, 'network'), "C's embedder");
    assert.equal(fileSha(next, 'detector'), fileSha(candidate, 'detector'));
    assert.deepEqual(await galleryMembers(next), members);
    assert.equal(rollouts.runningFor('face')?.id, rolloutId);

    for (const id of canary) await assertDesired(id, next.version, false);
    for (const id of control) await assertDesired(id, nowActive.version, false);
    assert.equal(fleet.idsByRole(ROLE).length, DOORS.length);
    active = nowActive;
    rebuilt = next;
  }

  test('enrolling a member rebuilds both galleries: canary doors get C + member, the others P + member', async () => {
    const res = await hub.services.members.enrol({ id: 'cy', name: 'cy', branch: 'south' }, await photos(4302));
    await assertMoved({ active: previous, candidate }, res.faceVersion, ['ann', 'bob', 'cy']);
  });

  test('deleting that member rebuilds both again, and neither new gallery holds the member', async () => {
    const prior = { active, candidate: rebuilt };
    const res = await hub.services.members.delete('cy');
    await assertMoved(prior, res.faceVersion, ['ann', 'bob']);
    assert.notEqual(active.version, prior.active.version);
    assert.notEqual(rebuilt.version, prior.candidate.version);
  });

  test('an abort sends the canary doors a signed rollback to the version in service (the refreshed one, not P)', async () => {
    const { rollouts, registry } = hub.services;
    assert.notEqual(active.version, previous.version);
    const r = await rollouts.abort(rolloutId, 'test');
    assert.equal(r.status, 'aborted');
    assert.equal(r.reason, 'test');
    assert.equal(registry.get('face', rebuilt.version).status, 'rolled-back');
    assert.equal(registry.active('face')?.version, active.version, 'the version in service is unchanged');
    for (const id of canary) await assertDesired(id, active.version, true);
    for (const id of control) await assertDesired(id, active.version, false);
    const ev = hub.services.events.list({ type: 'ModelRolledBack', limit: 5 })[0];
    assert.equal(ev?.data.to, active.version);
    assert.equal(rollouts.runningFor('face'), null);
  });

  test('upToDate: the same record while the members are unchanged; after a deletion a verified version with today’s members', async () => {
    const { faces, registry, members } = hub.services;
    held = await faces.register(networks(13), { label: 'held candidate', status: 'verified', parentVersion: active.version });
    assert.deepEqual(await galleryMembers(held), ['ann', 'bob']);
    const latest = registry.latestVersionNumber('face');
    const same = await faces.upToDate(held);
    assert.equal(same.version, held.version, 'members unchanged: the record itself');
    assert.equal(registry.latestVersionNumber('face'), latest, 'nothing registered');

    await members.delete('bob');
    const fresh = await faces.upToDate(held);
    assert.ok(fresh.version > held.version, 'a new version');
    assert.equal(fresh.status, 'verified');
    assert.equal(registry.get('face', fresh.version).status, 'verified');
    assert.deepEqual(await galleryMembers(fresh), ['ann']);
    assert.equal(fileSha(fresh, 'network'), fileSha(held, 'network'), "the held candidate's embedder");
    assert.equal(fileSha(fresh, 'detector'), fileSha(held, 'detector'));
    assert.equal(fresh.signed.signed.parentVersion, held.signed.signed.parentVersion);
    assert.deepEqual(await galleryMembers(held), ['ann', 'bob'], 'the held record itself is not changed');
    assert.equal((await faces.upToDate(fresh)).version, fresh.version, 'and that one is up to date');
    held = registry.get('face', held.version);
  });

  test("a face run's rollout stage ships the held candidate with today's members, and finds its rollout again when resumed", async () => {
    const { trainingRuns: store, saga, rollouts, registry } = hub.services;
    // A run whose candidate was registered (with the gallery of that day) before 'bob' was deleted.
    const run = store.create('face', 'manual', 1);
    for (const stage of ['collect', 'prepare', 'train', 'export', 'verify'] as const) store.stageDone(run.id, stage, {}, 0);
    store.stageDone(run.id, 'register', { version: held.version, reused: false }, 0);
    store.update(run.id, { candidateVersion: held.version });
    saga.resumeUnfinished();
    await saga.idle();
    const done = store.get(run.id);
    assert.equal(done.status, 'succeeded', JSON.stringify(done.stages.map((s) => [s.stage, s.status, s.error])));
    const r = rollouts.runningFor('face');
    assert.ok(r, 'a canary rollout started');
    assert.equal(done.candidateVersion, r.version);
    assert.notEqual(r.version, held.version, 'not the stale candidate');
    const shipped = registry.get('face', r.version);
    assert.equal(fileSha(shipped, 'network'), fileSha(held, 'network'));
    assert.deepEqual(await galleryMembers(shipped), ['ann']);
    for (const id of r.canary) await assertDesired(id, r.version, false);

    // The hub went down inside the stage, after the rollout began: the resumed stage finds that rollout.
    const latest = registry.latestVersionNumber('face');
    store.stageFailed(run.id, 'rollout', 'the hub stopped inside it', false);
    store.update(run.id, { status: 'running' });
    saga.resumeUnfinished();
    await saga.idle();
    const resumed = store.get(run.id);
    assert.equal(resumed.status, 'succeeded', JSON.stringify(resumed.stages.map((s) => [s.stage, s.status, s.error])));
    assert.equal(resumed.stages.find((s) => s.stage === 'rollout')?.output?.rolloutId, r.id);
    assert.equal(resumed.candidateVersion, r.version);
    assert.equal(registry.latestVersionNumber('face'), latest, 'no further gallery rebuild');
    assert.equal(rollouts.runningFor('face')?.id, r.id);
    assert.equal(rollouts.get(r.id).version, r.version);
  });
});

describe('what a member change ships when the canary cannot follow it, and the rollout lock (real hub, MQTT doors, onnxruntime)', { timeout: 15 * 60_000 }, () => {
  /** The hub's own deployer of member changes, called directly where a test needs a state the hub reaches only in a race. */
  let deploy: ReturnType<typeof galleryDeployer>;
  /** The member change of the "promoted meanwhile" test: its versions of the version in service and of the candidate. */
  let promoted: { rec: VersionRecord; candidate: VersionRecord; twin: VersionRecord };
  /** A canary started for the lock tests. */
  let started: Awaited<ReturnType<typeof beginCanary>>;

  before(async () => {
    await openHub(21);
    const { rollouts, registry, rollout, fleet, log } = hub.services;
    deploy = galleryDeployer({ rollouts, registry, rollout, fleet, log });
  });

  after(closeHub);

  test('a candidate that cannot be rebuilt: the member change aborts its canary, and every door gets the refreshed version without the member', async () => {
    const { artifacts, members, registry, rollouts, events } = hub.services;
    const { candidate, rollout, from } = await beginCanary(22, 'C1');
    // The candidate's embedder is gone from the artifact store: its networks cannot be read, so its gallery cannot be rebuilt.
    await artifacts.remove(fileSha(candidate, 'network'));
    const res = await members.delete('bob');

    const active = registry.active('face');
    assert.ok(active);
    assert.equal(res.faceVersion, active.version, 'the member change returns the new version in service');
    assert.equal(active.signed.signed.parentVersion, from.version);
    assert.equal(fileSha(active, 'network'), fileSha(from, 'network'), "P's embedder");
    assert.deepEqual(await galleryMembers(active), ['ann'], "the deleted member is not in the new version's gallery");
    assert.equal(registry.latestVersionNumber('face'), active.version, 'no rebuilt candidate was registered');

    const r = rollouts.get(rollout.id);
    assert.equal(r.status, 'aborted');
    assert.match(r.reason, /gallery/);
    assert.equal(r.version, candidate.version);
    assert.equal(registry.get('face', candidate.version).status, 'rolled-back');
    assert.equal(rollouts.runningFor('face'), null);
    const ev = events.list({ type: 'ModelRolledBack', limit: 1 })[0];
    assert.equal(ev?.version, candidate.version);
    assert.equal(ev?.data.to, active.version);
    assert.deepEqual(ev?.data.devices, rollout.canary);

    // Every door ends with a plain deployment of the new version; the canary doors got a signed rollback to it just before.
    for (const id of DOORS) await assertDesired(id, active.version, false);
    for (const id of rollout.canary) {
      const h = history.get(id) ?? [];
      assert.deepEqual(
        h.slice(h.findLastIndex((m) => m.version === candidate.version) + 1),
        [
          { version: active.version, rollback: true },
          { version: active.version, rollback: false },
        ],
        `${id}: what came after the candidate`,
      );
    }
  });

  test('the candidate was promoted while its gallery was rebuilt: its rebuilt twin goes into service on every door', async () => {
    const { faces, registry, rollouts } = hub.services;
    // A member change as refreshGallery makes it, not yet shipped: the version in service (now active)
    // and the canary candidate, each with a gallery holding the new member...
    const { candidate, rollout, rec } = await canaryAndMemberChange(23, 'C2', 'dee', 4303);
    const twin = await faces.upToDate(candidate);
    assert.ok(twin.version > candidate.version, 'a rebuilt candidate');
    assert.equal(fileSha(twin, 'network'), fileSha(candidate, 'network'), "C2's embedder");
    assert.deepEqual(await galleryMembers(twin), ['ann', 'dee']);
    // ...and before it ships, the candidate is promoted.
    await rollouts.promote(rollout.id, 'test: promoted while the gallery was rebuilt');
    assert.equal(registry.active('face')?.version, candidate.version);

    await deploy(rec, { from: candidate.version, rec: twin });
    assert.equal(registry.active('face')?.version, twin.version, 'the rebuilt twin is the version in service');
    assert.equal(registry.get('face', candidate.version).status, 'retired');
    assert.equal(registry.get('face', rec.version).status, 'retired');
    assert.equal(rollouts.get(rollout.id).status, 'promoted');
    assert.equal(rollouts.runningFor('face'), null);
    for (const id of DOORS) await assertDesired(id, twin.version, false);
    promoted = { rec, candidate, twin };
  });

  test('a newer version took over: shipping the older gallery version deploys nothing', async () => {
    const { registry, fleet } = hub.services;
    const { rec, candidate, twin } = promoted;
    const revisions = DOORS.map((id) => fleet.get(id).desiredRevision);
    await deploy(rec, null);
    await deploy(rec, { from: candidate.version, rec: twin });
    await deploy(rec, { from: candidate.version, rec: null });
    assert.deepEqual(
      DOORS.map((id) => fleet.get(id).desiredRevision),
      revisions,
      'no door got a new directive',
    );
    assert.equal(registry.active('face')?.version, twin.version);
    assert.equal(registry.get('face', rec.version).status, 'retired');
    for (const id of DOORS) await assertDesired(id, twin.version, false);
  });

  test('promoted meanwhile and its gallery could not be rebuilt: every door gets a signed rollback to the refreshed version', async () => {
    const { registry, rollouts } = hub.services;
    const { candidate, rollout, rec } = await canaryAndMemberChange(26, 'C4', 'eve', 4306);
    await rollouts.promote(rollout.id, 'test: promoted while the gallery was rebuilt');
    assert.equal(registry.active('face')?.version, candidate.version);

    await deploy(rec, { from: candidate.version, rec: null });
    assert.equal(registry.active('face')?.version, rec.version, 'the member change comes first');
    assert.ok((await galleryMembers(rec)).includes('eve'));
    for (const id of DOORS) await assertDesired(id, rec.version, true);
  });

  test('retargetHeld and abortHeld refuse to run outside exclusive(), and change nothing', async () => {
    const { rollouts, registry } = hub.services;
    started = await beginCanary(24, 'C3');
    const { rollout, candidate, from } = started;
    await assert.rejects(rollouts.retargetHeld(rollout.id, from.version, 'test'), /must run inside exclusive/);
    assert.throws(() => rollouts.abortHeld(rollout.id, 'test'), /must run inside exclusive/);
    // Not even while another caller holds the lock and waits on I/O.
    let release = (): void => undefined;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const busy = rollouts.exclusive(() => gate);
    await new Promise((r) => setImmediate(r));
    assert.throws(() => rollouts.abortHeld(rollout.id, 'test'), /must run inside exclusive/, 'while another caller holds the lock');
    release();
    await busy;
    assert.deepEqual(rollouts.get(rollout.id), rollout);
    assert.equal(registry.get('face', candidate.version).status, 'canary');
    assert.equal(registry.active('face')?.version, from.version);
  });

  /** Starts a promote and an abort of one running rollout together (in `order`): exactly one wins, and the registry and the doors agree with it. */
  async function promoteAndAbortTogether(canary: typeof started, order: readonly ('promote' | 'abort')[]): Promise<void> {
    const { rollouts, registry } = hub.services;
    const { rollout, candidate, from } = canary;
    const call = { promote: () => rollouts.promote(rollout.id, 'test: promote'), abort: () => rollouts.abort(rollout.id, 'test: abort') };
    const settled = await Promise.allSettled(order.map((k) => call[k]()));
    const outcome = settled.map((s, i) => `${order[i]}: ${s.status === 'fulfilled' ? s.value.status : String(s.reason)}`).join('; ');
    const won = order.filter((_, i) => settled[i]?.status === 'fulfilled');
    assert.equal(won.length, 1, `exactly one wins (${outcome})`);
    const lost = settled.find((s) => s.status === 'rejected');
    assert.ok(lost?.status === 'rejected');
    assert.ok(lost.reason instanceof ConflictError, outcome);
    const r = rollouts.get(rollout.id);
    if (won[0] === 'promote') {
      assert.match(String(lost.reason.message), /already promoted/);
      assert.equal(r.status, 'promoted');
      assert.equal(registry.active('face')?.version, candidate.version);
      assert.equal(registry.get('face', candidate.version).status, 'active', 'not rolled back');
      for (const id of DOORS) await assertDesired(id, candidate.version, false);
    } else {
      assert.match(String(lost.reason.message), /already aborted/);
      assert.equal(r.status, 'aborted');
      assert.equal(registry.active('face')?.version, from.version);
      assert.equal(registry.get('face', candidate.version).status, 'rolled-back');
      for (const id of rollout.canary) await assertDesired(id, from.version, true);
      for (const id of rollout.control) await assertDesired(id, from.version, false);
    }
    assert.equal(rollouts.runningFor('face'), null);
  }

  test('a promote and an abort started together (promote first): one wins, the other is refused, the registry agrees', async () => {
    await promoteAndAbortTogether(started, ['promote', 'abort']);
  });

  test('an abort and a promote started together (abort first): one wins, the other is refused, the registry agrees', async () => {
    await promoteAndAbortTogether(await beginCanary(25, 'C4'), ['abort', 'promote']);
  });
});
