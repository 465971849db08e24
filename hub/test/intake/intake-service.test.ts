import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '@edgeloop/shared';
import { startTestHub, type TestHub } from '../support/test-hub.js';
import { clock, intakeOf, photo } from './fixtures.js';

let hub: TestHub;
before(async () => {
  hub = await startTestHub();
});
after(async () => {
  await hub.close();
});

const issuePaths = (err: unknown) => (((err as ValidationError).details?.issues ?? []) as { path: string }[]).map((i) => i.path).sort();
const isValidation = (...paths: string[]) => (err: unknown) => {
  assert.ok(err instanceof ValidationError, `expected ValidationError, got ${String(err)}`);
  assert.deepEqual(issuePaths(err), [...paths].sort());
  return true;
};
const count = (sql: string, ...params: unknown[]) => (hub.services.db.prepare(sql).get(...params) as { n: number }).n;

describe('face samples', () => {
  test('a sample of a known member is stored with its photo in the artifact store', async () => {
    const intake = intakeOf(hub);
    await intake.addMember({ id: 'fs-ann', name: 'Ann', branch: 'north' }, [await photo(1)]);
    const out = await intake.addFaceSample('door-1', { memberId: 'fs-ann', score: 0.91, modelVersion: 3, photo: await photo(2) });
    assert.match(out.sha256, /^[0-9a-f]{64}$/);
    assert.ok(await hub.services.artifacts.has(out.sha256));
    const row = hub.services.db.prepare('SELECT * FROM face_samples WHERE id = ?').get(out.id) as Record<string, unknown>;
    assert.equal(row.device_id, 'door-1');
    assert.equal(row.member_id, 'fs-ann');
    assert.equal(row.score, 0.91);
    assert.equal(row.model_version, 3);
  });

  test('unknown member → NotFoundError; nothing stored', async () => {
    const intake = intakeOf(hub);
    const before = count('SELECT COUNT(*) AS n FROM face_samples');
    await assert.rejects(intake.addFaceSample('door-1', { memberId: 'nobody', score: 0.9, modelVersion: 1, photo: await photo(3) }), NotFoundError);
    assert.equal(count('SELECT COUNT(*) AS n FROM face_samples'), before);
  });

  test('a photo that is not an image, and out-of-range numbers, are ValidationErrors naming each field', async () => {
    const intake = intakeOf(hub);
    await intake.addMember({ id: 'fs-bob', name: 'Bob', branch: 'north' }, []);
    await assert.rejects(
      intake.addFaceSample('door-1', { memberId: 'fs-bob', score: 0.9, modelVersion: 1, photo: Buffer.from('not an image at all') }),
      isValidation('photo'),
    );
    await assert.rejects(
      intake.addFaceSample('door-1', { memberId: 'fs-bob', score: 1.5, modelVersion: 0, photo: await photo(4) }),
      isValidation('score', 'modelVersion'),
    );
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"></svg>');
    await assert.rejects(intake.addFaceSample('door-1', { memberId: 'fs-bob', score: 0.9, modelVersion: 1, photo: svg }), isValidation('photo'));
  });

  test('pruneFaceSamples removes samples older than the retention period (injected clock)', async () => {
    const c = clock('2030-03-01T00:00:00.000Z');
    const intake = intakeOf(hub, { now: c.now, faceSampleRetentionDays: 10 });
    await intake.addMember({ id: 'fs-old', name: 'Old', branch: 'north' }, []);
    await intake.addFaceSample('door-1', { memberId: 'fs-old', score: 0.8, modelVersion: 1, photo: await photo(5) });
    c.advanceDays(5);
    await intake.addFaceSample('door-1', { memberId: 'fs-old', score: 0.8, modelVersion: 1, photo: await photo(6) });
    c.advanceDays(6); // first is 11 days old, second 6
    // Samples written by the other tests carry today's date: far older than 2030 minus 10 days, so they go too.
    const total = count('SELECT COUNT(*) AS n FROM face_samples');
    const removed = intake.pruneFaceSamples();
    assert.equal(removed, total - 1);
    assert.equal(count("SELECT COUNT(*) AS n FROM face_samples WHERE member_id = 'fs-old'"), 1);
    assert.equal(intake.pruneFaceSamples(), 0);
    c.advanceDays(5);
    assert.equal(intake.pruneFaceSamples(), 1);
  });

  test('the retention period must be positive', () => {
    assert.throws(() => intakeOf(hub, { faceSampleRetentionDays: 0 }), RangeError);
  });
});

