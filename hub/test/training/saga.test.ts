import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { ConflictError } from '@edgeloop/shared';
import { memoryLogger } from '@edgeloop/shared/testing';
import { HubEvents } from '../../src/events/hub-events.js';
import { RunStore, STAGES, type StageName } from '../../src/training/pipeline/run-store.js';
import { CandidateHeld, CandidateRejected, type Pipeline, type StageFn, TrainingSaga } from '../../src/training/pipeline/saga.js';
import { type Db, openDatabase } from '../../src/store/db.js';

let dir: string;
let db: Db;
let store: RunStore;
let events: HubEvents;
let calls: string[];
let sleeps: number[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'saga-'));
  db = openDatabase(join(dir, 'hub.sqlite'));
  store = new RunStore(db, () => new Date());
  events = new HubEvents(db, memoryLogger().log);
  calls = [];
  sleeps = [];
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Each stage records its call and returns {stage, n}; `over` replaces some. */
function pipeline(over: Partial<Record<StageName, StageFn>> = {}): Pipeline {
  const p = {} as Pipeline;
  for (const s of STAGES) {
    p[s] =
      over[s] ??
      (async () => {
        calls.push(s);
        return { stage: s, n: calls.length };
      });
  }
  return p;
}

function saga(p: Pipeline, laundry: Pipeline = pipeline()): TrainingSaga {
  return new TrainingSaga({
    store,
    pipelines: { face: p, laundry },
    events,
    dataDir: dir,
    log: memoryLogger().log,
    maxAttempts: 3,
    backoffMs: 100,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });
}

const eventTypes = () => events.list({ limit: 50 }).map((e) => e.type);

describe('training saga', () => {
  test('runs the stages in order, checkpointing each output for the next', async () => {
    let seenByExport: unknown = null;
    const s = saga(
      pipeline({
        export: async (ctx) => {
          calls.push('export');
          seenByExport = ctx.output('train');
          return { onnx: 'x' };
        },
      }),
    );
    const run = s.start('face', 'manual');
    await s.idle();
    assert.deepEqual(calls, [...STAGES]);
    assert.deepEqual(seenByExport, { stage: 'train', n: 3 });
    const done = store.get(run.id);
    assert.equal(done.status, 'succeeded');
    assert.ok(done.finishedAt);
    assert.ok(done.stages.every((st) => st.status === 'done' && st.attempts === 1 && st.seconds !== null));
  });

  test('a failing stage is retried with exponential backoff, then the run goes on', async () => {
    let failures = 2;
    const s = saga(
      pipeline({
        train: async () => {
          calls.push('train');
          if (failures-- > 0) throw new Error('out of memory');
          return { ok: true };
        },
      }),
    );
    const run = s.start('face', 'manual');
    await s.idle();
    assert.equal(store.get(run.id).status, 'succeeded');
    assert.equal(store.get(run.id).stages.find((x) => x.stage === 'train')?.attempts, 3);
    assert.deepEqual(sleeps, [100, 200]);
  });

  test('three failures fail the run with a TrainingFailed event; later stages never run', async () => {
    const s = saga(
      pipeline({
        prepare: async () => {
          calls.push('prepare');
          throw new Error('disk full');
        },
      }),
    );
    const run = s.start('face', 'manual');
    await s.idle();
    const r = store.get(run.id);
    assert.equal(r.status, 'failed');
    assert.match(r.reason ?? '', /prepare failed 3 times: disk full/);
    assert.deepEqual(calls, ['collect', 'prepare', 'prepare', 'prepare']);
    assert.deepEqual(eventTypes(), ['TrainingFailed']);
    assert.equal(r.candidateVersion, null);
  });

  test('a verify stage that keeps failing is a ModelVerificationFailed', async () => {
    const s = saga(
      pipeline({
        verify: async () => {
          throw new Error('sandbox could not start');
        },
      }),
    );
    s.start('face', 'manual');
    await s.idle();
    assert.deepEqual(eventTypes(), ['ModelVerificationFailed']);
  });

  test('a rejected candidate ends the run at once (no retry), with the report kept', async () => {
    const s = saga(
      pipeline({
        verify: async () => {
          calls.push('verify');
          throw new CandidateRejected('accuracy 0.81 < 0.90', { reportSha256: 'ab'.repeat(32), accuracy: 0.81 });
        },
      }),
    );
    const run = s.start('face', 'manual');
    await s.idle();
    const r = store.get(run.id);
    assert.equal(r.status, 'rejected');
    assert.deepEqual(calls, ['collect', 'prepare', 'train', 'export', 'verify']);
    assert.equal(r.stages.find((x) => x.stage === 'verify')?.output?.accuracy, 0.81);
    const ev = events.list({ limit: 5 })[0];
    assert.equal(ev?.type, 'ModelVerificationFailed');
    assert.equal(ev?.data.reportSha256, 'ab'.repeat(32));
  });

  test('a held candidate waits for an admin; approval continues with register', async () => {
    const s = saga(
      pipeline({
        verify: async () => {
          calls.push('verify');
          throw new CandidateHeld('drift 0.4 > 0.25', { drift: 0.4 });
        },
      }),
    );
    const run = s.start('face', 'manual');
    await s.idle();
    assert.equal(store.get(run.id).status, 'held');
    assert.throws(() => s.start('face', 'manual'), ConflictError, 'a held run blocks another of its type');
    s.approve(run.id, 'admin');
    await s.idle();
    assert.equal(store.get(run.id).status, 'succeeded');
    assert.deepEqual(calls, [...STAGES]);
    assert.throws(() => s.approve(run.id, 'admin'), ConflictError);

    const run2 = s.start('face', 'manual');
    await s.idle();
    assert.equal(s.dismiss(run2.id, 'admin').status, 'rejected');
  });

  test('never two runs of one model type at a time; other types are independent', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const s = saga(
      pipeline({
        collect: async () => {
          await gate;
          return {};
        },
      }),
    );
    s.start('face', 'manual');
    assert.throws(() => s.start('face', 'nightly'), ConflictError);
    s.start('laundry', 'urgent');
    release();
    await s.idle();
    assert.equal(store.list().length, 2);
  });

  test('after a crash the run resumes at the interrupted stage; finished stages are not redone', async () => {
    const run = store.create('face', 'nightly', 7);
    store.stageStarted(run.id, 'collect');
    store.stageDone(run.id, 'collect', { photos: 12 }, 0.1);
    store.stageStarted(run.id, 'prepare'); // the hub died here
    const s = saga(pipeline());
    assert.deepEqual(
      s.resumeUnfinished().map((r) => r.id),
      [run.id],
    );
    await s.idle();
    assert.deepEqual(calls, ['prepare', 'train', 'export', 'verify', 'register', 'rollout']);
    const r = store.get(run.id);
    assert.equal(r.status, 'succeeded');
    assert.equal(r.stages.find((x) => x.stage === 'prepare')?.attempts, 2);
    assert.deepEqual(r.stages.find((x) => x.stage === 'collect')?.output, { photos: 12 });
  });

  test('a stage the hub keeps crashing in counts its attempts and fails the run', async () => {
    const run = store.create('laundry', 'urgent', 1);
    for (let i = 0; i < 3; i++) store.stageStarted(run.id, 'collect'); // three crashes inside collect
    const s = saga(pipeline(), pipeline());
    s.resumeUnfinished();
    await s.idle();
    assert.equal(store.get(run.id).status, 'failed');
    assert.deepEqual(calls, []);
    assert.deepEqual(eventTypes(), ['TrainingFailed']);
  });
});
