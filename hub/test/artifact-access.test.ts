import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { FaceGallery, type ManifestFile, type ModelType, sha256Hex } from '@edgeloop/shared';
import { memoryLogger } from '@edgeloop/shared/testing';
import type { VersionRecord } from '../src/registry/model-registry.js';
import { startTestHub, TEST_ADMIN_TOKEN, type TestHub } from './support/test-hub.js';

// Model artifacts (networks, the member gallery with biometric templates) go only to a device of the
// model's type (HTTP Basic: device id and MQTT password) or to the admin token, over the real hub.

const CHALLENGE = 'Basic realm="edgeloop-device"';
const UNKNOWN = '0'.repeat(64);

let hub: TestHub;
let retired: VersionRecord;
const mem = memoryLogger('hub');
const passwords: Record<string, string> = {};
const files: Record<ModelType, ManifestFile[]> = { face: [], laundry: [] };

const basic = (id: string, password = passwords[id] ?? '') => `Basic ${Buffer.from(`${id}:${password}`).toString('base64')}`;
const artifact = (sha: string, headers: Record<string, string> = {}) => fetch(`${hub.httpUrl}/api/v1/artifacts/${sha}`, { headers });
const fileOf = (type: ModelType, role: ManifestFile['role']): ManifestFile => {
  const f = files[type].find((x) => x.role === role);
  assert.ok(f, `${type} v1 has a ${role} file`);
  return f;
};

before(async () => {
  hub = await startTestHub({ log: mem.log });
  for (const [id, role] of [
    ['wash-1', 'laundry'],
    ['door-1', 'gym-door'],
  ] as const) {
    const res = await hub.admin('/api/v1/devices', { method: 'POST', body: JSON.stringify({ id, role }) });
    assert.equal(res.status, 201);
    passwords[id] = ((await res.json()) as { password: string }).password;
  }
  // A face bundle as the hub ships it to the doors: embedder, detector and the members' gallery.
  const face1 = hub.services.registry.get('face', 1).signed.signed;
  const embedder = face1.files.find((f) => f.role === 'network');
  assert.ok(embedder);
  const template = Float32Array.from({ length: 8 }, (_, i) => (i % 3) - 1);
  const bundle = await hub.services.registry.register({
    modelType: 'face',
    label: 'bundle with gallery',
    files: [
      { name: 'embedder.onnx', role: 'network', bytes: await readFile(hub.services.artifacts.pathOf(embedder.sha256)) },
      { name: 'detector.onnx', role: 'detector', bytes: Buffer.from('detector network stand-in') },
      { name: 'gallery.bin', role: 'gallery', bytes: FaceGallery.fromEntries([{ memberId: 'ann', embeddings: [template] }]).encode() },
    ],
    preprocess: face1.preprocess,
    labels: [],
    metrics: {},
    parentVersion: 1,
    evidenceSha256: null,
    status: 'verified',
  });
  // The door is told to run it (a device may fetch only what it may be told to run).
  await hub.services.rollout.deploy('face', bundle.version, ['door-1']);
  // A version nobody runs any more, whose gallery still holds a member deleted since.
  retired = await hub.services.registry.register({
    modelType: 'face',
    label: 'retired bundle',
    files: [{ name: 'gallery.bin', role: 'gallery', bytes: FaceGallery.fromEntries([{ memberId: 'deleted-since', embeddings: [template] }]).encode() }],
    preprocess: face1.preprocess,
    labels: [],
    metrics: {},
    parentVersion: 1,
    evidenceSha256: null,
    status: 'retired',
  });
  for (const [type, version] of [
    ['face', bundle.version],
    ['laundry', 1],
  ] as const) {
    const res = await fetch(`${hub.httpUrl}/api/v1/models/${type}/versions/${version}/manifest`);
    assert.equal(res.status, 200);
    files[type] = ((await res.json()) as { signed: { files: ManifestFile[] } }).signed.files;
  }
});
after(async () => {
  await hub.close();
});

describe('artifact downloads need credentials', () => {
  test('anonymous → 401 with the device challenge, and no bytes', async () => {
    const res = await artifact(fileOf('laundry', 'network').sha256);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), CHALLENGE);
    assert.equal(((await res.json()) as { error: string }).error, 'unauthorized');
  });

  test('a wrong password, an unknown device, a wrong bearer token or a device password as bearer → 401', async () => {
    const sha = fileOf('laundry', 'network').sha256;
    for (const authorization of [basic('wash-1', 'wrong'), basic('ghost', 'x'), 'Bearer not-the-token', `Bearer ${passwords['wash-1']}`, 'Basic !!!']) {
      const res = await artifact(sha, { authorization });
      assert.equal(res.status, 401, authorization);
      assert.equal(res.headers.get('www-authenticate'), CHALLENGE);
      await res.body?.cancel();
    }
  });

  test('a revoked device is refused', async () => {
    const res = await hub.admin('/api/v1/devices', { method: 'POST', body: JSON.stringify({ id: 'wash-old', role: 'laundry' }) });
    const { password } = (await res.json()) as { password: string };
    const allowed = await artifact(fileOf('laundry', 'network').sha256, { authorization: basic('wash-old', password) });
    assert.equal(allowed.status, 200);
    await allowed.body?.cancel();
    assert.equal((await hub.admin('/api/v1/devices/wash-old/revoke', { method: 'POST' })).status, 200);
    const refused = await artifact(fileOf('laundry', 'network').sha256, { authorization: basic('wash-old', password) });
    assert.equal(refused.status, 401);
    await refused.body?.cancel();
  });
});