describe('laundry tasks and confirmation (UC-14)', () => {
  test('a task is stored once per id: a retry returns it, another device or photo under that id is a conflict', async () => {
    const intake = intakeOf(hub);
    const id = randomUUID();
    const img = await photo(10);
    const first = await intake.addLaundryTask('wash-1', 'north', { id, aiResult: 'good', aiConfidence: 0.97, modelVersion: 2, photo: img });
    assert.deepEqual({ id: first.id, created: first.created }, { id, created: true });
    const again = await intake.addLaundryTask('wash-1', 'north', { id, aiResult: 'good', aiConfidence: 0.97, modelVersion: 2, photo: img });
    assert.deepEqual(again, { ...first, created: false });
    assert.equal(count('SELECT COUNT(*) AS n FROM laundry_tasks WHERE id = ?', id), 1);
    await assert.rejects(intake.addLaundryTask('wash-2', 'north', { id, aiResult: 'good', aiConfidence: 0.97, modelVersion: 2, photo: img }), ConflictError);
    await assert.rejects(
      intake.addLaundryTask('wash-1', 'north', { id, aiResult: 'good', aiConfidence: 0.97, modelVersion: 2, photo: await photo(11) }),
      ConflictError,
    );
    const noId = await intake.addLaundryTask('wash-1', 'north', { aiResult: 'defect', aiConfidence: 0.6, modelVersion: 2, photo: img });
    assert.notEqual(noId.id, id);
    assert.equal(noId.sha256, first.sha256, 'the same photo is one blob');
  });

  test('bad task input is a ValidationError naming every field', async () => {
    const intake = intakeOf(hub);
    await assert.rejects(
      intake.addLaundryTask('wash-1', 'north', {
        id: 'not-a-uuid',
        aiResult: 'stained' as 'good',
        aiConfidence: 1.2,
        modelVersion: 1,
        photo: await photo(12),
      }),
      isValidation('id', 'aiResult', 'aiConfidence'),
    );
    await assert.rejects(
      intake.addLaundryTask('wash-1', 'north', { aiResult: 'good', aiConfidence: 0.5, modelVersion: 1, photo: Buffer.from([1, 2, 3]) }),
      isValidation('photo'),
    );
  });

  test('confirming records the verdict once and stores a TaskConfirmed hub event', async () => {
    const c = clock('2031-05-01T10:00:00.000Z');
    const intake = intakeOf(hub, { now: c.now });
    const { id, sha256 } = await intake.addLaundryTask('wash-1', 'east', { aiResult: 'defect', aiConfidence: 0.7, modelVersion: 4, photo: await photo(20) });
    assert.equal(intake.getTask(id).status, 'pending');
    c.advanceDays(1);
    const event = intake.confirmTask(id, { finalResult: 'good', aiResult: 'defect', corrected: true, correctionReason: '  the AI missed a stain  ' }, { branch: 'east', confirmedBy: 'tablet-1' });
    assert.equal(event.type, 'TaskConfirmed');
    assert.equal(event.at, '2031-05-02T10:00:00.000Z');
    assert.deepEqual(
      { ...event, eventId: 0 },
      {
        eventId: 0,
        type: 'TaskConfirmed',
        at: '2031-05-02T10:00:00.000Z',
        taskId: id,
        deviceId: 'wash-1',
        branch: 'east',
        finalResult: 'good',
        aiResult: 'defect',
        corrected: true,
        correctionReason: 'the AI missed a stain',
        photoSha256: sha256,
        modelVersion: 4,
        confirmedBy: 'tablet-1',
      },
    );
    const row = hub.services.db.prepare('SELECT * FROM hub_events WHERE id = ?').get(event.eventId) as Record<string, unknown>;
    assert.equal(row.type, 'TaskConfirmed');
    assert.equal(row.model_type, 'laundry');
    assert.equal(row.version, 4);
    const data = JSON.parse(row.data_json as string) as Record<string, unknown>;
    for (const k of ['taskId', 'deviceId', 'branch', 'finalResult', 'aiResult', 'corrected', 'correctionReason']) {
      assert.deepEqual(data[k], (event as unknown as Record<string, unknown>)[k], k);
    }
    const task = intake.getTask(id);
    assert.deepEqual([task.status, task.finalResult, task.corrected, task.correctionReason], ['confirmed', 'good', true, 'the AI missed a stain']);

    assert.throws(() => intake.confirmTask(id, { finalResult: 'good', aiResult: 'defect', corrected: true, correctionReason: 'again' }), ConflictError);
    assert.equal(count("SELECT COUNT(*) AS n FROM hub_events WHERE type = 'TaskConfirmed' AND json_extract(data_json, '$.taskId') = ?", id), 1);
  });

  test('inconsistent confirmations: self-contradictions are 400s, a stale aiResult is a 409, another branch a 403', async () => {
    const intake = intakeOf(hub);
    const { id } = await intake.addLaundryTask('wash-1', 'west', { aiResult: 'good', aiConfidence: 0.9, modelVersion: 1, photo: await photo(21) });
    // corrected must equal finalResult !== aiResult
    assert.throws(() => intake.confirmTask(id, { finalResult: 'good', aiResult: 'good', corrected: true, correctionReason: 'x' }), isValidation('corrected'));
    assert.throws(() => intake.confirmTask(id, { finalResult: 'defect', aiResult: 'good', corrected: false }), isValidation('corrected'));
    // a correction needs a reason (blank is no reason)
    assert.throws(() => intake.confirmTask(id, { finalResult: 'defect', aiResult: 'good', corrected: true }), isValidation('correctionReason'));
    assert.throws(() => intake.confirmTask(id, { finalResult: 'defect', aiResult: 'good', corrected: true, correctionReason: '   ' }), isValidation('correctionReason'));
    // the body's aiResult must be the stored one
    assert.throws(() => intake.confirmTask(id, { finalResult: 'good', aiResult: 'defect', corrected: true, correctionReason: 'r' }), ConflictError);
    assert.throws(() => intake.confirmTask(id, { finalResult: 'good', aiResult: 'good', corrected: false }, { branch: 'east' }), ForbiddenError);
    assert.throws(() => intake.confirmTask(randomUUID(), { finalResult: 'good', aiResult: 'good', corrected: false }), NotFoundError);
    assert.equal(intake.getTask(id).status, 'pending', 'nothing recorded by the refused attempts');
    const ok = intake.confirmTask(id, { finalResult: 'good', aiResult: 'good', corrected: false, correctionReason: '' }, { branch: 'west' });
    assert.equal(ok.correctionReason, null);
    assert.equal(ok.confirmedBy, 'admin');
  });

  test('correctionsSince, confirmedTasks and listTasks', async () => {
    const c = clock('2040-01-01T00:00:00.000Z');
    const intake = intakeOf(hub, { now: c.now });
    const branch = 'south';
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      ids.push((await intake.addLaundryTask('wash-9', branch, { aiResult: 'defect', aiConfidence: 0.55, modelVersion: 7, photo: await photo(30 + i) })).id);
    }
    const [a, b, d, e] = ids as [string, string, string, string];
    intake.confirmTask(a, { finalResult: 'good', aiResult: 'defect', corrected: true, correctionReason: 'no stain' });
    c.advanceDays(1);
    const mark = c.now().toISOString();
    c.advanceDays(1);
    intake.confirmTask(b, { finalResult: 'defect', aiResult: 'defect', corrected: false });
    intake.confirmTask(d, { finalResult: 'good', aiResult: 'defect', corrected: true, correctionReason: 'shadow, not a tear' });

    assert.equal(intake.correctionsSince(mark), 1);
    assert.equal(intake.correctionsSince('2040-01-01T08:00:00+09:00'), 2, 'offsets are normalised');
    assert.ok(intake.correctionsSince(null) >= 2);
    assert.throws(() => intake.correctionsSince('yesterday'), ValidationError);

    const since = intake.confirmedTasks({ since: mark });
    assert.deepEqual(since.map((t) => t.taskId).sort(), [b, d].sort());
    const corrected = intake.confirmedTasks({ since: '2039-12-31T00:00:00.000Z', correctedOnly: true });
    assert.deepEqual(corrected.map((t) => t.taskId).sort(), [a, d].sort());
    const first = corrected.find((t) => t.taskId === d);
    assert.equal(first?.correctionReason, 'shadow, not a tear');
    assert.equal(first?.aiResult, 'defect');
    assert.equal(first?.finalResult, 'good');
    assert.equal(intake.confirmedTasks({ since: '2039-12-31T00:00:00.000Z', limit: 1 }).length, 1);

    const pending = intake.listTasks({ status: 'pending', branch });
    assert.deepEqual(pending.map((t) => t.id), [e]);
    assert.equal(intake.listTasks({ status: 'confirmed', branch, limit: 10 }).length, 3);
    assert.equal(intake.listTasks({ branch, limit: 2 }).length, 2);
    assert.throws(() => intake.listTasks({ limit: 0 }), ValidationError);
  });
});

