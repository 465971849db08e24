/**
 * Face evaluation protocol on a small synthetic folder: members/strangers split, enrolment by name
 * order, training only on enrolled photos (checked with a trainer spy), sane metrics; plus the
 * threshold rule and gallery matching.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FaceEmbedderOptions } from '../../src/training/faces/embedder-training.js';
import { trainFaceEmbedder } from '../../src/training/faces/embedder-training.js';
import { evaluateFaceFolder, type FaceEvalReport } from '../../src/training/faces/face-eval.js';
import { chooseThreshold, matchGallery } from '../../src/training/faces/threshold.js';
import { encodeImage } from '../../src/training/synthetic/encode.js';
import { faceDataset } from '../../src/training/synthetic/faces.js';

const IDS = 8;
const PER_ID = 4;
let dir: string;
const calls: FaceEmbedderOptions[] = [];
let report: FaceEvalReport;
const photos = faceDataset({ identities: IDS, perIdentity: PER_ID, seed: 5, variationStrength: 0.5 });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'face-eval-'));
  for (const [i, p] of photos.entries()) {
    const folder = join(dir, `person${p.identity + 1}`);
    await mkdir(folder, { recursive: true });
    const n = (i % PER_ID) + 1;
    const format = n % 2 === 0 ? 'png' : 'pnm';
    await writeFile(join(folder, `${n}.${format === 'png' ? 'png' : 'pgm'}`), await encodeImage(p.pixels, p.width, p.height, format));
  }
  await writeFile(join(dir, 'README.txt'), 'not a face');
  await writeFile(join(dir, 'person1', 'notes.txt'), 'not a face either');
  report = await evaluateFaceFolder(dir, {
    seed: 3,
    enrolPerMember: 2,
    train: { synthetic: { identities: 0, perIdentity: 0 }, epochs: 6, inputWidth: 24, inputHeight: 28, filters: [8, 16, 32], embeddingDim: 32, batchSize: 8 },
    trainer: async (opts) => {
      calls.push(opts);
      return trainFaceEmbedder(opts);
    },
  });
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('splits identities into members and strangers and enrols the first photos by name', () => {
  assert.equal(report.identities, IDS);
  assert.equal(report.images, IDS * PER_ID);
  assert.equal(report.members, 6);
  assert.equal(report.strangers, 2);
  assert.equal(report.probes, 6 * (PER_ID - 2));
  assert.equal(report.strangerProbes, 2 * PER_ID);
  assert.equal(report.enrolledFiles.length, 12);
  for (const f of report.enrolledFiles) assert.match(f, /^person\d+\/[12]\.(pgm|png)$/);
  assert.ok(report.skipped.some((s) => s.startsWith('README.txt')));
  assert.ok(report.skipped.some((s) => s.startsWith('person1/notes.txt')));
});

test('trains only on enrolled photos (calibration and final run)', () => {
  assert.equal(calls.length, 2, 'one calibration and one final training');
  const enrolledKeys = new Set(
    report.enrolledFiles.map((f) => {
      const m = /^person(\d+)\/(\d+)\./.exec(f) as RegExpExecArray;
      return (Number(m[1]) - 1) * PER_ID + Number(m[2]) - 1;
    }),
  );
  const enrolledPixels = [...enrolledKeys].map((k) => Buffer.from((photos[k] as (typeof photos)[number]).pixels));
  for (const call of calls) {
    for (const s of call.samples) {
      assert.ok(
        enrolledPixels.some((p) => p.equals(Buffer.from(s.image.data))),
        `trainer got a photo of ${s.identity} that is not an enrolled photo`,
      );
    }
  }
  const final = calls[1] as FaceEmbedderOptions;
  assert.equal(final.samples.length, 12);
  assert.ok((calls[0] as FaceEmbedderOptions).samples.length < 12, 'calibration holds photos out');
});

test('returns metrics in range and a calibrated threshold', () => {
  for (const k of ['rank1', 'far', 'frr', 'misidentified'] as const) {
    assert.ok(report[k] >= 0 && report[k] <= 1, `${k} = ${report[k]}`);
  }
  assert.ok(report.frr >= report.misidentified);
  assert.ok(report.rank1 >= 0.5, `rank1 ${report.rank1} on easy synthetic faces`);
  assert.ok(report.thresholdChoice !== null);
  assert.equal(report.threshold, report.thresholdChoice.threshold);
  assert.ok(report.threshold > -1 && report.threshold < 1.5);
  assert.ok(report.backend.length > 0);
  assert.ok(report.trainSeconds > 0);
  assert.equal(report.preprocess.standardize, true);
});

test('chooseThreshold sits between impostor and genuine scores', () => {
  const t = chooseThreshold({ genuine: [0.9, 0.85, 0.8, 0.95], impostor: [0.3, 0.5, 0.4] });
  assert.ok(t.threshold > 0.5 && t.threshold < 0.8, `threshold ${t.threshold}`);
  assert.equal(t.maxImpostor, 0.5);
  const overlap = chooseThreshold({ genuine: [0.6, 0.9], impostor: [0.7] });
  assert.ok(overlap.threshold >= 0.72 - 1e-9, 'FAR first: never below the highest impostor score plus the margin');
  assert.equal(chooseThreshold({ genuine: [], impostor: [0.2] }, { fallback: 0.42 }).threshold, 0.42);
});

test('matchGallery takes the best template per member', () => {
  const e = (x: number, y: number): Float32Array => Float32Array.from([x, y]).map((v) => v / Math.hypot(x, y));
  const g = [
    { memberId: 'a', embeddings: [e(1, 0), e(0, 1)] },
    { memberId: 'b', embeddings: [e(1, 1)] },
  ];
  const q = e(0.1, 1);
  const [qx, qy] = q as unknown as [number, number];
  const [bx, by] = e(1, 1) as unknown as [number, number];
  const m = matchGallery(g, q);
  assert.equal(m?.memberId, 'a');
  assert.ok(Math.abs((m?.score ?? 0) - qy) < 1e-6);
  assert.ok(Math.abs((m?.secondScore ?? 0) - (bx * qx + by * qy)) < 1e-6);
  assert.equal(matchGallery([], e(1, 0)), null);
});
