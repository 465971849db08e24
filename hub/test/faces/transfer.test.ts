/**
 * Head-only training on an ONNX backbone: the composed network keeps the backbone's weights byte
 * for byte, computes l2norm(backbone(x)·W + b), and embeds unseen identities usefully.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { OnnxModel, pixelsToTensor, type PreprocessSpec } from '@edgeloop/shared';
import { resizeGrey } from '../../src/training/faces/augment.js';
import { trainFaceEmbedder } from '../../src/training/faces/embedder-training.js';
import { type HeadTrainingResult, trainHeadOnBackbone } from '../../src/training/faces/transfer.js';
import { decodeOnnxModel } from '../../src/training/onnx/onnx-writer.js';
import { faceDataset } from '../../src/training/synthetic/faces.js';
import { initTfRuntime } from '../../src/training/tfjs/backend.js';

type Sample = ReturnType<typeof faceDataset>[number];
const toTraining = (s: Sample, prefix: string) => ({ identity: `${prefix}${s.identity}`, image: { data: s.pixels, width: s.width, height: s.height } });

let backbone: Uint8Array;
let backboneSpec: PreprocessSpec;
let composed: HeadTrainingResult;
const PER = 8;
const TRAIN = 5;
const people = faceDataset({ identities: 6, perIdentity: PER, seed: 77, width: 46, height: 56, variationStrength: 0.5 });
const train = people.filter((_, i) => i % PER < TRAIN);
const held = people.filter((_, i) => i % PER >= TRAIN);

before(async () => {
  const tf = await initTfRuntime();
  // The "operator's" backbone: an embedder trained on other identities.
  const other = faceDataset({ identities: 8, perIdentity: 6, seed: 11, width: 46, height: 56, variationStrength: 0.5 });
  const b = await trainFaceEmbedder({ samples: other.map((s) => toTraining(s, 'o')), seed: 2, tf, epochs: 8, inputWidth: 24, inputHeight: 28, filters: [8, 16, 32], embeddingDim: 32, batchSize: 16 });
  backbone = b.onnx;
  backboneSpec = b.preprocess;
  composed = await trainHeadOnBackbone({ backboneOnnx: backbone, backbonePreprocess: backboneSpec, samples: train.map((s) => toTraining(s, 'p')), seed: 4, tf, epochs: 40, embeddingDim: 16 });
});

async function inputs(samples: readonly Sample[], spec: PreprocessSpec): Promise<Float32Array[]> {
  return Promise.all(samples.map(async (s) => pixelsToTensor(await resizeGrey({ data: s.pixels, width: s.width, height: s.height }, spec.width, spec.height), spec)));
}

test('the composed network keeps every backbone weight unchanged', () => {
  type Init = { name: string; raw_data?: Uint8Array };
  const inits = (bytes: Uint8Array): Init[] => ((decodeOnnxModel(bytes).graph as { initializer: Init[] }).initializer ?? []);
  const before = inits(backbone);
  const after = new Map(inits(composed.onnx).map((t) => [t.name, t]));
  assert.ok(before.length > 0);
  for (const t of before) {
    const now = after.get(t.name)?.raw_data;
    assert.ok(now !== undefined && t.raw_data !== undefined && Buffer.from(now).equals(Buffer.from(t.raw_data)), `initializer ${t.name} changed`);
  }
  assert.equal(after.size, before.length + 2, 'only the head weights and bias are added');
  const outputs = (decodeOnnxModel(composed.onnx).graph as { output: { name: string }[] }).output.map((o) => o.name);
  assert.deepEqual(outputs, [composed.preprocess.outputName]);
});

test('the composed network computes l2norm(backbone · W + b)', async () => {
  const xs = await inputs(held, backboneSpec);
  const bb = await OnnxModel.load(backbone, backboneSpec);
  const full = await OnnxModel.load(composed.onnx, composed.preprocess);
  try {
    const { weights, bias, dim } = composed.head;
    for (const x of xs.slice(0, 6)) {
      const f = await bb.runTensor(x, 1);
      const e = Float32Array.from({ length: dim }, (_, j) => {
        let s = bias[j] as number;
        for (let i = 0; i < f.length; i++) s += (f[i] as number) * (weights[i * dim + j] as number);
        return s;
      });
      const norm = Math.hypot(...e);
      const got = await full.runTensor(x, 1);
      for (let j = 0; j < dim; j++) assert.ok(Math.abs((got[j] as number) - (e[j] as number) / norm) < 1e-4);
    }
  } finally {
    await Promise.all([bb.release(), full.release()]);
  }
});

test('the head embeds held-out photos of its identities closer to their own identity', async () => {
  assert.equal(composed.featureDim, 32);
  const full = await OnnxModel.load(composed.onnx, composed.preprocess);
  try {
    const emb = await Promise.all((await inputs(held, composed.preprocess)).map((x) => full.runTensor(x, 1)));
    let same = 0;
    let sameN = 0;
    let diff = 0;
    let diffN = 0;
    for (let i = 0; i < emb.length; i++) {
      for (let j = i + 1; j < emb.length; j++) {
        let c = 0;
        for (let k = 0; k < (emb[i] as Float32Array).length; k++) c += ((emb[i] as Float32Array)[k] as number) * ((emb[j] as Float32Array)[k] as number);
        if (held[i]?.identity === held[j]?.identity) [same, sameN] = [same + c, sameN + 1];
        else [diff, diffN] = [diff + c, diffN + 1];
      }
    }
    assert.ok(same / sameN > diff / diffN + 0.2, `mean same ${same / sameN} vs different ${diff / diffN}`);
  } finally {
    await full.release();
  }
});