describe('members', () => {
  test('add, add photos, list, photos; a duplicate id is a conflict; bad photos are named by index', async () => {
    const intake = intakeOf(hub);
    const m = await intake.addMember({ id: 'mem-cy', name: 'Cy', branch: 'north' }, [await photo(40), await photo(41)]);
    assert.equal(m.photos.length, 2);
    await assert.rejects(intake.addMember({ id: 'mem-cy', name: 'Cy again', branch: 'north' }, []), ConflictError);
    await assert.rejects(intake.addMember({ name: '', branch: 'north' }, [await photo(42), Buffer.from('nope')]), isValidation('name', 'photos.1'));
    const more = await intake.addMemberPhotos('mem-cy', [await photo(42), await photo(40)]);
    assert.equal(more.photos.length, 3, 'a photo already held is not added twice');
    assert.equal(intake.memberPhotos('mem-cy').length, 3);
    assert.ok(intake.listMembers().some((x) => x.id === 'mem-cy' && x.photos.length === 3));
    await assert.rejects(intake.addMemberPhotos('nobody', [await photo(43)]), NotFoundError);
    await assert.rejects(intake.addMemberPhotos('mem-cy', []), ValidationError);
    const generated = await intake.addMember({ name: 'No Id', branch: 'north' }, []);
    assert.match(generated.id, /^[0-9a-f-]{36}$/);
  });

  test('deleteMember removes the member, its photo rows and face samples, and returns the photos nothing else uses', async () => {
    const intake = intakeOf(hub);
    const own = await photo(50);
    const shared = await photo(51);
    const sample = await photo(52);
    await intake.addMember({ id: 'mem-del', name: 'Del', branch: 'north' }, [own, shared]);
    await intake.addMember({ id: 'mem-keep', name: 'Keep', branch: 'north' }, [shared]);
    const s = await intake.addFaceSample('door-1', { memberId: 'mem-del', score: 0.9, modelVersion: 1, photo: sample });
    // The same bytes also arrived as a laundry photo: still referenced after the delete.
    await intake.addLaundryTask('wash-1', 'north', { aiResult: 'good', aiConfidence: 0.9, modelVersion: 1, photo: sample });

    const unreferenced = intake.deleteMember('mem-del');
    const shaOf = async (b: Buffer) => (await hub.services.artifacts.put(b)).sha256;
    assert.deepEqual(unreferenced, [await shaOf(own)]);
    assert.ok(!unreferenced.includes(s.sha256));
    assert.equal(count("SELECT COUNT(*) AS n FROM members WHERE id = 'mem-del'"), 0);
    assert.equal(count("SELECT COUNT(*) AS n FROM member_photos WHERE member_id = 'mem-del'"), 0);
    assert.equal(count("SELECT COUNT(*) AS n FROM face_samples WHERE member_id = 'mem-del'"), 0);
    assert.equal(intake.memberPhotos('mem-keep').length, 1);
    assert.throws(() => intake.deleteMember('mem-del'), NotFoundError);
    assert.throws(() => intake.memberPhotos('mem-del'), NotFoundError);
  });
});
