/**
 * Trains the face detector: a small fully convolutional window classifier (22×22 grey window →
 * face score, stride 4), fitted with tfjs on windows cut from synthetic scenes, refined once on
 * hard negatives (false detections of the first model), exported to ONNX with free spatial input
 * dims, its threshold calibrated and its recall/precision measured through onnxruntime with the
 * same FaceDetector the device runs.
 */
import type { Logger } from '@edgeloop/shared';
import type * as TfModule from '@tensorflow/tfjs';
import type { DetectorSpec } from '../../../../shared/src/face/detector-spec.js';
import { FaceDetector } from '../../../../shared/src/face/detector.js';
import type { FaceBox } from '../../../../shared/src/face/types.js';
import { exportLayersModel } from '../export/tfjs-to-onnx.js';
import { renderScene, type Scene, sceneFaces } from '../synthetic/faces.js';
import { mixSeed, type Rng, rng } from '../synthetic/raster.js';
import { initTfRuntime, type TfRuntime } from '../tfjs/backend.js';
import { addHardNegatives, addSceneCrops, CropSet, matchDetections, trainingScene, type WindowGeometry } from './detector-data.js';

type Tf = typeof import('@tensorflow/tfjs');

export type DetectorBudget = 'test' | 'full';

export interface DetectorTrainingProgress {
  phase: 'data' | 'train' | 'mine' | 'refine' | 'evaluate';
  /** 0..1 within the phase. */
  fraction: number;
  loss?: number;
}

export interface DetectorTrainingResult {
  onnx: Uint8Array;
  spec: DetectorSpec;
  backend: string;
  seconds: number;
  /** On held-out scenes (unseen identities), through onnxruntime, at IoU ≥ 0.4. */
  metrics: { recall: number; precision: number; faces: number; detections: number; scenes: number };
}

interface BudgetPlan {
  filters: [number, number, number];
  scenes: number;
  perFace: number;
  negatives: number;
  epochs: number;
  mineScenes: number;
  refineEpochs: number;
  calibrateScenes: number;
  evalScenes: number;
}

const PLANS: Record<DetectorBudget, BudgetPlan> = {
  test: { filters: [8, 16, 24], scenes: 120, perFace: 4, negatives: 20, epochs: 3, mineScenes: 40, refineEpochs: 2, calibrateScenes: 50, evalScenes: 30 },
  full: { filters: [8, 16, 24], scenes: 150, perFace: 6, negatives: 30, epochs: 3, mineScenes: 80, refineEpochs: 2, calibrateScenes: 60, evalScenes: 80 },
};

const GEOMETRY: WindowGeometry = { window: 22, boxHeight: 0.72, boxWidth: 0.72 * 0.8 };
const STRIDE = 4;
const BOX_WEIGHT = 4;
const MEAN = 0.5;
const STD = 0.25;
const TRAIN_IDENTITIES = 400;
const EVAL_IDENTITIES = 16;

function baseSpec(threshold: number): DetectorSpec {
  const { window, boxHeight: bh, boxWidth: bw } = GEOMETRY;
  return {
    schema: 'edgeloop.face-detector/v1',
    inputName: 'frame',
    outputName: 'scores',
    window,
    stride: STRIDE,
    box: { x: (1 - bw) / 2, y: (1 - bh) / 2, width: bw, height: bh },
    minFace: 0.1,
    maxFace: 0.8,
    scaleStep: 1.25,
    threshold,
    nmsIou: 0.3,
    nmsContain: 0.6,
    maxFaces: 8,
    mean: MEAN,
    std: STD,
  };
}

/** 22 → conv3 20 → pool 10 → conv3 8 → pool 4 → conv4 1 → conv1 (logit + box); stride 4, no padding. */
function buildModel(tf: Tf, f: [number, number, number], seed: number): TfModule.Sequential {
  const m = tf.sequential({ name: 'face_detector' });
  const init = (k: number) => ({ kernelInitializer: tf.initializers.heNormal({ seed: mixSeed(seed, k) % 100000 }), biasInitializer: 'zeros' as const });
  // Leaky units: plain ReLUs here sometimes all die for faces and the score saturates.
  const act = (): TfModule.layers.Layer => tf.layers.leakyReLU({ alpha: 0.1 });
  m.add(tf.layers.conv2d({ inputShape: [null, null, 1], filters: f[0], kernelSize: 3, ...init(1) }));
  m.add(tf.layers.batchNormalization());
  m.add(act());
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.conv2d({ filters: f[1], kernelSize: 3, ...init(2) }));
  m.add(tf.layers.batchNormalization());
  m.add(act());
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.conv2d({ filters: f[2], kernelSize: 4, ...init(3) }));
  m.add(tf.layers.batchNormalization());
  m.add(act());
  // A small start for the head keeps the box loss from swamping the first steps.
  const head = tf.initializers.randomNormal({ mean: 0, stddev: 0.01, seed: mixSeed(seed, 4) % 100000 });
  m.add(tf.layers.conv2d({ filters: 5, kernelSize: 1, activation: 'linear', kernelInitializer: head, biasInitializer: 'zeros' }));
  return m;
}

