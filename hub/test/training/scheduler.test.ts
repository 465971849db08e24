import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { memoryLogger } from '@edgeloop/shared/testing';
import { HubEvents } from '../../src/events/hub-events.js';
import { RunStore, STAGES } from '../../src/training/pipeline/run-store.js';
import { type Pipeline, TrainingSaga } from '../../src/training/pipeline/saga.js';
import { TrainingScheduler } from '../../src/training/pipeline/scheduler.js';
import { openDatabase } from '../../src/store/db.js';

const dir = mkdtempSync(join(tmpdir(), 'scheduler-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('the scheduler starts what the driven clock makes due: nightly faces, UC-24 laundry, urgent, never twice', async () => {
  const db = openDatabase(join(dir, 'hub.sqlite'));
  let now = new Date('2026-11-22T01:00:00.000Z'); // 02:00 in Berlin: before the nightly time
  const store = new RunStore(db, () => now);
  const done = Object.fromEntries(STAGES.map((s) => [s, async () => ({})])) as unknown as Pipeline;
  const saga = new TrainingSaga({ store, pipelines: { face: done, laundry: done }, events: new HubEvents(db, memoryLogger().log), dataDir: dir, log: memoryLogger().log, maxAttempts: 3, backoffMs: 1 });
  let corrections = 0;
  const scheduler = new TrainingScheduler({
    store,
    saga,
    now: () => now,
    config: { nightlyAt: '03:00', timeZone: 'Europe/Berlin', nightlyWindowMinutes: 180, laundry: { minCorrections: 100, minDays: 7, urgentCorrections: 300 }, faceMinMembers: 2 },
    correctionsSince: () => corrections,
    members: () => 12,
    log: memoryLogger().log,
    intervalMs: 60_000,
  });
  const started = () => scheduler.tick().map((r) => `${r.modelType}:${r.trigger}`);
  try {
    assert.deepEqual(started(), [], 'nothing before 03:00');
    now = new Date('2026-11-22T02:00:30.000Z'); // 03:00:30 local
    corrections = 50;
    assert.deepEqual(started(), ['face:nightly'], 'faces every night; 50 corrections are not enough for laundry');
    assert.deepEqual(started(), [], 'the face run is open: never two');
    await saga.idle();
    assert.deepEqual(started(), [], 'once per night');

    now = new Date('2026-11-22T12:00:00.000Z');
    corrections = 300;
    assert.deepEqual(started(), ['laundry:urgent'], '300 corrections: at once, night or day');
    await saga.idle();
    corrections = 0; // counted since the last run

    now = new Date('2026-11-23T02:05:00.000Z');
    corrections = 120;
    assert.deepEqual(started(), ['face:nightly'], 'the urgent run was under 7 days ago: no laundry run yet');
    await saga.idle();

    now = new Date('2026-11-30T02:05:00.000Z');
    assert.deepEqual(started(), ['face:nightly', 'laundry:corrections'], '8 days later with 120 corrections');
    await saga.idle();
    assert.ok(store.list().every((r) => r.status === 'succeeded'));
  } finally {
    scheduler.stop();
    db.close();
  }
});
