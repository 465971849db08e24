/**
 * Laundry classifier training: it learns (held-out photos through the device path: exported ONNX in
 * onnxruntime + classifyLaundry), it is deterministic, and the exported network computes
 * what the trained tfjs model computes.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { classifyLaundry, OnnxModel } from '@edgeloop/shared';
import type * as TfModule from '@tensorflow/tfjs';
import { laundryBag, type LaundryTrainingResult, LaundryTrainingError, trainLaundryClassifier } from '../../src/training/laundry/laundry-training.js';
import { initTfRuntime, type TfRuntime } from '../../src/training/tfjs/backend.js';
import { type LaundryPhotoFile, laundryPhotos } from './laundry-support.js';

let rt: TfRuntime;
let train: LaundryPhotoFile[];
let held: LaundryPhotoFile[];
let result: LaundryTrainingResult;

before(async () => {
  rt = await initTfRuntime();
  // Stains and tears: learnable in the few epochs a test can afford (discolouration needs more).
  const photos = await laundryPhotos(100, 41, { kinds: ['stain', 'tear'] });
  train = photos.slice(0, 60);
  held = photos.slice(60);
  result = await trainLaundryClassifier({ samples: train, seed: 7, tf: rt, epochs: 12, keepModel: true });
});

after(() => result?.model?.dispose());

test('training on 60 synthetic photos (stains, tears) learns: held-out accuracy through classifyLaundry + onnxruntime', async (t) => {
  assert.deepEqual(result.labels, ['good', 'defect']);
  assert.equal(result.preprocess.channels, 3);
  assert.ok(result.epochs >= 1 && result.epochs <= 12);
  assert.equal(result.history.length, result.epochs);
  const model = await OnnxModel.load(result.onnx, result.preprocess);
  let correct = 0;
  const scores: number[] = [];
  try {
    for (const p of held) {
      const c = await classifyLaundry(model, result.labels, p.image, result.preprocess);
      scores.push(c.defectScore);
      if ((c.defectScore >= 0.5 ? 'defect' : 'good') === p.label) correct++;
    }
  } finally {
    await model.release();
  }
  const accuracy = correct / held.length;
  t.diagnostic(`held-out accuracy ${accuracy.toFixed(3)} on ${held.length} photos after ${result.epochs} epochs (${result.seconds.toFixed(1)} s, ${result.backend})`);
  assert.ok(scores.every((s) => s >= 0 && s <= 1));
  assert.ok(accuracy >= 0.7, `held-out accuracy ${accuracy} is not well above chance (0.5)`);
});

test('tfjs and onnxruntime agree to 1e-4 on 100 inputs of the trained classifier', async (t) => {
  const tf = rt.tf;
  const spec = result.preprocess;
  const inputs: Float32Array[] = [];
  for (const p of held) {
    if (inputs.length >= 100) break;
    inputs.push(...(await laundryBag(p.image, p.label === 'defect', spec)).parts);
  }
  const n = 100;
  assert.ok(inputs.length >= n, `only ${inputs.length} inputs`);
  const per = spec.width * spec.height * spec.channels;
  const nchw = new Float32Array(n * per);
  for (let i = 0; i < n; i++) nchw.set(inputs[i] as Float32Array, i * per);
  const model = result.model as TfModule.LayersModel;
  const expected = tf.tidy(() => {
    const x = tf.transpose(tf.tensor4d(nchw, [n, spec.channels, spec.height, spec.width]), [0, 2, 3, 1]);
    return (model.predict(x) as TfModule.Tensor).dataSync() as Float32Array;
  });
  const ort = await OnnxModel.load(result.onnx, spec);
  let max = 0;
  try {
    const actual = await ort.runTensor(nchw, n);
    assert.equal(actual.length, expected.length);
    for (let i = 0; i < actual.length; i++) max = Math.max(max, Math.abs((actual[i] as number) - (expected[i] as number)));
  } finally {
    await ort.release();
  }
  t.diagnostic(`max |tfjs - onnxruntime| = ${max.toExponential(3)}`);
  assert.ok(max <= 1e-4, `max diff ${max}`);
});

test('training is deterministic for a seed and refuses a one-class training set', async () => {
  const few = train.slice(0, 12);
  const a = await trainLaundryClassifier({ samples: few, seed: 3, tf: rt, epochs: 2 });
  const b = await trainLaundryClassifier({ samples: few, seed: 3, tf: rt, epochs: 2 });
  assert.deepEqual(a.history, b.history);
  assert.deepEqual(Buffer.from(a.onnx), Buffer.from(b.onnx));
  const good = train.filter((p) => p.label === 'good').slice(0, 4);
  await assert.rejects(trainLaundryClassifier({ samples: good, seed: 1, tf: rt, epochs: 1 }), LaundryTrainingError);
});
