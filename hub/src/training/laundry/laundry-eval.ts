/**
 * Laundry evaluation on a folder `<dir>/good/*` and `<dir>/defect/*` (PNG, JPEG, PGM/PPM, GIF).
 *
 * Protocol: each class's files sorted by name (numeric-aware), then shuffled with the seed; the first
 * 80% of each class train, the rest test (stratified). The classifier is trained on the training
 * photos only, the way the nightly run trains it: 20% of them (stratified) kept for early stopping,
 * the rest each with 4 augmented copies (rotation, flip, brightness, contrast; the pipeline's
 * augmentPhoto). Test photos go through the device path only: the exported ONNX in onnxruntime
 * (OnnxModel) and the device's tile classifier (`classifyLaundry`, shared with the edge agent), with
 * its fixed 0.5 threshold.
 */
import type { Dirent } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { classifyLaundry, type Logger, OnnxModel, openImage, type PreprocessSpec } from '@edgeloop/shared';
import { augmentPhoto } from '../pipeline/augment.js';
import { seededShuffle } from '../seeded-random.js';
import { type LaundryLabel, type LaundryTrainingOptions, type LaundryTrainingResult, type LaundryTrainingSample, trainLaundryClassifier } from './laundry-training.js';

export const LAUNDRY_IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.pgm', '.ppm', '.pnm', '.gif']);

/** What the device does with a photo (`classifyLaundry`). */
export type LaundryPhotoClassifier = (
  network: { runTensor(data: Float32Array, batch: number): Promise<Float32Array> },
  labels: readonly string[],
  image: Uint8Array,
  spec: PreprocessSpec,
) => Promise<{ label: string; defectScore: number }>;

export type LaundryTrainer = (opts: LaundryTrainingOptions) => Promise<LaundryTrainingResult>;

export interface LaundryEvalOptions {
  /** The device's photo classifier; defaults to `classifyLaundry` (injectable for tests). */
  classify?: LaundryPhotoClassifier;
  seed?: number;
  /** Fraction of each class used for training (default 0.8). */
  trainFraction?: number;
  /** Defaults to trainLaundryClassifier; injectable for tests. */
  trainer?: LaundryTrainer;
  /** Passed to the trainer (epochs, batch size, ...). */
  train?: Partial<Omit<LaundryTrainingOptions, 'samples' | 'seed' | 'validation'>>;
  /** Training images per training photo, as the nightly run makes them: the photo and (variants − 1) augmented copies (default 5). */
  variants?: number;
  /** Share of each class's training photos held out for early stopping, as the nightly run does (default 0.2). */
  valFraction?: number;
  log?: Logger;
}

export interface LaundryEvalReport {
  accuracy: number;
  recall: { good: number; defect: number };
  misreadRate: number;
  auroc: number;
  images: number;
  trainImages: number;
  testImages: number;
  /** What the network was fitted on: training photos minus validation, times `variants`. */
  fitImages: number;
  /** Training photos held out for early stopping (never augmented). */
  validationImages: number;
  backend: string;
  trainSeconds: number;
  evalSeconds: number;
  epochs: number;
  threshold: 0.5;
  /** Test photos the device path got wrong (relative paths). */
  misread: string[];
  trainFiles: string[];
  testFiles: string[];
  skipped: string[];
  modelBytes: number;
  preprocess: PreprocessSpec;
}

export class LaundryEvalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LaundryEvalError';
  }
}

interface Photo {
  label: LaundryLabel;
  /** Relative to the data folder. */
  file: string;
  bytes: Uint8Array;
}

const byName = (a: string, b: string): number => a.localeCompare(b, 'en', { numeric: true });

/** Every decodable photo under `<dir>/good/` and `<dir>/defect/`, sorted; everything else is listed as skipped. */
export async function loadLaundryFolder(dir: string): Promise<{ photos: Photo[]; skipped: string[] }> {
  const skipped: string[] = [];
  const photos: Photo[] = [];
  let top: string[];
  try {
    top = (await readdir(dir)).sort(byName);
  } catch (err) {
    throw new LaundryEvalError(`${dir}: cannot read the data folder: ${(err as Error).message}`);
  }
  for (const name of top) if (name !== 'good' && name !== 'defect' && !name.startsWith('.')) skipped.push(`${name} (not good/ or defect/)`);
  for (const label of ['good', 'defect'] as const) {
    let entries: Dirent[];
    try {
      entries = (await readdir(join(dir, label), { withFileTypes: true })).sort((a, b) => byName(a.name, b.name));
    } catch {
      throw new LaundryEvalError(`${dir}: no ${label}/ subfolder`);
    }
    for (const e of entries) {
      const rel = join(label, e.name);
      if (e.name.startsWith('.')) continue;
      if (!e.isFile() || !LAUNDRY_IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase())) {
        skipped.push(`${rel} (not an image file)`);
        continue;
      }
      const bytes = await readFile(join(dir, rel));
      try {
        await openImage(bytes).metadata();
        photos.push({ label, file: rel, bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length) });
      } catch (err) {
        skipped.push(`${rel} (cannot decode: ${(err as Error).message})`);
      }
    }
  }
  return { photos, skipped };
}


