/**
 * evaluateLaundryFolder: stratified seeded split, training only on training photos, the report's
 * fields, and files that are not photos skipped with a note.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { auroc, evaluateLaundryFolder, LaundryEvalError, splitLaundry } from '../../src/training/laundry/laundry-eval.js';
import { type LaundryTrainingOptions, trainLaundryClassifier } from '../../src/training/laundry/laundry-training.js';
import { type LaundryPhotoFile, laundryPhotos, writeLaundryPhotos } from './laundry-support.js';

let dir: string;
let photos: LaundryPhotoFile[];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'laundry-eval-'));
  photos = await laundryPhotos(30, 5);
  await writeLaundryPhotos(dir, photos);
  await writeFile(join(dir, 'good', 'notes.txt'), 'not a photo');
  await writeFile(join(dir, 'defect', 'broken.png'), 'not really a png');
  await writeFile(join(dir, 'README'), 'x');
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('evaluateLaundryFolder reports sane metrics and never trains on test photos', async () => {
  const trainedOn: Uint8Array[] = [];
  const trainer = (opts: LaundryTrainingOptions) => {
    trainedOn.push(...opts.samples.map((s) => s.image), ...(opts.validation ?? []).map((s) => s.image));
    return trainLaundryClassifier({ ...opts, epochs: 2 });
  };
  const report = await evaluateLaundryFolder(dir, { seed: 3, trainer });
  assert.equal(report.images, 30);
  assert.equal(report.trainImages + report.testImages, 30);
  assert.equal(report.testImages, 6, '20% of each class (15 good, 15 defect) is tested');
  assert.equal(report.threshold, 0.5);
  assert.equal(report.backend.length > 0, true);
  for (const v of [report.accuracy, report.recall.good, report.recall.defect, report.auroc]) assert.ok(v >= 0 && v <= 1, `${v}`);
  assert.ok(Math.abs(report.misreadRate - (1 - report.accuracy)) < 1e-12);
  assert.ok(report.trainSeconds > 0);
  assert.equal(report.testFiles.filter((f) => f.startsWith('defect/')).length, 3);
  // Disjoint by name and by content.
  const train = new Set(report.trainFiles);
  assert.ok(report.testFiles.every((f) => !train.has(f)));
  // Trained the way the nightly run trains: a validation share, the rest with 4 augmented copies each.
  assert.equal(report.validationImages, 4, '20% of each class of the 24 training photos (12 good, 12 defect): 2 + 2');
  assert.equal(report.fitImages, (report.trainImages - report.validationImages) * 5);
  assert.equal(trainedOn.length, report.fitImages + report.validationImages);
  const trainedBytes = new Set(trainedOn.map((b) => Buffer.from(b).toString('base64')));
  const byName = new Map(photos.map((p) => [`${p.label}/${p.name}`, p.image]));
  for (const f of report.testFiles) assert.ok(!trainedBytes.has(Buffer.from(byName.get(f) as Uint8Array).toString('base64')), `${f} was trained on`);
  assert.deepEqual(report.skipped.map((s) => s.split(' ')[0]).sort(), ['README', 'defect/broken.png', 'good/notes.txt']);
});

test('the split is stratified, seeded and covers every photo once', () => {
  const items = Array.from({ length: 23 }, (_, i) => ({ label: i < 13 ? ('good' as const) : ('defect' as const), id: i }));
  const a = splitLaundry(items, 9);
  const b = splitLaundry(items, 9);
  const c = splitLaundry(items, 10);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.test, c.test);
  assert.equal(a.train.length + a.test.length, 23);
  assert.equal(new Set([...a.train, ...a.test].map((x) => x.id)).size, 23);
  assert.equal(a.test.filter((x) => x.label === 'good').length, 3);
  assert.equal(a.test.filter((x) => x.label === 'defect').length, 2);
  assert.throws(() => splitLaundry(items.slice(0, 13), 1), LaundryEvalError);
});

test('auroc counts ordered pairs, ties half', () => {
  assert.equal(auroc([0.9, 0.8, 0.1, 0.2], [true, true, false, false]), 1);
  assert.equal(auroc([0.1, 0.9], [true, false]), 0);
  assert.equal(auroc([0.5, 0.5], [true, false]), 0.5);
  assert.ok(Number.isNaN(auroc([0.5], [true])));
});

test('a folder without good/ and defect/ is a clear error', async () => {
  const empty = await mkdtemp(join(tmpdir(), 'laundry-empty-'));
  try {
    await assert.rejects(evaluateLaundryFolder(empty), LaundryEvalError);
  } finally {
    await rm(empty, { recursive: true, force: true });
  }
});
