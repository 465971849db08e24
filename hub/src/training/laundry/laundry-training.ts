/**
 * Trains the laundry classifier (good / defect) and exports it to ONNX.
 *
 * The device (classifyLaundry, @edgeloop/shared) scores a photo as the worst of its parts: the whole photo
 * and overlapping tiles go through the network and the photo's defect score is the highest of all.
 * Training matches that exactly (multiple-instance learning): every photo becomes a bag of network
 * inputs made by the shared `imageTiles` code (the same decode, crop, resize and normalisation as
 * the device). A good photo's parts are all good, so each one is a negative; a defect photo only
 * needs its worst part to score high, so its loss is taken on the bag's maximum defect score (the
 * defect's position is unknown for real corrections). Deterministic for a seed.
 */
import type { ImageTilesOptions, Logger, PreprocessSpec } from '@edgeloop/shared';
import type * as TfModule from '@tensorflow/tfjs';
import { exportLayersModel } from '../export/tfjs-to-onnx.js';
import { seededRandom, shuffledIndices } from '../seeded-random.js';
import { initTfRuntime, type TfRuntime } from '../tfjs/backend.js';
import { AUGMENT_DRAWS, bagLoss, batchTensors, defectProbs, evaluateBags, LAUNDRY_TILE_OPTIONS, type LaundryBag, laundryBag } from './laundry-bags.js';

export { LAUNDRY_TILE_OPTIONS, type LaundryBag, laundryBag } from './laundry-bags.js';

type Tf = TfRuntime['tf'];

export const LAUNDRY_LABELS = ['good', 'defect'] as const;
export type LaundryLabel = (typeof LAUNDRY_LABELS)[number];

export interface LaundryTrainingSample {
  label: LaundryLabel;
  /** Encoded image file bytes (PNG, JPEG, PGM/PPM, GIF, ...). */
  image: Uint8Array;
}

export interface LaundryEpoch {
  epoch: number;
  loss: number;
  /** Photo-level accuracy on the training bags, device rule (max defect score ≥ 0.5). */
  accuracy: number;
  valAccuracy?: number;
  valLoss?: number;
}

export interface LaundryTrainingOptions {
  samples: readonly LaundryTrainingSample[];
  seed: number;
  tf?: TfRuntime;
  /** Upper bound on passes over the training set (default 50). */
  epochs?: number;
  /**
   * Network inputs per optimiser step (default 32). A step takes whole photos (each is the whole
   * photo plus its tiles, 5 inputs for a 224×224 photo), about batchSize ÷ inputs-per-photo of them.
   */
  batchSize?: number;
  /** Adam learning rate (default 1e-3). */
  learningRate?: number;
  /** Stop after this many epochs without improvement (default 5); the best weights are kept. */
  patience?: number;
  /** Photos monitored for early stopping (validation loss); otherwise the training loss is. */
  validation?: readonly LaundryTrainingSample[];
  /** Must equal the device's tile options (DEFAULT_TILE_OPTIONS, the default). */
  tiles?: ImageTilesOptions;
  /** Network input side (default 64). */
  inputSize?: number;
  log?: Logger;
  onProgress?: (p: LaundryEpoch) => void;
  signal?: AbortSignal;
  /** Return the trained tfjs model (the caller disposes it); otherwise it is disposed. */
  keepModel?: boolean;
  /** Continue a run: start after `epoch` from these weights (model.getWeights() order). */
  resume?: { epoch: number; weights: TfModule.Tensor[] };
  /** Awaited after every epoch with the live model (e.g. to checkpoint it); must not dispose it. */
  onEpochEnd?: (epoch: number, model: TfModule.LayersModel) => Promise<void> | void;
}

export interface LaundryTrainingResult {
  onnx: Uint8Array;
  preprocess: PreprocessSpec;
  labels: ['good', 'defect'];
  backend: string;
  /** Epochs actually run (early stopping may end before the limit). */
  epochs: number;
  /** Epoch whose weights were exported. */
  bestEpoch: number;
  history: LaundryEpoch[];
  seconds: number;
  model?: TfModule.LayersModel;
}

export class LaundryTrainingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LaundryTrainingError';
  }
}

export class LaundryTrainingAbortedError extends Error {
  constructor() {
    super('laundry classifier training was aborted');
    this.name = 'LaundryTrainingAbortedError';
  }
}

