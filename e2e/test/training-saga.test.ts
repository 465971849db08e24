/**
 * The nightly training saga survives a hub killed with SIGKILL inside every stage: a real hub
 * process is killed in collect, then (restarted on the same data) in prepare, train (after a
 * checkpoint), export, verify, register and rollout; each restart resumes the run at the stage it
 * died in, never redoing a finished one, and the last restart finishes it: a signed, verified
 * laundry model trained from branch managers' corrections, with its verification report's hash in
 * the manifest, handed to the fleet.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { canonicalize, sha256Hex, waitFor } from '@edgeloop/shared';
import Database from 'better-sqlite3';
import { encodeImage } from '../../hub/src/training/synthetic/encode.js';
import { laundryDataset } from '../../hub/src/training/synthetic/laundry.js';
import { ROOT, startHubProcess } from './support/processes.js';

const TOKEN = 'saga-admin-token-0123456';
const STAGES = ['collect', 'prepare', 'train', 'export', 'verify', 'register', 'rollout'] as const;
/** Small and quick, and lenient limits: this test is about crash safety, not about model quality. */
const TRAINING_ENV: Record<string, string> = {
  EDGELOOP_HUB_LOG_LEVEL: 'warn',
  EDGELOOP_HUB_TRAINING__MAX_EPOCHS: '6',
  EDGELOOP_HUB_TRAINING__CHECKPOINT_EVERY: '2',
  EDGELOOP_HUB_TRAINING__PATIENCE: '10',
  EDGELOOP_HUB_TRAINING__VARIANTS: '2',
  EDGELOOP_HUB_TRAINING__BACKOFF_MS: '100',
  EDGELOOP_HUB_TRAINING__LAUNDRY__MIN_PER_CLASS: '5',
  EDGELOOP_HUB_TRAINING__SANDBOX__REQUESTS: '20',
  EDGELOOP_HUB_TRAINING__SANDBOX__CONCURRENCY: '2',
  EDGELOOP_HUB_TRAINING__LIMITS__MIN_VAL_ACCURACY: '0',
  EDGELOOP_HUB_TRAINING__LIMITS__MIN_HOLDOUT_ACCURACY: '0',
  EDGELOOP_HUB_TRAINING__LIMITS__MIN_CLASS_RECALL: '0',
  EDGELOOP_HUB_TRAINING__LIMITS__MIN_THROUGHPUT_RPS: '0',
  EDGELOOP_HUB_TRAINING__LIMITS__MAX_AVG_LATENCY_MS: '60000',
};

let dir: string;
const hubDir = () => join(dir, 'hub');

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'saga-'));
  // Branch managers' verdicts: 60 photos, half of them corrected to 'defect'.
  const hub = await startHubProcess(hubDir(), TOKEN, { ...TRAINING_ENV, EDGELOOP_HUB_TESTING__TRAINING_FAILPOINT: 'collect' });
  try {
    const url = hub.ready.httpUrl as string;
    const admin = (path: string, body?: unknown) =>
      fetch(`${url}/api/v1${path}`, { method: body === undefined ? 'GET' : 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const dev = (await (await admin('/devices', { id: 'tablet-1', role: 'laundry', branch: 'north' })).json()) as { password: string };
    const basic = `Basic ${Buffer.from(`tablet-1:${dev.password}`).toString('base64')}`;
    for (const s of laundryDataset({ count: 60, defectRatio: 0.5, seed: 5, width: 96, height: 96, kinds: ['stain'] })) {
      const photo = await encodeImage(s.pixels, s.width, s.height, 'png');
      const task = await fetch(`${url}/api/v1/device/tasks`, {
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'application/json' },
        body: JSON.stringify({ aiResult: 'good', aiConfidence: 0.6, modelVersion: 1, photoBase64: photo.toString('base64') }),
      });
      assert.equal(task.status, 201, await task.clone().text());
      const { id } = (await task.json()) as { id: string };
      const corrected = s.label === 'defect';
      const c = await admin(`/intake/tasks/${id}/confirm`, { finalResult: s.label, aiResult: 'good', corrected, ...(corrected ? { correctionReason: 'stain' } : {}) });
      assert.equal(c.status, 200, await c.text());
    }
    // The admin starts a laundry run; this hub dies inside its first stage.
    const died = exitOf(hub.child);
    const res = await admin('/training/runs', { modelType: 'laundry' });
    assert.equal(res.status, 202);
    await died;
  } finally {
    hub.child.kill('SIGKILL');
  }
});

after(() => rmSync(dir, { recursive: true, force: true }));

function exitOf(child: import('node:child_process').ChildProcess): Promise<NodeJS.Signals | number | null> {
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
}

/** A hub process on the same data that resumes the run; resolves with how it ended. */
function resumeHub(failpoint: string): Promise<NodeJS.Signals | number | null> {
  return resumeHubProcess(failpoint).exited;
}

