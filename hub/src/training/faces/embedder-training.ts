/**
 * Trains a face embedding network: a small CNN classifies the training identities through a
 * cosine (normalised-softmax, CosFace-margin) classifier on its L2-normalised penultimate
 * features. Only the backbone (up to the embedding) is exported to ONNX, with LpNormalization
 * appended, so cosine similarity between exported embeddings is what the classifier learnt.
 *
 * Inputs follow the device path: grey photo → sharp resize to the input size (fit 'fill') →
 * pixelsToTensor (per-image standardisation). Deterministic for a seed (seeded initialisers,
 * batches and augmentation).
 */
import type { Logger, PreprocessSpec } from '@edgeloop/shared';
import type * as TfModule from '@tensorflow/tfjs';
import { exportLayersModel } from '../export/tfjs-to-onnx.js';
import { seededRandom, shuffledIndices } from '../seeded-random.js';
import { faceDataset } from '../synthetic/faces.js';
import { initTfRuntime, type TfRuntime } from '../tfjs/backend.js';
import { augmentToTensor, chimera, DEFAULT_AUGMENT, resizeGrey, type AugmentOptions, type GreyImageLike } from './augment.js';
import { buildFaceBackbone, FaceTrainingError } from './face-backbone.js';
import { checkMirrorWidth, mirrorInvariant } from './mirror-invariant.js';

type Tf = TfRuntime['tf'];

export interface FaceTrainingSample {
  identity: string;
  image: GreyImageLike;
}

export interface EpochProgress {
  epoch: number;
  loss: number;
  accuracy: number;
}

export interface FaceEmbedderOptions {
  samples: readonly FaceTrainingSample[];
  seed: number;
  tf?: TfRuntime;
  /** Passes over the training set (default 25). */
  epochs?: number;
  /** Network input size (default 32×40: on ORL it separated strangers better than 46×56 or 24×30). */
  inputWidth?: number;
  inputHeight?: number;
  /** Filters of the conv blocks (default [16, 32, 64, 96]); each block but the last halves the size. */
  filters?: readonly number[];
  /** Embedding dimension (default 128). */
  embeddingDim?: number;
  batchSize?: number;
  learningRate?: number;
  /** Cosine-softmax scale and additive margin (defaults 24, 0.35). */
  scale?: number;
  margin?: number;
  augment?: AugmentOptions;
  /**
   * Virtual strangers per batch, as a fraction of the batch size (default 0.5): chimeras of two
   * training photos of different identities, trained towards a uniform class posterior (outlier
   * exposure) so that unseen faces score low against every identity.
   */
  virtualStrangers?: number;
  /** Weight of the outlier-exposure loss (default 0.5). */
  outlierWeight?: number;
  /** Extra generated training identities (synthetic faces), default none. */
  synthetic?: { identities: number; perIdentity: number; variationStrength?: number };
  log?: Logger;
  onProgress?: (p: EpochProgress) => void;
  signal?: AbortSignal;
  /** Return the trained tfjs backbone (the caller disposes it); otherwise it is disposed. */
  keepModel?: boolean;
  /**
   * Export a mirror-invariant network (default false): the exported embedding is
   * normalise(g(x) + g(mirror(x))) for the trained backbone g, built as one plain conv network with
   * twice the channels (see mirrorInvariant), so the device runs it unchanged. Needs an input
   * width divisible by 2^(pooling layers).
   */
  mirrorAverage?: boolean;
}

export interface FaceEmbedderResult {
  onnx: Uint8Array;
  preprocess: PreprocessSpec;
  backend: string;
  epochs: number;
  history: EpochProgress[];
  seconds: number;
  identities: number;
  model?: TfModule.LayersModel;
}

export { buildFaceBackbone, FaceTrainingError } from './face-backbone.js';
export { mirrorInvariant } from './mirror-invariant.js';

export class TrainingAbortedError extends Error {
  constructor() {
    super('face embedder training was aborted');
    this.name = 'TrainingAbortedError';
  }
}

export const FACE_INPUT_NAME = 'input';
export const FACE_OUTPUT_NAME = 'embedding';

