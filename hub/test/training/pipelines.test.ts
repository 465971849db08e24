/**
 * The training pipelines in a real hub (SQLite, artifact store, registry, sandbox child process):
 * a failing stage is retried and fails the run without touching the model in service; a candidate
 * that misses a limit is rejected with its report; a face candidate whose nightly samples drifted
 * from the enrolment photos is held until an admin approves it, then signed and shipped.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { FaceGallery, waitFor } from '@edgeloop/shared';
import { readFile } from 'node:fs/promises';
import { encodeImage } from '../../src/training/synthetic/encode.js';
import { faceIdentity, faceVariation, renderScene } from '../../src/training/synthetic/faces.js';
import { laundryDataset } from '../../src/training/synthetic/laundry.js';
import { startTestHub, type TestHub } from '../support/test-hub.js';

const QUICK = { backoffMs: 10, maxEpochs: 2, patience: 5, checkpointEvery: 1, variants: 2, sandbox: { requests: 10, concurrency: 2 } };

async function finished(hub: TestHub, runId: number): Promise<ReturnType<TestHub['services']['trainingRuns']['get']>> {
  await hub.services.saga.idle();
  return hub.services.trainingRuns.get(runId);
}

async function confirmLaundry(hub: TestHub, count: number): Promise<void> {
  const { intake } = hub.services;
  for (const s of laundryDataset({ count, defectRatio: 0.5, seed: 9, width: 96, height: 96, kinds: ['stain'] })) {
    const photo = await encodeImage(s.pixels, s.width, s.height, 'png');
    const t = await intake.addLaundryTask('tablet-1', 'north', { aiResult: 'good', aiConfidence: 0.7, modelVersion: 1, photo });
    const corrected = s.label === 'defect';
    intake.confirmTask(t.id, { finalResult: s.label, aiResult: 'good', corrected, ...(corrected ? { correctionReason: 'stain' } : {}) });
  }
}

describe('training pipelines in a real hub', () => {
  test('a stage that keeps failing fails the run after 3 attempts; the model in service is untouched', async () => {
    const hub = await startTestHub({ training: QUICK });
    try {
      const before = hub.services.registry.active('laundry')?.version;
      const run = hub.services.saga.start('laundry', 'manual');
      const done = await finished(hub, run.id);
      assert.equal(done.status, 'failed');
      assert.match(done.reason ?? '', /collect failed 3 times: not enough confirmed photos/);
      assert.equal(done.stages.find((s) => s.stage === 'collect')?.attempts, 3);
      const ev = hub.services.events.list({ type: 'TrainingFailed', limit: 5 });
      assert.equal(ev.length, 1);
      assert.equal(ev[0]?.data.runId, run.id);
      assert.equal(hub.services.registry.active('laundry')?.version, before);
      assert.equal(hub.services.registry.list('laundry').length, 1);
    } finally {
      await hub.close();
    }
  });

  test('a candidate that misses a limit is rejected with its report; nothing is registered', async () => {
    const hub = await startTestHub({ training: { ...QUICK, laundry: { minPerClass: 3 }, limits: { minThroughputRps: 1e9 } } });
    try {
      await confirmLaundry(hub, 24);
      const res = await hub.admin('/api/v1/training/runs', { method: 'POST', body: JSON.stringify({ modelType: 'laundry' }) });
      assert.equal(res.status, 202);
      const { id } = (await res.json()) as { id: number };
      const conflict = await hub.admin('/api/v1/training/runs', { method: 'POST', body: JSON.stringify({ modelType: 'laundry' }) });
      assert.equal(conflict.status, 409, 'never two runs of one type');
      const done = await finished(hub, id);
      assert.equal(done.status, 'rejected', JSON.stringify(done.stages.map((s) => [s.stage, s.status, s.error])));
      assert.match(done.reason ?? '', /throughput .* < 1000000000\/s/);
      const ev = hub.services.events.list({ type: 'ModelVerificationFailed', limit: 5 })[0];
      assert.equal(ev?.data.reportSha256, done.reportSha256);
      assert.ok(existsSync(join(hub.dataDir, 'training', `run-${id}`, 'verification-report.json')));
      assert.equal(hub.services.registry.list('laundry').length, 1, 'the rejected candidate was never registered');
      const view = (await (await hub.admin(`/api/v1/training/runs/${id}`)).json()) as { progress: { epoch: number }[] };
      assert.deepEqual(
        view.progress.map((p) => p.epoch),
        [1, 2],
        'progress stored per epoch',
      );
    } finally {
      await hub.close();
    }
  });

  test('faces: drifted nightly samples hold the candidate; an approval ships it with a fresh gallery', { timeout: 10 * 60_000 }, async () => {
    const hub = await startTestHub({
      training: {
        ...QUICK,
        holdoutFraction: 0.4,
        face: { epochs: 4, detectorBudget: 'test' },
        limits: { maxFar: 1, maxFrr: 1, serviceTolerance: 1, maxDrift: 0.1, minThroughputRps: 0 },
      },
    });
    try {
      const frame = async (seed: number, k: number) => {
        const s = renderScene({ seed: 100 * seed + k, faces: [{ identity: faceIdentity(seed), x: 60 + 20 * k, y: 40, width: 90, variation: faceVariation(k + 1, 0.4) }] });
        return encodeImage(s.pixels, s.width, s.height, 'png');
      };
      for (const [i, id] of ['ann', 'bob', 'cy'].entries()) {
        await hub.services.members.enrol({ id, name: id, branch: 'north' }, await Promise.all([0, 1, 2, 3, 4].map((k) => frame(4200 + i, k))));
      }
      // "Successful authentications" of ann that are really someone else: the model learning its own mistakes.
      for (let k = 0; k < 6; k++) {
        const s = renderScene({ seed: 777 + k, faces: [{ identity: faceIdentity(99_001), x: 0, y: 0, width: 92, variation: faceVariation(k, 0.4) }], width: 92, height: 112 });
        await hub.services.intake.addFaceSample('door-1', { memberId: 'ann', score: 0.8, modelVersion: 1, photo: await encodeImage(s.pixels, 92, 112, 'png') });
      }
      const run = hub.services.saga.start('face', 'nightly');
      const held = await finished(hub, run.id);
      assert.equal(held.status, 'held', JSON.stringify({ reason: held.reason, stages: held.stages.map((s) => [s.stage, s.status, s.error]) }));
      assert.match(held.reason ?? '', /drifted/);
      assert.equal(hub.services.registry.list('face').length, 1, 'nothing shipped while held');

      const approved = await hub.admin(`/api/v1/training/runs/${run.id}/approve`, { method: 'POST', body: '{}' });
      assert.equal(approved.status, 200);
      const done = await finished(hub, run.id);
      assert.equal(done.status, 'succeeded');
      const rec = hub.services.registry.get('face', done.candidateVersion ?? 0);
      const m = rec.signed.signed;
      assert.equal(m.evidenceSha256, done.reportSha256);
      assert.deepEqual(m.files.map((f) => f.role).sort(), ['detector', 'gallery', 'network']);
      const gallery = FaceGallery.decode(await readFile(hub.services.artifacts.pathOf(m.files.find((f) => f.role === 'gallery')?.sha256 ?? '')));
      assert.deepEqual([...gallery.memberIds()].sort(), ['ann', 'bob', 'cy']);
      await waitFor(() => hub.services.registry.active('face')?.version === rec.version, 'the approved candidate in service');
    } finally {
      await hub.close();
    }
  });
});