function resumeHubProcess(failpoint: string): { child: import('node:child_process').ChildProcess; exited: Promise<NodeJS.Signals | number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'hub/src/main.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      ...TRAINING_ENV,
      EDGELOOP_HUB_DATA_DIR: hubDir(),
      EDGELOOP_HUB_HTTP__PORT: '0',
      EDGELOOP_HUB_MQTT__PORT: '0',
      EDGELOOP_HUB_ADMIN__TOKEN: TOKEN,
      EDGELOOP_HUB_TRAINING__CHECK_INTERVAL_MS: '0',
      EDGELOOP_HUB_TESTING__TRAINING_FAILPOINT: failpoint,
    },
    stdio: 'ignore',
  });
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  return { child, exited: exitOf(child).finally(() => process.removeListener('exit', kill)) };
}

interface StageRow {
  stage: string;
  status: string;
  attempts: number;
  output_json: string | null;
}
function readRun(): { run: { id: number; status: string; candidate_version: number | null; report_sha256: string | null }; stages: Map<string, StageRow> } {
  const db = new Database(join(hubDir(), 'hub.sqlite'));
  try {
    const run = db.prepare('SELECT * FROM training_runs ORDER BY id DESC LIMIT 1').get() as { id: number; status: string; candidate_version: number | null; report_sha256: string | null };
    const stages = new Map((db.prepare('SELECT * FROM training_stages WHERE run_id = ?').all(run.id) as StageRow[]).map((s) => [s.stage, s]));
    return { run, stages };
  } finally {
    db.close();
  }
}

test('SIGKILL inside every stage: each restart resumes at that stage and the run completes', { timeout: 15 * 60_000 }, async () => {
  for (const [i, stage] of STAGES.entries()) {
    if (i > 0) assert.equal(await resumeHub(stage), 'SIGKILL', `hub killed inside ${stage}`);
    const { run, stages } = readRun();
    assert.equal(run.status, 'running');
    for (const done of STAGES.slice(0, i)) {
      const s = stages.get(done);
      assert.equal(s?.status, 'done', `${done} finished before the kill in ${stage}`);
      assert.equal(s?.attempts, 2, `${done} ran once before its own kill and once after the restart, never again`);
    }
    assert.equal(stages.get(stage)?.status, 'running', `${stage} was in progress when the hub died`);
    assert.equal(stages.get(stage)?.attempts, 1);
    for (const later of STAGES.slice(i + 1)) assert.equal(stages.get(later)?.attempts, 0, `${later} not started`);
  }

  // A hub without a failpoint finishes the run.
  const last = resumeHubProcess('');
  try {
    await waitFor(() => readRun().run.status !== 'running', 'the run finished', { timeoutMs: 10 * 60_000, intervalMs: 500 });
  } finally {
    last.child.kill('SIGTERM');
    await last.exited;
  }
  const { run, stages } = readRun();
  assert.equal(run.status, 'succeeded', JSON.stringify([...stages.values()].map((s) => [s.stage, s.status, s.attempts])));
  for (const s of STAGES) assert.equal(stages.get(s)?.attempts, 2, `${s}: killed once, finished once`);
  const train = JSON.parse(stages.get('train')?.output_json ?? '{}') as { resumedFrom: number; backend: string };
  assert.ok(train.resumedFrom >= 2, `training resumed from its checkpoint (epoch ${train.resumedFrom})`);
  assert.ok(['wasm', 'tensorflow', 'tensorflow-gpu', 'cpu'].includes(train.backend));
  const exp = JSON.parse(stages.get('export')?.output_json ?? '{}') as { parityMaxDiff: number; paritySamples: number };
  assert.ok(exp.parityMaxDiff <= 1e-4 && exp.paritySamples > 0, `ONNX parity ${exp.parityMaxDiff} on ${exp.paritySamples}`);

  // The report on disk is the one whose hash the signed manifest carries.
  const report = readFileSync(join(hubDir(), 'training', `run-${run.id}`, 'verification-report.json'), 'utf8');
  assert.equal(sha256Hex(report), run.report_sha256);
  const parsed = JSON.parse(report) as { verdict: { verdict: string }; dataset: { datasetSha256: string }; outcome: { ok: boolean } };
  assert.equal(parsed.verdict.verdict, 'pass');
  assert.equal(parsed.outcome.ok, true);
  assert.match(parsed.dataset.datasetSha256, /^[0-9a-f]{64}$/);
  assert.equal(canonicalize(JSON.parse(report)), report);
  const db = new Database(join(hubDir(), 'hub.sqlite'));
  try {
    const v = db.prepare("SELECT status, manifest_json FROM model_versions WHERE model_type = 'laundry' AND version = ?").get(run.candidate_version) as { status: string; manifest_json: string };
    const manifest = JSON.parse(v.manifest_json) as { evidenceSha256: string; parentVersion: number };
    assert.equal(manifest.evidenceSha256, run.report_sha256);
    assert.equal(manifest.parentVersion, 1);
    // No online laundry device to canary on: the verified candidate became the fleet's version.
    assert.equal(v.status, 'active');
    assert.equal((db.prepare("SELECT COUNT(*) AS n FROM model_versions WHERE model_type = 'laundry'").get() as { n: number }).n, 2, 'registered once, in spite of the kill inside register');
  } finally {
    db.close();
  }
});