/** Face/not-face cross-entropy on channel 0 plus squared box error on channels 1..4 of positives. */
function detectorLoss(tf: Tf): (yTrue: TfModule.Tensor, yPred: TfModule.Tensor) => TfModule.Tensor {
  return (yTrue, yPred) =>
    tf.tidy(() => {
      const t = yTrue.reshape([-1, 5]);
      const p = yPred.reshape([-1, 5]);
      const label = t.slice([0, 0], [-1, 1]);
      const cls = tf.losses.sigmoidCrossEntropy(label, p.slice([0, 0], [-1, 1]));
      const reg = tf.square(tf.sub(t.slice([0, 1], [-1, 4]), p.slice([0, 1], [-1, 4]))).sum(1, true).mul(label).mean();
      return tf.add(cls, reg.mul(BOX_WEIGHT));
    });
}

/** Fits on all windows; the epoch order comes from the seeded `r` (tfjs's own shuffle is unseeded). */
async function fit(
  tf: Tf,
  model: TfModule.Sequential,
  sets: { pos: CropSet; neg: CropSet },
  epochs: number,
  r: Rng,
  progress: (fraction: number, loss: number) => void,
): Promise<void> {
  const { pos, neg } = sets;
  const n = GEOMETRY.window;
  const total = pos.count + neg.count;
  const x = new Float32Array(total * n * n);
  const k = 1 / (255 * STD);
  const b = MEAN / STD;
  pos.data.forEach((v, i) => {
    x[i] = v * k - b;
  });
  const off = pos.data.length;
  neg.data.forEach((v, i) => {
    x[off + i] = v * k - b;
  });
  const xs = tf.tensor4d(x, [total, n, n, 1]);
  const y = new Float32Array(total * 5);
  for (let i = 0; i < total; i++) {
    const set = i < pos.count ? pos : neg;
    const j = i < pos.count ? i : i - pos.count;
    y[i * 5] = i < pos.count ? 1 : 0;
    for (let c = 0; c < 4; c++) y[i * 5 + 1 + c] = set.targets[j * 4 + c] as number;
  }
  const ys = tf.tensor4d(y, [total, 1, 1, 5]);
  try {
    for (let e = 0; e < epochs; e++) {
      const order = Array.from({ length: total }, (_, i) => i);
      for (let i = total - 1; i > 0; i--) {
        const j = r.int(0, i);
        [order[i], order[j]] = [order[j] as number, order[i] as number];
      }
      const idx = tf.tensor1d(order, 'int32');
      const [ex, ey] = [tf.gather(xs, idx), tf.gather(ys, idx)];
      try {
        const h = await model.fit(ex, ey, { epochs: 1, batchSize: 64, shuffle: false, verbose: 0 });
        progress((e + 1) / epochs, Number(h.history.loss?.[0] ?? Number.NaN));
      } finally {
        tf.dispose([idx, ex, ey]);
      }
    }
  } finally {
    tf.dispose([xs, ys]);
  }
}

/** Evaluation scenes: the lead's standard scene generator with identities never trained on. */
function heldOutScene(seed: number, i: number): Scene {
  const s = mixSeed(seed ^ 0x5eed, i);
  const ids = Array.from({ length: EVAL_IDENTITIES }, (_, k) => mixSeed(seed ^ 0xe7a1, k));
  return renderScene({ seed: s, faces: sceneFaces(s, ids) });
}

async function detectAll(detector: FaceDetector, scenes: readonly Scene[]): Promise<FaceBox[][]> {
  const out: FaceBox[][] = [];
  for (const s of scenes) out.push(await detector.detect({ data: s.pixels, width: s.width, height: s.height }));
  return out;
}

/** The threshold with the best F1 on the calibration scenes (ties: the lower one, more faces found). */
function calibrate(scenes: readonly Scene[], dets: readonly FaceBox[][]): number {
  let best = { t: 0.5, f1: -1 };
  for (let k = 0; k <= 14; k++) {
    const t = 0.3 + 0.05 * k;
    let m = { faces: 0, detections: 0, matched: 0 };
    scenes.forEach((s, i) => {
      const c = matchDetections((dets[i] ?? []).filter((d) => d.score >= t), s.boxes);
      m = { faces: m.faces + c.faces, detections: m.detections + c.detections, matched: m.matched + c.matched };
    });
    const p = m.detections > 0 ? m.matched / m.detections : 1;
    const r = m.faces > 0 ? m.matched / m.faces : 1;
    const f1 = p + r > 0 ? (2 * p * r) / (p + r) : 0;
    if (f1 > best.f1) best = { t, f1 };
  }
  return Math.round(best.t * 100) / 100;
}