/** Stratified, seeded split: per class, ⌈fraction·n⌉ train (at least 1 test photo per class). */
export function splitLaundry<T extends { label: LaundryLabel }>(photos: readonly T[], seed: number, fraction = 0.8): { train: T[]; test: T[] } {
  const train: T[] = [];
  const test: T[] = [];
  for (const [i, label] of (['good', 'defect'] as const).entries()) {
    const cls = seededShuffle(
      photos.filter((p) => p.label === label),
      seed * 31 + i,
    );
    if (cls.length < 2) throw new LaundryEvalError(`need at least 2 ${label} photos, found ${cls.length}`);
    const k = Math.min(cls.length - 1, Math.max(1, Math.round(cls.length * fraction)));
    train.push(...cls.slice(0, k));
    test.push(...cls.slice(k));
  }
  return { train, test };
}

/** Area under the ROC curve of defect scores (ties count half). */
export function auroc(scores: readonly number[], defect: readonly boolean[]): number {
  const pos = scores.filter((_, i) => defect[i]);
  const neg = scores.filter((_, i) => !defect[i]);
  if (pos.length === 0 || neg.length === 0) return Number.NaN;
  let wins = 0;
  for (const p of pos) for (const n of neg) wins += p > n ? 1 : p === n ? 0.5 : 0;
  return wins / (pos.length * neg.length);
}

export async function evaluateLaundryFolder(dir: string, opts: LaundryEvalOptions = {}): Promise<LaundryEvalReport> {
  const seed = opts.seed ?? 1;
  const trainer = opts.trainer ?? trainLaundryClassifier;
  const classify = opts.classify ?? classifyLaundry;
  const { photos, skipped } = await loadLaundryFolder(dir);
  const { train, test } = splitLaundry(photos, seed, opts.trainFraction ?? 0.8);
  opts.log?.info({ images: photos.length, train: train.length, test: test.length, skipped: skipped.length }, 'laundry eval split');
  // Trained the way the nightly run trains: a validation share for early stopping, the rest augmented.
  const { train: fit, test: val } = splitLaundry(train, seed * 7 + 1, 1 - (opts.valFraction ?? 0.2));
  const samples: LaundryTrainingSample[] = [];
  for (const [i, p] of fit.entries()) {
    samples.push({ label: p.label, image: p.bytes });
    for (const v of await augmentPhoto(p.bytes, (opts.variants ?? 5) - 1, seed * 100_003 + i)) samples.push({ label: p.label, image: v.png });
  }
  const validation: LaundryTrainingSample[] = val.map((p) => ({ label: p.label, image: p.bytes }));
  const result = await trainer({ ...opts.train, log: opts.log, samples, validation, seed });

  const started = performance.now();
  const model = await OnnxModel.load(result.onnx, result.preprocess, { intraOpThreads: 2 });
  const scores: number[] = [];
  const misread: string[] = [];
  let correct = 0;
  const hits = { good: 0, defect: 0 };
  try {
    for (const p of test) {
      const c = await classify(model, result.labels, p.bytes, result.preprocess);
      scores.push(c.defectScore);
      const predicted: LaundryLabel = c.defectScore >= 0.5 ? 'defect' : 'good';
      if (predicted === p.label) {
        correct++;
        hits[p.label]++;
      } else misread.push(p.file);
    }
  } finally {
    await model.release();
  }
  const count = (l: LaundryLabel): number => test.filter((p) => p.label === l).length;
  const accuracy = correct / test.length;
  return {
    accuracy,
    recall: { good: hits.good / count('good'), defect: hits.defect / count('defect') },
    misreadRate: 1 - accuracy,
    auroc: auroc(
      scores,
      test.map((p) => p.label === 'defect'),
    ),
    images: photos.length,
    trainImages: train.length,
    testImages: test.length,
    fitImages: samples.length,
    validationImages: validation.length,
    backend: result.backend,
    trainSeconds: result.seconds,
    evalSeconds: (performance.now() - started) / 1000,
    epochs: result.epochs,
    threshold: 0.5,
    misread,
    trainFiles: train.map((p) => p.file),
    testFiles: test.map((p) => p.file),
    skipped,
    modelBytes: result.onnx.length,
    preprocess: result.preprocess,
  };
}