/**
 * The network input: `size`×`size` RGB, each input (the whole photo and every tile) standardised per
 * channel by itself (`standardize`). Fabric comes in every colour and brightness; what marks a defect
 * is a region that differs from the rest of the same photo (a discolouration is a faint tint
 * of a large area), and standardising removes the fabric's own colour so the network sees that difference.
 */
export function laundryPreprocessSpec(size = 64): PreprocessSpec {
  return { width: size, height: size, channels: 3, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25], standardize: true, inputName: 'input', outputName: 'output' };
}

/**
 * Small and fast (~3 M multiply-adds per 64×64 input): a 4×4 stride-4 patch convolution, two 3×3
 * conv blocks, max pooling over the whole map (a defect anywhere in the input counts) and a softmax.
 * No batch norm and no full-resolution 3×3 conv: their gradients dominate training time on tfjs-wasm.
 */
export function buildLaundryNetwork(tf: Tf, spec: PreprocessSpec, seed: number): TfModule.Sequential {
  const L = tf.layers;
  let s = seed;
  const conv = (name: string, filters: number, kernelSize: number, strides: number, padding: 'same' | 'valid', first = false): TfModule.layers.Layer =>
    L.conv2d({
      name,
      ...(first ? { inputShape: [spec.height, spec.width, spec.channels] } : {}),
      filters,
      kernelSize,
      strides,
      padding,
      activation: 'relu',
      kernelInitializer: tf.initializers.heNormal({ seed: s++ }),
    });
  // Side of conv2's output map: 4×4/4 'valid' patches, then a 2×2 pool.
  const side = (n: number): number => Math.floor((Math.floor((n - 4) / 4) + 1) / 2);
  const last: [number, number] = [side(spec.height), side(spec.width)];
  return tf.sequential({
    name: 'laundry_classifier',
    layers: [
      conv('patches', 24, 4, 4, 'valid', true),
      conv('conv1', 32, 3, 1, 'same'),
      L.maxPooling2d({ name: 'pool1', poolSize: 2, strides: 2 }),
      conv('conv2', 48, 3, 1, 'same'),
      // Global max pooling as one max pool over the whole map: the same function, but its gradient
      // (MaxPoolGrad) is far cheaper on tfjs-wasm than the Max gradient's broadcast Equal.
      L.maxPooling2d({ name: 'pool2', poolSize: last, strides: last }),
      L.flatten({ name: 'flat' }),
      L.dense({ name: 'scores', units: 2, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: s++ }) }),
    ],
  });
}

async function bagsOf(samples: readonly LaundryTrainingSample[], spec: PreprocessSpec, tiles: ImageTilesOptions, what: string): Promise<LaundryBag[]> {
  const out: LaundryBag[] = [];
  for (const [i, s] of samples.entries()) {
    if (s.label !== 'good' && s.label !== 'defect') throw new LaundryTrainingError(`${what} sample ${i}: label '${String(s.label)}' is neither 'good' nor 'defect'`);
    out.push(await laundryBag(s.image, s.label === 'defect', spec, tiles));
  }
  return out;
}

/** ONNX bytes of a trained laundry network (input/output names from the spec). */
export function exportLaundryNetwork(model: TfModule.LayersModel, spec: PreprocessSpec): Uint8Array {
  return exportLayersModel(model, {
    inputName: spec.inputName,
    outputName: spec.outputName,
    docString: 'edgeloop laundry classifier (softmax over good, defect)',
    metadata: { modelType: 'laundry', labels: LAUNDRY_LABELS.join(',') },
  });
}