export function facePreprocessSpec(width = 32, height = 40): PreprocessSpec {
  return { width, height, channels: 1, mean: [0.5], std: [0.5], standardize: true, inputName: FACE_INPUT_NAME, outputName: FACE_OUTPUT_NAME };
}

interface Prepared {
  pixels: Uint8Array[];
  labels: number[];
  classes: number;
  /** The first `real` samples are the caller's photos (synthetic ones follow). */
  real: number;
}

async function prepare(opts: FaceEmbedderOptions, spec: PreprocessSpec): Promise<Prepared> {
  const names = [...new Set(opts.samples.map((s) => s.identity))].sort();
  if (names.length < 2) throw new FaceTrainingError(`need at least 2 training identities, got ${names.length}`);
  const index = new Map(names.map((n, i) => [n, i]));
  const pixels: Uint8Array[] = [];
  const labels: number[] = [];
  for (const s of opts.samples) {
    pixels.push(await resizeGrey(s.image, spec.width, spec.height));
    labels.push(index.get(s.identity) as number);
  }
  let classes = names.length;
  const real = pixels.length;
  if (opts.synthetic && opts.synthetic.identities > 0) {
    const syn = faceDataset({ ...opts.synthetic, seed: opts.seed ^ 0x5f3759df });
    for (const f of syn) {
      pixels.push(await resizeGrey({ data: f.pixels, width: f.width, height: f.height }, spec.width, spec.height));
      labels.push(classes + f.identity);
    }
    classes += opts.synthetic.identities;
  }
  return { pixels, labels, classes, real };
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  if (b.length === 0) return a;
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** `count` augmented chimeras of two real training photos of different identities. */
function virtualBatch(data: Prepared, spec: PreprocessSpec, rand: () => number, count: number, aug: AugmentOptions): { data: Float32Array; count: number } {
  const plane = spec.width * spec.height;
  const out = new Float32Array(count * plane);
  let made = 0;
  for (let tries = 0; made < count && tries < count * 20; tries++) {
    const a = Math.floor(rand() * data.real);
    const b = Math.floor(rand() * data.real);
    if (data.labels[a] === data.labels[b]) continue;
    const mix = chimera(data.pixels[a] as Uint8Array, data.pixels[b] as Uint8Array, spec.width, spec.height, rand);
    out.set(augmentToTensor(mix, spec, rand, aug), made * plane);
    made++;
  }
  return { data: out.subarray(0, made * plane), count: made };
}

function l2n(tf: Tf, x: TfModule.Tensor, axis: number): TfModule.Tensor {
  return tf.div(x, tf.sqrt(tf.add(tf.sum(tf.square(x), axis, true), 1e-10)));
}

export async function trainFaceEmbedder(opts: FaceEmbedderOptions): Promise<FaceEmbedderResult> {
  const started = performance.now();
  const rt = opts.tf ?? (await initTfRuntime({ log: opts.log }));
  const tf = rt.tf;
  const spec = facePreprocessSpec(opts.inputWidth, opts.inputHeight);
  const epochs = opts.epochs ?? 25;
  const batchSize = opts.batchSize ?? 32;
  const dim = opts.embeddingDim ?? 128;
  const scale = opts.scale ?? 24;
  const margin = opts.margin ?? 0.35;
  const lr0 = opts.learningRate ?? 2e-3;
  if (opts.mirrorAverage) checkMirrorWidth(spec.width, (opts.filters ?? [16, 32, 64, 96]).length);
  const data = await prepare(opts, spec);
  const n = data.pixels.length;
  const plane = spec.width * spec.height;

  let backbone = buildFaceBackbone(tf, spec, opts.filters ?? [16, 32, 64, 96], dim, opts.seed);
  const classInit = tf.randomNormal([dim, data.classes], 0, 1, 'float32', opts.seed + 101);
  const classW = tf.variable(classInit, true);
  classInit.dispose();
  const optimizer = tf.train.adam(lr0);
  const vars = [...backbone.trainableWeights.map((w) => w.read() as TfModule.Variable), classW];
  const rand = seededRandom(opts.seed * 7919 + 17);
  const history: EpochProgress[] = [];
  opts.log?.info({ backend: rt.backend, samples: n, classes: data.classes, epochs, input: `${spec.width}x${spec.height}` }, 'face embedder training');
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      if (opts.signal?.aborted) throw new TrainingAbortedError();
      // Cosine learning-rate decay to 2% of the start.
      (optimizer as unknown as { learningRate: number }).learningRate = lr0 * (0.02 + 0.98 * 0.5 * (1 + Math.cos((Math.PI * (epoch - 1)) / epochs)));
      const order = shuffledIndices(n, rand);
      let lossSum = 0;
      let correct = 0;
      for (let b = 0; b < n; b += batchSize) {
        const idx = order.slice(b, b + batchSize);
        if (idx.length < 2) continue;
        const xs = new Float32Array(idx.length * plane);
        idx.forEach((k, j) => {
          xs.set(augmentToTensor(data.pixels[k] as Uint8Array, spec, rand, opts.augment ?? DEFAULT_AUGMENT), j * plane);
        });
        const labels = idx.map((k) => data.labels[k] as number);
        const outliers = virtualBatch(data, spec, rand, Math.round(idx.length * (opts.virtualStrangers ?? 0.5)), opts.augment ?? DEFAULT_AUGMENT);
        const x = tf.tensor4d(concat(xs, outliers.data), [idx.length + outliers.count, spec.height, spec.width, 1]);
        const y = tf.oneHot(tf.tensor1d(labels, 'int32'), data.classes).toFloat();
        let hits = 0;
        const loss = optimizer.minimize(
          () => {
            const e = l2n(tf, backbone.apply(x, { training: true }) as TfModule.Tensor2D, 1);
            const cosAll = tf.matMul(e, l2n(tf, classW, 0));
            const cos = cosAll.slice([0, 0], [idx.length, data.classes]);
            const pred = tf.argMax(cos, 1).dataSync();
            hits = labels.filter((l, j) => pred[j] === l).length;
            const logits = tf.mul(tf.sub(cos, tf.mul(y, margin)), scale);
            const ce = tf.losses.softmaxCrossEntropy(y, logits) as TfModule.Scalar;
            if (outliers.count === 0) return ce;
            // Outlier exposure: cross-entropy of the outliers' posterior against the uniform one.
            const o = tf.mul(cosAll.slice([idx.length, 0], [outliers.count, data.classes]), scale);
            const oe = tf.mean(tf.sub(tf.logSumExp(o, 1), tf.mean(o, 1)));
            return tf.add(ce, tf.mul(oe, opts.outlierWeight ?? 0.5)) as TfModule.Scalar;
          },
          true,
          vars,
        );
        lossSum += (loss?.dataSync()[0] ?? 0) * idx.length;
        correct += hits;
        tf.dispose([x, y]);
        loss?.dispose();
      }
      const p = { epoch, loss: lossSum / n, accuracy: correct / n };
      history.push(p);
      opts.onProgress?.(p);
      if (epoch === 1 || epoch % 10 === 0 || epoch === epochs) opts.log?.debug(p, 'face embedder epoch');
      await new Promise((r) => setImmediate(r));
    }
    if (opts.mirrorAverage) {
      const twin = mirrorInvariant(tf, backbone, spec, opts.filters ?? [16, 32, 64, 96], dim, opts.seed);
      backbone.dispose();
      backbone = twin;
    }
    const onnx = exportLayersModel(backbone, {
      l2Normalize: true,
      inputName: spec.inputName,
      outputName: spec.outputName,
      docString: 'edgeloop face embedder (L2-normalised embedding)',
    });
    const result: FaceEmbedderResult = {
      onnx,
      preprocess: spec,
      backend: rt.backend,
      epochs,
      history,
      seconds: (performance.now() - started) / 1000,
      identities: data.classes,
    };
    if (opts.keepModel) result.model = backbone;
    return result;
  } finally {
    optimizer.dispose();
    classW.dispose();
    if (!opts.keepModel) backbone.dispose();
  }
}
