import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { imageTiles, OnnxModel, sha256Hex, writeFileAtomic } from '@edgeloop/shared';
import { exportLaundryNetwork, LAUNDRY_TILE_OPTIONS, laundryPreprocessSpec, trainLaundryClassifier } from '../laundry/laundry-training.js';
import { initTfRuntime } from '../tfjs/backend.js';
import { FACE_WORKER_TASKS } from './face-worker-tasks.js';
import type { Dataset } from './laundry-pipeline.js';
import { latestCheckpoint, loadLayersModel, saveLayersModel } from './model-files.js';
import type { TrainingSettings } from './pipeline-deps.js';
import type { ProgressRecord } from './run-store.js';
import type { WorkerTask } from './worker.js';

export interface WorkerContext {
  progress(p: Omit<ProgressRecord, 'at'>): void;
}

export type WorkerFn = (task: WorkerTask, ctx: WorkerContext) => Promise<Record<string, unknown>>;

async function readDataset(runDir: string): Promise<Dataset> {
  return JSON.parse(await readFile(join(runDir, 'dataset.json'), 'utf8')) as Dataset;
}

/** Laundry training from the prepared dataset, checkpointing every few epochs and resuming from the last checkpoint. */
const trainLaundry: WorkerFn = async (task, ctx) => {
  const runDir = String(task.runDir);
  const settings = task.training as TrainingSettings;
  const rt = await initTfRuntime();
  const dataset = await readDataset(runDir);
  const load = (items: Dataset['train']) => Promise.all(items.map(async (i) => ({ label: i.label as 'good' | 'defect', image: await readFile(i.file) })));
  const checkpoints = join(runDir, 'checkpoints');
  const resume = await latestCheckpoint(rt.tf, checkpoints);
  const res = await trainLaundryClassifier({
    samples: await load(dataset.train),
    validation: await load(dataset.validation),
    seed: Number(task.seed),
    tf: rt,
    epochs: settings.maxEpochs,
    batchSize: settings.batchSize,
    learningRate: settings.learningRate,
    patience: settings.patience,
    keepModel: true,
    ...(resume ? { resume: { epoch: resume.epoch, weights: resume.model.getWeights() } } : {}),
    onProgress: (p) => ctx.progress({ epoch: p.epoch, loss: p.loss, accuracy: p.accuracy, valAccuracy: p.valAccuracy ?? null }),
    onEpochEnd: async (epoch, model) => {
      if (epoch % settings.checkpointEvery === 0) await saveLayersModel(rt.tf, model, join(checkpoints, `epoch-${epoch}`), { epoch });
    },
  });
  if (!res.model) throw new Error('trainer returned no model');
  await saveLayersModel(rt.tf, res.model, join(runDir, 'model'), { bestEpoch: res.bestEpoch });
  return { backend: rt.backend, backendDetail: rt.detail, epochs: res.epochs, bestEpoch: res.bestEpoch, resumedFrom: resume?.epoch ?? 0, seconds: res.seconds, final: res.history.at(-1) ?? null };
};

/**
 * ONNX export of the trained network, accepted only when onnxruntime and tfjs agree within the
 * tolerance on `paritySamples` real inputs (validation photos and their tiles, as the device cuts them).
 */
const exportLaundry: WorkerFn = async (task) => {
  const runDir = String(task.runDir);
  const rt = await initTfRuntime();
  const loaded = await loadLayersModel(rt.tf, join(runDir, 'model'));
  if (!loaded) throw new Error('no trained model in the run folder');
  const spec = laundryPreprocessSpec();
  const onnx = exportLaundryNetwork(loaded.model, spec);
  const dataset = await readDataset(runDir);
  const per = spec.channels * spec.width * spec.height;
  const inputs: Float32Array[] = [];
  for (const it of [...dataset.validation, ...dataset.holdout, ...dataset.train]) {
    if (inputs.length >= Number(task.paritySamples)) break;
    const t = await imageTiles(await readFile(it.file), spec, LAUNDRY_TILE_OPTIONS);
    inputs.push(t.whole);
    for (let i = 0; i < t.plan.boxes.length && inputs.length < Number(task.paritySamples); i++) inputs.push(t.batch.subarray(i * per, (i + 1) * per));
  }
  const ort = await OnnxModel.load(onnx, spec);
  let maxDiff = 0;
  try {
    for (const x of inputs) {
      const a = await ort.runTensor(x);
      const nhwc = rt.tf.tidy(() => rt.tf.tensor4d(x, [1, spec.channels, spec.height, spec.width]).transpose([0, 2, 3, 1]));
      const yt = loaded.model.predict(nhwc) as import('@tensorflow/tfjs').Tensor;
      const b = (await yt.data()) as Float32Array;
      rt.tf.dispose([nhwc, yt]);
      for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs((a[i] as number) - (b[i] as number)));
    }
  } finally {
    await ort.release();
  }
  if (maxDiff > Number(task.parityTolerance)) throw new Error(`ONNX export differs from tfjs by ${maxDiff} (> ${task.parityTolerance})`);
  const onnxFile = join(runDir, 'candidate.onnx');
  await writeFileAtomic(onnxFile, onnx);
  return { onnxFile, onnxSha256: sha256Hex(onnx), preprocess: spec, labels: ['good', 'defect'], parityMaxDiff: maxDiff, paritySamples: inputs.length };
};

export const WORKER_TASKS: Record<string, WorkerFn> = {
  'train-laundry': trainLaundry,
  'export-laundry': exportLaundry,
  ...FACE_WORKER_TASKS,
};
