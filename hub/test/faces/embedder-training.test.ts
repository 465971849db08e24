/**
 * Face embedder trainer on synthetic faces: the exported ONNX (run by onnxruntime through the
 * device's preprocessing) separates held-out photos of the training identities, and tfjs and
 * onnxruntime agree to 1e-4 on 100 samples; the mirror-averaged export is mirror-invariant.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { OnnxModel, pixelsToTensor } from '@edgeloop/shared';
import type * as TfModule from '@tensorflow/tfjs';
import { resizeGrey } from '../../src/training/faces/augment.js';
import { type FaceEmbedderResult, trainFaceEmbedder } from '../../src/training/faces/embedder-training.js';
import { faceDataset } from '../../src/training/synthetic/faces.js';
import { initTfRuntime, type TfRuntime } from '../../src/training/tfjs/backend.js';

const IDS = 8;
const TRAIN_PER_ID = 6;
const TEST_PER_ID = 4;
let rt: TfRuntime;
let trained: FaceEmbedderResult;
let model: TfModule.LayersModel;
const all = faceDataset({ identities: IDS, perIdentity: TRAIN_PER_ID + TEST_PER_ID, seed: 42, width: 46, height: 56, variationStrength: 0.6 });
const train = all.filter((_, i) => i % (TRAIN_PER_ID + TEST_PER_ID) < TRAIN_PER_ID);
const held = all.filter((_, i) => i % (TRAIN_PER_ID + TEST_PER_ID) >= TRAIN_PER_ID);

before(async () => {
  rt = await initTfRuntime();
  trained = await trainFaceEmbedder({
    samples: train.map((s) => ({ identity: `id${s.identity}`, image: { data: s.pixels, width: s.width, height: s.height } })),
    seed: 7,
    tf: rt,
    epochs: 12,
    inputWidth: 24,
    inputHeight: 28,
    filters: [8, 16, 32],
    embeddingDim: 32,
    batchSize: 16,
    keepModel: true,
  });
  model = trained.model as TfModule.LayersModel;
});

after(() => model?.dispose());

async function tensors(samples: typeof all): Promise<Float32Array[]> {
  const spec = trained.preprocess;
  return Promise.all(samples.map(async (s) => pixelsToTensor(await resizeGrey({ data: s.pixels, width: s.width, height: s.height }, spec.width, spec.height), spec)));
}

function cos(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

test('training reports its history and fits the training identities', () => {
  assert.equal(trained.history.length, 12);
  assert.equal(trained.identities, IDS);
  const last = trained.history[trained.history.length - 1];
  assert.ok(last !== undefined && last.accuracy > 0.8, `final training accuracy ${last?.accuracy}`);
  assert.ok(trained.onnx.length > 0);
  assert.equal(trained.preprocess.standardize, true);
});

test('exported embedder: held-out same-identity cosine beats different-identity cosine', async () => {
  const onnx = await OnnxModel.load(trained.onnx, trained.preprocess);
  try {
    const xs = await tensors(held);
    const emb = await Promise.all(xs.map((x) => onnx.runTensor(x, 1)));
    for (const e of emb) assert.ok(Math.abs(Math.hypot(...e) - 1) < 1e-4, 'embeddings are unit length');
    let same = 0;
    let sameN = 0;
    let diff = 0;
    let diffN = 0;
    let nearestRight = 0;
    for (let i = 0; i < emb.length; i++) {
      let best = -2;
      let bestJ = -1;
      for (let j = 0; j < emb.length; j++) {
        if (i === j) continue;
        const c = cos(emb[i] as Float32Array, emb[j] as Float32Array);
        if (held[i]?.identity === held[j]?.identity) {
          same += c;
          sameN++;
        } else {
          diff += c;
          diffN++;
        }
        if (c > best) [best, bestJ] = [c, j];
      }
      if (held[bestJ]?.identity === held[i]?.identity) nearestRight++;
    }
    assert.ok(same / sameN > diff / diffN + 0.2, `mean same ${same / sameN} vs different ${diff / diffN}`);
    assert.ok(nearestRight / emb.length >= 0.75, `nearest-neighbour accuracy ${nearestRight / emb.length}`);
  } finally {
    await onnx.release();
  }
});

test('tfjs and onnxruntime agree to within 1e-4 on 100 samples', async () => {
  const samples = faceDataset({ identities: 20, perIdentity: 5, seed: 9, width: 46, height: 56 });
  assert.equal(samples.length, 100);
  const xs = await tensors(samples);
  const { width, height } = trained.preprocess;
  const plane = width * height;
  const flat = new Float32Array(100 * plane);
  xs.forEach((x, i) => {
    flat.set(x, i * plane);
  });
  const tf = rt.tf;
  // One channel: NCHW and NHWC hold the same numbers.
  const expected = tf.tidy(() => {
    const y = model.predict(tf.tensor4d(flat, [100, height, width, 1])) as TfModule.Tensor2D;
    return tf.div(y, tf.norm(y, 2, 1, true)).dataSync() as Float32Array;
  });
  const onnx = await OnnxModel.load(trained.onnx, trained.preprocess);
  try {
    const actual = await onnx.runTensor(flat, 100);
    assert.equal(actual.length, expected.length);
    let max = 0;
    for (let i = 0; i < actual.length; i++) max = Math.max(max, Math.abs((actual[i] as number) - (expected[i] as number)));
    assert.ok(max <= 1e-4, `max |tfjs - onnxruntime| = ${max}`);
  } finally {
    await onnx.release();
  }
});

test('same seed, same network', async () => {
  const small = train.slice(0, 12).map((s) => ({ identity: `id${s.identity}`, image: { data: s.pixels, width: s.width, height: s.height } }));
  const opts = { samples: small, seed: 3, tf: rt, epochs: 2, inputWidth: 16, inputHeight: 20, filters: [4, 8], embeddingDim: 8, batchSize: 8 };
  const a = await trainFaceEmbedder(opts);
  const b = await trainFaceEmbedder(opts);
  assert.deepEqual(a.onnx, b.onnx);
  assert.deepEqual(a.history, b.history);
});

test('mirror-averaged export: the embedding of a mirrored input is the same', async () => {
  const small = train.slice(0, 12).map((s) => ({ identity: `id${s.identity}`, image: { data: s.pixels, width: s.width, height: s.height } }));
  const r = await trainFaceEmbedder({ samples: small, seed: 3, tf: rt, epochs: 2, inputWidth: 16, inputHeight: 20, filters: [4, 8, 8], embeddingDim: 8, batchSize: 8, mirrorAverage: true });
  const spec = r.preprocess;
  const onnx = await OnnxModel.load(r.onnx, spec);
  try {
    for (const s of held.slice(0, 4)) {
      const x = pixelsToTensor(await resizeGrey({ data: s.pixels, width: s.width, height: s.height }, spec.width, spec.height), spec);
      const m = new Float32Array(x.length);
      for (let y = 0; y < spec.height; y++) for (let i = 0; i < spec.width; i++) m[y * spec.width + i] = x[y * spec.width + spec.width - 1 - i] as number;
      const a = await onnx.runTensor(x, 1);
      const b = await onnx.runTensor(m, 1);
      assert.ok(cos(a, b) > 1 - 1e-5, `cosine(embedding, mirrored embedding) = ${cos(a, b)}`);
    }
  } finally {
    await onnx.release();
  }
  await assert.rejects(trainFaceEmbedder({ samples: small, seed: 3, tf: rt, epochs: 1, inputWidth: 18, inputHeight: 20, filters: [4, 8, 8], embeddingDim: 8, mirrorAverage: true }), /divisible by 4/);
});