export async function trainLaundryClassifier(opts: LaundryTrainingOptions): Promise<LaundryTrainingResult> {
  const started = performance.now();
  const rt = opts.tf ?? (await initTfRuntime({ log: opts.log }));
  const tf = rt.tf;
  const spec = laundryPreprocessSpec(opts.inputSize);
  const tiles = opts.tiles ?? LAUNDRY_TILE_OPTIONS;
  const maxEpochs = opts.epochs ?? 50;
  const batchSize = opts.batchSize ?? 32;
  const patience = opts.patience ?? 5;
  const bags = await bagsOf(opts.samples, spec, tiles, 'training');
  const val = opts.validation && opts.validation.length > 0 ? await bagsOf(opts.validation, spec, tiles, 'validation') : undefined;
  const defects = bags.filter((b) => b.defect).length;
  if (defects === 0 || defects === bags.length) {
    throw new LaundryTrainingError(`need both good and defect photos, got ${bags.length - defects} good and ${defects} defect`);
  }
  // Balanced: each class carries half of the loss.
  const perBag = bags.reduce((a, b) => a + b.parts.length, 0) / bags.length;
  const bagsPerStep = Math.max(2, Math.round(batchSize / perBag));
  const classWeight: [number, number] = [bags.length / (2 * (bags.length - defects)), bags.length / (2 * defects)];

  const model = buildLaundryNetwork(tf, spec, opts.seed);
  const optimizer = tf.train.adam(opts.learningRate ?? 1e-3);
  const vars = model.trainableWeights.map((w) => w.read() as TfModule.Variable);
  const rand = seededRandom(opts.seed * 7919 + 23);
  const history: LaundryEpoch[] = [];
  let best = { score: Number.POSITIVE_INFINITY, epoch: 0, weights: [] as TfModule.Tensor[] };
  opts.log?.info({ backend: rt.backend, photos: bags.length, defects, parts: bags.reduce((a, b) => a + b.parts.length, 0), validation: val?.length ?? 0, maxEpochs }, 'laundry classifier training');
  try {
    const first = (opts.resume?.epoch ?? 0) + 1;
    if (opts.resume) model.setWeights(opts.resume.weights);
    // The shuffles and flips of the epochs already run are drawn so a resumed run continues the same streams.
    for (let e = 1; e < first; e++) {
      shuffledIndices(bags.length, rand);
      for (let i = 0; i < AUGMENT_DRAWS * bags.length; i++) rand(); // the flips batchTensors draws
    }
    for (let epoch = first; epoch <= maxEpochs; epoch++) {
      if (opts.signal?.aborted) throw new LaundryTrainingAbortedError();
      const order = shuffledIndices(bags.length, rand);
      let lossSum = 0;
      let weightSum = 0;
      let correct = 0;
      for (let b = 0; b < order.length; b += bagsPerStep) {
        const chunk = order.slice(b, b + bagsPerStep).map((i) => bags[i] as LaundryBag);
        const t = batchTensors(tf, chunk, spec, rand);
        let maxP: Float32Array = new Float32Array(0);
        const loss = optimizer.minimize(
          () => {
            const r = bagLoss(tf, defectProbs(tf, model, t.x, chunk.length, t.k, true), t.mask, t.y, classWeight);
            maxP = r.maxP.dataSync() as Float32Array;
            return r.loss;
          },
          true,
          vars,
        );
        const w = chunk.reduce((a, bag) => a + classWeight[bag.defect ? 1 : 0], 0);
        lossSum += (loss?.dataSync()[0] ?? 0) * w;
        weightSum += w;
        chunk.forEach((bag, i) => {
          if ((maxP[i] as number) >= 0.5 === bag.defect) correct++;
        });
        tf.dispose([t.x, t.mask, t.y]);
        loss?.dispose();
        await new Promise((r) => setImmediate(r));
        if (opts.signal?.aborted) throw new LaundryTrainingAbortedError();
      }
      const p: LaundryEpoch = { epoch, loss: lossSum / weightSum, accuracy: correct / bags.length };
      if (val) {
        const v = evaluateBags(tf, model, val, spec, classWeight);
        p.valLoss = v.loss;
        p.valAccuracy = v.accuracy;
      }
      history.push(p);
      opts.onProgress?.(p);
      await opts.onEpochEnd?.(epoch, model);
      opts.log?.debug(p, 'laundry classifier epoch');
      const score = val ? (p.valLoss as number) : p.loss;
      if (score < best.score - 1e-4) {
        tf.dispose(best.weights);
        best = { score, epoch, weights: model.getWeights().map((w) => w.clone()) };
      } else if (epoch - best.epoch >= patience) {
        break;
      }
    }
    if (best.weights.length > 0) model.setWeights(best.weights);
    const onnx = exportLaundryNetwork(model, spec);
    const result: LaundryTrainingResult = {
      onnx,
      preprocess: spec,
      labels: ['good', 'defect'],
      backend: rt.backend,
      epochs: history.length,
      bestEpoch: best.epoch,
      history,
      seconds: (performance.now() - started) / 1000,
    };
    if (opts.keepModel) result.model = model;
    return result;
  } finally {
    tf.dispose(best.weights);
    optimizer.dispose();
    if (!opts.keepModel) model.dispose();
  }
}
