import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_CROP, decodeGrey, FaceDetector, type GreyImage, OnnxModel, pixelsToTensor, resample, sha256Hex, writeFileAtomic } from '@edgeloop/shared';
import { calibrateThreshold } from '../../faces/calibrate.js';
import { enrolmentCrop } from '../../faces/enrolment-crop.js';
import { exportLayersModel } from '../export/tfjs-to-onnx.js';
import { trainFaceDetector } from '../faces/detector-training.js';
import { trainFaceEmbedder } from '../faces/embedder-training.js';
import { FACE_EVAL_TRAINING } from '../faces/face-eval.js';
import { encodeImage } from '../synthetic/encode.js';
import { faceIdentity, faceVariation, renderScene } from '../synthetic/faces.js';
import { initTfRuntime } from '../tfjs/backend.js';
import type { FaceDataset } from './face-pipeline.js';
import { CROP_SIZE } from './face-pipeline.js';
import { loadLayersModel, saveLayersModel } from './model-files.js';
import type { WorkerFn } from './worker-tasks.js';

const readDataset = async (runDir: string) => JSON.parse(await readFile(join(runDir, 'dataset.json'), 'utf8')) as FaceDataset;
const grey = async (file: string) => decodeGrey(await readFile(file));

const trainDetector: WorkerFn = async (task) => {
  const rt = await initTfRuntime();
  const d = await trainFaceDetector({ seed: Number(task.seed), budget: task.budget === 'test' ? 'test' : 'full', tf: rt });
  const onnxFile = join(String(task.runDir), 'detector.trained.onnx');
  await writeFileAtomic(onnxFile, d.onnx);
  return { onnxFile, spec: d.spec, metrics: d.metrics, seconds: d.seconds, backend: rt.backend };
};

/** The embedder from the run's face crops (enrolment + nightly samples, augmented), as the face evaluation trains it. */
const trainFace: WorkerFn = async (task, ctx) => {
  const runDir = String(task.runDir);
  const rt = await initTfRuntime();
  const dataset = await readDataset(runDir);
  const samples = await Promise.all(dataset.train.map(async (i) => ({ identity: i.label, image: await grey(i.file) })));
  const res = await trainFaceEmbedder({
    ...FACE_EVAL_TRAINING,
    samples,
    seed: Number(task.seed),
    tf: rt,
    epochs: Number(task.epochs),
    keepModel: true,
    onProgress: (p) => ctx.progress({ epoch: p.epoch, loss: p.loss, accuracy: p.accuracy, valAccuracy: null }),
  });
  if (!res.model) throw new Error('trainer returned no model');
  await saveLayersModel(rt.tf, res.model, join(runDir, 'model'), { preprocess: res.preprocess });
  return { backend: rt.backend, backendDetail: rt.detail, epochs: res.epochs, identities: res.identities, seconds: res.seconds, final: res.history.at(-1) ?? null };
};

/** Generated strangers for the threshold: faces of no member, cropped by the bundle's detector like any door frame. */
async function strangerCrops(detector: FaceDetector, seed: number, n: number): Promise<GreyImage[]> {
  const out: GreyImage[] = [];
  for (let k = 0; out.length < n && k < n * 3; k++) {
    const s = renderScene({ seed: seed * 131 + k, faces: [{ identity: faceIdentity(0x5700_0000 + seed * 977 + k), x: 40 + ((k * 37) % 160), y: 30 + ((k * 13) % 60), width: 80 + (k % 5) * 6, variation: faceVariation(k + 1, 0.4) }] });
    const photo = await encodeImage(s.pixels, s.width, s.height, 'png');
    const c = await enrolmentCrop(photo, detector, { crop: DEFAULT_CROP }, CROP_SIZE);
    if (c.detected) out.push(c.crop);
  }
  return out;
}

/** ONNX export checked against tfjs on real crops, then the match threshold from enrolment crops and generated strangers. */
const exportFace: WorkerFn = async (task) => {
  const runDir = String(task.runDir);
  const rt = await initTfRuntime();
  const loaded = await loadLayersModel(rt.tf, join(runDir, 'model'));
  if (!loaded) throw new Error('no trained model in the run folder');
  const spec = (loaded.meta as { preprocess: import('@edgeloop/shared').PreprocessSpec }).preprocess;
  const onnx = exportLayersModel(loaded.model, { l2Normalize: true, inputName: spec.inputName, outputName: spec.outputName, docString: 'edgeloop face embedder (L2-normalised embedding)' });
  const dataset = await readDataset(runDir);
  const files = [...dataset.validation, ...dataset.holdout, ...dataset.train].slice(0, Number(task.paritySamples)).map((i) => i.file);
  const ort = await OnnxModel.load(onnx, spec);
  let maxDiff = 0;
  try {
    for (const f of files) {
      const img = await grey(f);
      const x = pixelsToTensor(resample(img, 0, 0, img.width, img.height, spec.width, spec.height).data, spec);
      const a = await ort.runTensor(x);
      const b = rt.tf.tidy(() => {
        const y = loaded.model.predict(rt.tf.tensor4d(x, [1, spec.channels, spec.height, spec.width]).transpose([0, 2, 3, 1])) as import('@tensorflow/tfjs').Tensor;
        return rt.tf.div(y, rt.tf.norm(y, 2, 1, true)).dataSync() as Float32Array;
      });
      for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs((a[i] as number) - (b[i] as number)));
    }
  } finally {
    await ort.release();
  }
  if (maxDiff > Number(task.parityTolerance)) throw new Error(`ONNX export differs from tfjs by ${maxDiff} (> ${task.parityTolerance})`);
  const members = new Map<string, GreyImage[]>();
  for (const g of dataset.gallery) members.set(g.label, [...(members.get(g.label) ?? []), await grey(g.file)]);
  const detector = await FaceDetector.load(await readFile(join(runDir, 'detector.onnx')), JSON.parse(await readFile(join(runDir, 'detector.json'), 'utf8')));
  const strangers = await strangerCrops(detector, Number(task.seed), 24).finally(() => detector.release());
  // Genuine scores from the validation crops: photos of members the network never trained on.
  const probes = await Promise.all(dataset.validation.map(async (v) => ({ label: v.label, image: await grey(v.file) })));
  const choice = await calibrateThreshold(onnx, spec, { members, strangers, probes });
  const onnxFile = join(runDir, 'candidate.onnx');
  await writeFileAtomic(onnxFile, onnx);
  return { onnxFile, onnxSha256: sha256Hex(onnx), preprocess: spec, labels: [], threshold: choice.threshold, thresholdRule: choice.rule, parityMaxDiff: maxDiff, paritySamples: files.length };
};

export const FACE_WORKER_TASKS: Record<string, WorkerFn> = {
  'train-face-detector': trainDetector,
  'train-face': trainFace,
  'export-face': exportFace,
};
