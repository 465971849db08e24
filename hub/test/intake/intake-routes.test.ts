import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import { NotFoundError } from '@edgeloop/shared';
import { requireDevice } from '../../src/api/device-auth.js';
import { errorMiddleware } from '../../src/api/errors.js';
import { adminIntakeRoutes, deviceIntakeRoutes } from '../../src/api/routes/intake-routes.js';
import type { IntakeService } from '../../src/intake/intake-service.js';
import { startTestHub, type TestHub } from '../support/test-hub.js';
import { intakeOf, noisePhoto, photo } from './fixtures.js';

let hub: TestHub;
let intake: IntakeService;
let server: Server;
let base: string;
const creds: Record<string, string> = {};

before(async () => {
  hub = await startTestHub();
  intake = intakeOf(hub);
  const fleet = hub.services.fleet;
  for (const [id, role, branch] of [
    ['door-n', 'gym-door', 'north'],
    ['wash-n', 'laundry', 'north'],
    ['tablet-n', 'laundry', 'north'],
    ['tablet-s', 'laundry', 'south'],
  ] as const) {
    creds[id] = fleet.issueCredentials({ id, role, branch }).password;
  }
  // As the hub wires it: the intake routers first (they parse bodies up to 8 MB), then the app's 1 MB parser.
  const app = express();
  app.use('/device', requireDevice(fleet), deviceIntakeRoutes(intake, fleet));
  app.use('/admin', adminIntakeRoutes(intake, hub.services.members));
  app.use(express.json({ limit: '1mb' }));
  app.use((req, _res, next) => next(new NotFoundError(`no route ${req.method} ${req.path}`)));
  app.use(errorMiddleware(hub.services.log));
  server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await intake.addMember({ id: 'ann', name: 'Ann', branch: 'north' }, [await photo(1)]);
});
after(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  await hub.close();
});

