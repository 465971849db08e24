// pnpm bench train [--laundry 150] [--faces ../shared/data/orl_faces] [--identities 20] [--face-epochs 6] [--types laundry,face]
// Nightly training runs end to end in a real hub (SQLite, artifact store, worker and sandbox child
// processes): a laundry run on confirmed and corrected photos, a face run on the ORL photos enrolled
// as members. Prints one JSON object as the last line: runs[] with modelType, backend, stageSeconds,
// totalSeconds, verdict.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { hubConfigSchema, startHub } from '@edgeloop/hub';
import { createLogger, type ModelType } from '@edgeloop/shared';
import { loadFaceFolder } from '../hub/src/training/faces/face-eval.js';
import { encodeImage } from '../hub/src/training/synthetic/encode.js';
import { laundryDataset } from '../hub/src/training/synthetic/laundry.js';
import { intArg } from './support/args.js';

const { values } = parseArgs({
  options: {
    laundry: { type: 'string', default: '150' },
    faces: { type: 'string', default: resolve(import.meta.dirname, '../../shared/data/orl_faces') },
    identities: { type: 'string', default: '20' },
    'face-epochs': { type: 'string', default: '6' },
    types: { type: 'string', default: 'laundry,face' },
  },
});
const types = new Set(values.types.split(',').map((t) => t.trim()));
for (const t of types) if (t !== 'laundry' && t !== 'face') throw new Error(`--types: '${t}' is neither laundry nor face`);
const log = (msg: string, extra: Record<string, unknown> = {}) => process.stderr.write(`${JSON.stringify({ msg, ...extra })}\n`);

const tmp = mkdtempSync(join(tmpdir(), 'edgeloop-bench-train-'));
const hub = await startHub(
  hubConfigSchema.parse({
    dataDir: join(tmp, 'hub'),
    logLevel: 'silent',
    http: { port: 0 },
    mqtt: { port: 0 },
    admin: { token: 'bench-admin-token-000' },
    training: { checkIntervalMs: 0, face: { epochs: intArg('face-epochs', values['face-epochs'], 1) } },
  }),
  createLogger({ name: 'hub', level: 'silent' }),
);
const { intake, members, saga, trainingRuns } = hub.services;

async function run(modelType: ModelType): Promise<Record<string, unknown>> {
  const t0 = performance.now();
  const started = saga.start(modelType, 'manual', 1);
  await saga.idle();
  const r = trainingRuns.get(started.id);
  const stage = (name: string) => r.stages.find((s) => s.stage === name)?.output ?? {};
  const verify = stage('verify') as { metrics?: Record<string, number>; reasons?: string[]; rejected?: string; held?: string };
  return {
    modelType,
    backend: (stage('train') as { backend?: string }).backend ?? null,
    stageSeconds: Object.fromEntries(r.stages.map((s) => [s.stage, s.seconds === null ? null : Math.round(s.seconds * 10) / 10])),
    totalSeconds: Math.round((performance.now() - t0) / 100) / 10,
    verdict: r.status === 'succeeded' ? 'pass' : r.status === 'held' ? 'held' : r.status,
    reason: r.reason,
    dataset: stage('prepare'),
    epochs: (stage('train') as { epochs?: number }).epochs ?? null,
    metrics: verify.metrics ?? null,
    candidateVersion: r.candidateVersion,
  };
}

const runs: Record<string, unknown>[] = [];
try {
  // Laundry: the branch managers' verdicts on generated 224×224 photos (half of them defects, each one a correction of the AI).
  const n = types.has('laundry') ? intArg('laundry', values.laundry, 10) : 0;
  for (const s of laundryDataset({ count: n, defectRatio: 0.5, seed: 11, width: 224, height: 224 })) {
    const photo = await encodeImage(s.pixels, s.width, s.height, 'jpeg', { quality: 90 });
    const t = await intake.addLaundryTask('bench-tablet', 'bench', { aiResult: 'good', aiConfidence: 0.6, modelVersion: 1, photo });
    const corrected = s.label === 'defect';
    intake.confirmTask(t.id, { finalResult: s.label, aiResult: 'good', corrected, ...(corrected ? { correctionReason: s.kind } : {}) });
  }
  if (n > 0) {
    log('laundry photos confirmed', { photos: n });
    runs.push(await run('laundry'));
    log('laundry run done', runs[0] ?? {});
  }

  // Faces: ORL identities enrolled as gym members with all their photos.
  if (types.has('face')) {
    const { byIdentity } = await loadFaceFolder(values.faces);
    const ids = [...byIdentity.keys()].slice(0, intArg('identities', values.identities, 2));
    for (const id of ids) {
      const photos = (byIdentity.get(id) ?? []).map((p) => p.bytes);
      await members.enrol({ id: `orl-${id}`, name: id, branch: 'bench' }, photos);
    }
    log('faces enrolled', { members: ids.length });
    runs.push(await run('face'));
  }
} finally {
  await hub.stop();
  rmSync(tmp, { recursive: true, force: true });
}
console.log(JSON.stringify({ bench: 'train', cpuCount: cpus().length, loadAvg: loadavg().map((x) => Math.round(x * 100) / 100), node: process.version, runs }));