export async function trainFaceDetector(opts: {
  seed: number;
  budget: DetectorBudget;
  tf?: TfRuntime;
  log?: Logger;
  onProgress?: (p: DetectorTrainingProgress) => void;
}): Promise<DetectorTrainingResult> {
  const started = performance.now();
  const plan = PLANS[opts.budget];
  const rt = opts.tf ?? (await initTfRuntime({ log: opts.log }));
  const tf = rt.tf;
  const report = (p: DetectorTrainingProgress): void => opts.onProgress?.(p);
  const r = rng(opts.seed, 0xde7);
  const ids = Array.from({ length: TRAIN_IDENTITIES }, (_, k) => mixSeed(opts.seed, k));
  const pos = new CropSet(GEOMETRY);
  const neg = new CropSet(GEOMETRY);
  for (let i = 0; i < plan.scenes; i++) {
    addSceneCrops(trainingScene(mixSeed(opts.seed, 0x1000 + i), ids), GEOMETRY, r, pos, neg, plan.perFace, plan.negatives);
    if (i % 10 === 9) report({ phase: 'data', fraction: (i + 1) / plan.scenes });
  }
  opts.log?.info({ positives: pos.count, negatives: neg.count }, 'face detector: training windows');

  const model = buildModel(tf, plan.filters, opts.seed);
  const load = async (threshold: number, maxFaces: number): Promise<FaceDetector> =>
    FaceDetector.load(exportLayersModel(model, { inputName: 'frame', outputName: 'scores' }), { ...baseSpec(threshold), maxFaces });
  let detector: FaceDetector | undefined;
  try {
    model.compile({ optimizer: tf.train.adam(0.01), loss: detectorLoss(tf) });
    await fit(tf, model, { pos, neg }, plan.epochs, r, (fraction, loss) => report({ phase: 'train', fraction, loss }));

    // Hard negatives: what the first model wrongly finds in fresh scenes.
    detector = await load(0.3, 32);
    let hard = 0;
    for (let i = 0; i < plan.mineScenes; i++) {
      const scene = trainingScene(mixSeed(opts.seed, 0x2000 + i), ids);
      const dets = await detector.detect({ data: scene.pixels, width: scene.width, height: scene.height });
      hard += addHardNegatives(scene, dets, GEOMETRY, r, neg, 12);
      addSceneCrops(scene, GEOMETRY, r, pos, neg, plan.perFace, 4);
      report({ phase: 'mine', fraction: (i + 1) / plan.mineScenes });
    }
    await detector.release();
    detector = undefined;
    opts.log?.info({ hard, positives: pos.count, negatives: neg.count }, 'face detector: hard negatives mined');
    model.compile({ optimizer: tf.train.adam(0.002), loss: detectorLoss(tf) });
    await fit(tf, model, { pos, neg }, plan.refineEpochs, r, (fraction, loss) => report({ phase: 'refine', fraction, loss }));

    // Threshold on calibration scenes (training identities), metrics on held-out ones.
    detector = await load(0.3, 16);
    const calScenes = Array.from({ length: plan.calibrateScenes }, (_, i) => trainingScene(mixSeed(opts.seed, 0x3000 + i), ids));
    const threshold = calibrate(calScenes, await detectAll(detector, calScenes));
    await detector.release();
    detector = undefined;
    const spec = baseSpec(threshold);
    const onnx = exportLayersModel(model, { inputName: spec.inputName, outputName: spec.outputName, docString: 'edgeloop face detector (score map)' });
    detector = await FaceDetector.load(onnx, spec);
    let m = { faces: 0, detections: 0, matched: 0 };
    for (let i = 0; i < plan.evalScenes; i++) {
      const s = heldOutScene(opts.seed, i);
      const c = matchDetections(await detector.detect({ data: s.pixels, width: s.width, height: s.height }), s.boxes);
      m = { faces: m.faces + c.faces, detections: m.detections + c.detections, matched: m.matched + c.matched };
      report({ phase: 'evaluate', fraction: (i + 1) / plan.evalScenes });
    }
    const metrics = {
      recall: m.faces > 0 ? m.matched / m.faces : 1,
      precision: m.detections > 0 ? m.matched / m.detections : 1,
      faces: m.faces,
      detections: m.detections,
      scenes: plan.evalScenes,
    };
    const seconds = (performance.now() - started) / 1000;
    opts.log?.info({ ...metrics, threshold, seconds, backend: rt.backend }, 'face detector trained');
    return { onnx, spec, backend: rt.backend, seconds, metrics };
  } finally {
    await detector?.release();
    model.dispose();
  }
}