describe('a device gets only its own model type', () => {
  test('a laundry device asking for the face network, detector or gallery → 404, the same answer as an unknown file', async () => {
    const unknown = await artifact(UNKNOWN, { authorization: basic('wash-1') });
    assert.equal(unknown.status, 404);
    const unknownBody = (await unknown.json()) as { error: string; message: string };
    for (const role of ['network', 'detector', 'gallery'] as const) {
      const f = fileOf('face', role);
      const res = await artifact(f.sha256, { authorization: basic('wash-1') });
      assert.equal(res.status, 404, role);
      const body = (await res.json()) as { error: string; message: string };
      assert.equal(body.error, unknownBody.error);
      assert.equal(body.message, unknownBody.message.replace(UNKNOWN, f.sha256));
    }
  });

  test('a gym door asking for the laundry network → 404', async () => {
    const res = await artifact(fileOf('laundry', 'network').sha256, { authorization: basic('door-1') });
    assert.equal(res.status, 404);
    await res.body?.cancel();
  });

  test('a laundry device downloads its own network: 200 with the right bytes, private caching, and Range still answers 206', async () => {
    const f = fileOf('laundry', 'network');
    const full = await artifact(f.sha256, { authorization: basic('wash-1') });
    assert.equal(full.status, 200);
    assert.match(full.headers.get('cache-control') ?? '', /^private\b/);
    assert.doesNotMatch(full.headers.get('cache-control') ?? '', /public/);
    assert.equal(full.headers.get('accept-ranges'), 'bytes');
    const bytes = Buffer.from(await full.arrayBuffer());
    assert.equal(bytes.length, f.size);
    assert.equal(sha256Hex(bytes), f.sha256);

    const part = await artifact(f.sha256, { authorization: basic('wash-1'), range: 'bytes=100-' });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 100-${f.size - 1}/${f.size}`);
    assert.deepEqual(Buffer.from(await part.arrayBuffer()), bytes.subarray(100));
  });

  test('a gym door gets no file of a version it is not told to run (a retired gallery) → 404; the admin does', async () => {
    const gallery = retired.signed.signed.files[0];
    assert.ok(gallery);
    assert.equal((await artifact(gallery.sha256, { authorization: basic('door-1') })).status, 404);
    assert.equal((await artifact(gallery.sha256, { authorization: `Bearer ${TEST_ADMIN_TOKEN}` })).status, 200);
  });

  test('a gym door downloads every file of the face bundle, the gallery included', async () => {
    for (const f of files.face) {
      const res = await artifact(f.sha256, { authorization: basic('door-1') });
      assert.equal(res.status, 200, f.role);
      assert.equal(sha256Hex(Buffer.from(await res.arrayBuffer())), f.sha256);
    }
  });
});

describe('the admin token', () => {
  test('fetches the files of every model type; an unknown file is still 404', async () => {
    for (const f of [...files.face, ...files.laundry]) {
      const res = await artifact(f.sha256, { authorization: `Bearer ${TEST_ADMIN_TOKEN}` });
      assert.equal(res.status, 200, `${f.role} ${f.sha256}`);
      assert.match(res.headers.get('cache-control') ?? '', /^private\b/);
      assert.equal(sha256Hex(Buffer.from(await res.arrayBuffer())), f.sha256);
    }
    const part = await artifact(fileOf('face', 'gallery').sha256, { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, range: 'bytes=1-' });
    assert.equal(part.status, 206);
    await part.body?.cancel();
    const unknown = await artifact(UNKNOWN, { authorization: `Bearer ${TEST_ADMIN_TOKEN}` });
    assert.equal(unknown.status, 404);
    await unknown.body?.cancel();
  });
});

test('no password, Authorization header or admin token reaches the hub log', async () => {
  const res = await artifact(fileOf('laundry', 'network').sha256, { authorization: basic('wash-1', 'leaky-secret-42') });
  assert.equal(res.status, 401);
  await res.body?.cancel();
  const refused = mem.find('request refused');
  assert.ok(refused.length > 0, 'refusals are logged');
  const text = JSON.stringify(mem.lines());
  const secrets = ['leaky-secret-42', basic('wash-1', 'leaky-secret-42').slice(6), TEST_ADMIN_TOKEN, ...Object.values(passwords)];
  for (const secret of secrets) assert.equal(text.includes(secret), false, 'a secret reached the log');
});