const basic = (id: string, password = creds[id] ?? '') => `Basic ${Buffer.from(`${id}:${password}`).toString('base64')}`;
async function call(path: string, opts: { as?: string; auth?: string; method?: string; body?: unknown; raw?: string } = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (opts.auth) headers.authorization = opts.auth;
  else if (opts.as) headers.authorization = basic(opts.as);
  const res = await fetch(`${base}${path}`, {
    method: opts.method ?? (opts.body !== undefined || opts.raw !== undefined ? 'POST' : 'GET'),
    headers,
    ...(opts.raw !== undefined ? { body: opts.raw } : opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : null) as Record<string, unknown> & { details?: { issues: { path: string }[] } } };
}
const paths = (r: { body: { details?: { issues: { path: string }[] } } }) => (r.body.details?.issues ?? []).map((i) => i.path).sort();
const b64 = async (seed: number) => (await photo(seed)).toString('base64');

describe('device authentication', () => {
  test('no credentials, a wrong password or an unknown device → 401 with a Basic challenge', async () => {
    for (const auth of [undefined, basic('door-n', 'wrong'), basic('ghost', 'x'), 'Basic !!!', `Bearer ${creds['door-n']}`]) {
      const r = await call('/device/samples/face', { ...(auth ? { auth } : {}), body: {} });
      assert.equal(r.status, 401, String(auth));
      assert.equal(r.headers.get('www-authenticate'), 'Basic realm="edgeloop-device"');
      assert.equal(r.body.error, 'unauthorized');
    }
  });
});

describe('device intake', () => {
  test('POST /samples/face stores a sample (201)', async () => {
    const r = await call('/device/samples/face', { as: 'door-n', body: { memberId: 'ann', score: 0.93, modelVersion: 2, photoBase64: await b64(2) } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.match(String(r.body.sha256), /^[0-9a-f]{64}$/);
    const row = hub.services.db.prepare('SELECT device_id, member_id FROM face_samples WHERE id = ?').get(r.body.id) as Record<string, string>;
    assert.deepEqual(row, { device_id: 'door-n', member_id: 'ann' });
  });

  test('face sample validation: every bad field is listed in one 400', async () => {
    const missing = await call('/device/samples/face', { as: 'door-n', body: {} });
    assert.equal(missing.status, 400);
    assert.deepEqual(paths(missing), ['memberId', 'modelVersion', 'photoBase64', 'score']);

    const bad = await call('/device/samples/face', { as: 'door-n', body: { memberId: 'Ann Smith', score: 2, modelVersion: 1.5, photoBase64: 'not base64!' } });
    assert.equal(bad.status, 400);
    assert.deepEqual(paths(bad), ['memberId', 'modelVersion', 'photoBase64', 'score']);
    assert.match(String(bad.body.message), /photoBase64: must be standard padded base64/);

    const notImage = await call('/device/samples/face', {
      as: 'door-n',
      body: { memberId: 'ann', score: 0.9, modelVersion: 1, photoBase64: Buffer.from('hello, not a picture').toString('base64') },
    });
    assert.equal(notImage.status, 400);
    assert.deepEqual(paths(notImage), ['photoBase64']);
    assert.match(String(notImage.body.message), /not a decodable image/);

    const unknown = await call('/device/samples/face', { as: 'door-n', body: { memberId: 'bob', score: 0.9, modelVersion: 1, photoBase64: await b64(3) } });
    assert.equal(unknown.status, 404);
  });

  test('malformed JSON → 400; a body over 8 MB → 413; a 2 MB photo passes although the app parser stops at 1 MB', async () => {
    const broken = await call('/device/tasks', { as: 'wash-n', raw: '{"aiResult":' });
    assert.equal(broken.status, 400);
    const huge = await call('/device/tasks', { as: 'wash-n', raw: JSON.stringify({ photoBase64: 'A'.repeat(9 * 1024 * 1024) }) });
    assert.equal(huge.status, 413);
    const big = await noisePhoto(800, 600); // ~1.4 MB, ~1.9 MB as base64
    assert.ok(big.length > 1_300_000);
    const ok = await call('/device/tasks', { as: 'wash-n', body: { aiResult: 'good', aiConfidence: 0.8, modelVersion: 1, photoBase64: big.toString('base64') } });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
  });

  test('POST /tasks: 201 once, 200 on a retry with the same id; the branch comes from the device record', async () => {
    const id = randomUUID();
    const body = { id, aiResult: 'defect', aiConfidence: 0.66, modelVersion: 3, photoBase64: await b64(10) };
    const first = await call('/device/tasks', { as: 'wash-n', body });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.equal(first.body.id, id);
    const retry = await call('/device/tasks', { as: 'wash-n', body });
    assert.equal(retry.status, 200);
    assert.equal(retry.body.sha256, first.body.sha256);
    assert.equal(intake.getTask(id).branch, 'north');
    const stolen = await call('/device/tasks', { as: 'tablet-s', body });
    assert.equal(stolen.status, 409);
  });

  test('task validation: wrong enum, confidence out of range, bad id, missing photo', async () => {
    const r = await call('/device/tasks', { as: 'wash-n', body: { id: 'task-1', aiResult: 'stained', aiConfidence: 1.01, modelVersion: 1 } });
    assert.equal(r.status, 400);
    assert.deepEqual(paths(r), ['aiConfidence', 'aiResult', 'id', 'photoBase64']);
    const neg = await call('/device/tasks', { as: 'wash-n', body: { aiResult: 'good', aiConfidence: -0.1, modelVersion: 1, photoBase64: await b64(11) } });
    assert.deepEqual(paths(neg), ['aiConfidence']);
  });

  test('a device may only post what its role produces → 403', async () => {
    const task = await call('/device/tasks', { as: 'door-n', body: { aiResult: 'good', aiConfidence: 0.5, modelVersion: 1, photoBase64: await b64(12) } });
    assert.equal(task.status, 403);
    const sample = await call('/device/samples/face', { as: 'wash-n', body: { memberId: 'ann', score: 0.9, modelVersion: 1, photoBase64: await b64(13) } });
    assert.equal(sample.status, 403);
  });

  test('UC-14 via the branch tablet: confirm once (200), again → 409, another branch → 403, contradictions → 400, stale aiResult → 409', async () => {
    const created = await call('/device/tasks', { as: 'wash-n', body: { aiResult: 'defect', aiConfidence: 0.7, modelVersion: 5, photoBase64: await b64(20) } });
    const id = String(created.body.id);
    const pending = await call('/device/tasks?status=pending', { as: 'tablet-n' });
    assert.ok((pending.body.tasks as { id: string }[]).some((t) => t.id === id));
    const southList = await call('/device/tasks?status=pending', { as: 'tablet-s' });
    assert.ok(!(southList.body.tasks as { id: string }[]).some((t) => t.id === id), 'a tablet lists only its branch');

    const confirm = { finalResult: 'good', aiResult: 'defect', corrected: true, correctionReason: 'AI missed nothing; a shadow' };
    const other = await call(`/device/tasks/${id}/confirm`, { as: 'tablet-s', body: confirm });
    assert.equal(other.status, 403);

    const flag = await call(`/device/tasks/${id}/confirm`, { as: 'tablet-n', body: { ...confirm, corrected: false } });
    assert.equal(flag.status, 400, 'an inconsistent corrected flag is a 400: the body contradicts itself');
    assert.deepEqual(paths(flag), ['corrected', 'correctionReason']);
    const noReason = await call(`/device/tasks/${id}/confirm`, { as: 'tablet-n', body: { finalResult: 'good', aiResult: 'defect', corrected: true } });
    assert.deepEqual([noReason.status, ...paths(noReason)], [400, 'correctionReason']);
    const badEnum = await call(`/device/tasks/${id}/confirm`, { as: 'tablet-n', body: { finalResult: 'ok', aiResult: 'defect', corrected: 'yes' } });
    assert.deepEqual([badEnum.status, ...paths(badEnum)], [400, 'corrected', 'finalResult']);
    const stale = await call(`/device/tasks/${id}/confirm`, { as: 'tablet-n', body: { finalResult: 'defect', aiResult: 'good', corrected: true, correctionReason: 'r' } });
    assert.equal(stale.status, 409, 'an aiResult other than the stored one is a 409');
    const badId = await call('/device/tasks/nope/confirm', { as: 'tablet-n', body: confirm });
    assert.equal(badId.status, 400);
    const unknown = await call(`/device/tasks/${randomUUID()}/confirm`, { as: 'tablet-n', body: confirm });
    assert.equal(unknown.status, 404);

    const ok = await call(`/device/tasks/${id}/confirm`, { as: 'tablet-n', body: confirm });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.type, 'TaskConfirmed');
    assert.equal(ok.body.confirmedBy, 'tablet-n');
    assert.equal(ok.body.corrected, true);
    const twice = await call(`/device/tasks/${id}/confirm`, { as: 'tablet-n', body: confirm });
    assert.equal(twice.status, 409);
    assert.equal(twice.body.error, 'conflict');
  });
});

describe('admin intake', () => {
  test('GET /tasks filters by status; POST /tasks/:id/confirm confirms as admin', async () => {
    const created = await call('/device/tasks', { as: 'wash-n', body: { aiResult: 'good', aiConfidence: 0.99, modelVersion: 5, photoBase64: await b64(30) } });
    const id = String(created.body.id);
    const list = await call('/admin/tasks?status=pending&limit=500');
    assert.equal(list.status, 200);
    assert.ok((list.body.tasks as { id: string }[]).some((t) => t.id === id));
    assert.equal((await call('/admin/tasks?status=maybe&limit=0')).status, 400);
    const ok = await call(`/admin/tasks/${id}/confirm`, { body: { finalResult: 'good', aiResult: 'good', corrected: false } });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.confirmedBy, 'admin');
    const confirmed = await call('/admin/tasks?status=confirmed&limit=500');
    assert.ok((confirmed.body.tasks as { id: string }[]).some((t) => t.id === id));
    assert.equal((await call(`/admin/tasks/${id}/confirm`, { body: { finalResult: 'good', aiResult: 'good', corrected: false } })).status, 409);
  });

  test('members: create with photos, add photos, list, delete (photo rows and face samples go too)', async () => {
    const bad = await call('/admin/members', { body: { name: '', branch: 'north', photosBase64: [await b64(40), 'AAAA', '%%'] } });
    assert.equal(bad.status, 400);
    assert.deepEqual(paths(bad), ['name', 'photosBase64.1', 'photosBase64.2']);

    const created = await call('/admin/members', { body: { id: 'cy', name: 'Cy', branch: 'north', photosBase64: [await b64(40), await b64(41)] } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal((created.body.photos as string[]).length, 2);
    assert.equal((await call('/admin/members', { body: { id: 'cy', name: 'Cy', branch: 'north' } })).status, 409);

    const more = await call('/admin/members/cy/photos', { body: { photosBase64: [await b64(42)] } });
    assert.equal(more.status, 201);
    assert.equal((more.body.photos as string[]).length, 3);
    assert.equal((await call('/admin/members/cy/photos', { body: { photosBase64: [] } })).status, 400);
    assert.equal((await call('/admin/members/nobody/photos', { body: { photosBase64: [await b64(43)] } })).status, 404);
    const photos = await call('/admin/members/cy/photos');
    assert.equal((photos.body.photos as unknown[]).length, 3);

    const sample = await call('/device/samples/face', { as: 'door-n', body: { memberId: 'cy', score: 0.9, modelVersion: 1, photoBase64: await b64(44) } });
    assert.equal(sample.status, 201);
    const list = await call('/admin/members');
    assert.ok((list.body.members as { id: string }[]).some((m) => m.id === 'cy'));

    const del = await call('/admin/members/cy', { method: 'DELETE' });
    assert.equal(del.status, 200);
    assert.equal(del.body.removedPhotos, 4);
    // The photos and the sample's photo are erased from the artifact store, not only unlinked.
    for (const sha of [...(more.body.photos as string[]), String(sample.body.sha256)]) {
      assert.equal(existsSync(hub.services.artifacts.pathOf(sha)), false, `${sha} still on disk`);
    }
    const n = (sql: string) => (hub.services.db.prepare(sql).get() as { n: number }).n;
    assert.equal(n("SELECT COUNT(*) AS n FROM member_photos WHERE member_id = 'cy'"), 0);
    assert.equal(n("SELECT COUNT(*) AS n FROM face_samples WHERE member_id = 'cy'"), 0);
    assert.equal((await call('/admin/members/cy', { method: 'DELETE' })).status, 404);
  });
});
