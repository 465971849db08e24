/**
 * tfjs → ONNX export parity: the same trained network evaluated by tfjs (NHWC) and by onnxruntime
 * through OnnxModel (NCHW) must agree to 1e-4.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { OnnxModel, type PreprocessSpec } from '@edgeloop/shared';
import type * as TfModule from '@tensorflow/tfjs';
import { exportLayersModel, UnsupportedModelError } from '../../src/training/export/tfjs-to-onnx.js';
import { decodeOnnxModel } from '../../src/training/onnx/onnx-writer.js';
import { seededRandom } from '../../src/training/seeded-random.js';
import { initTfRuntime } from '../../src/training/tfjs/backend.js';

type Tf = typeof import('@tensorflow/tfjs');
let tf: Tf;

const TOL = 1e-4;
const SAMPLES = 100;

before(async () => {
  tf = (await initTfRuntime()).tf;
});

function uniform(seed: number, n: number, lo = -1, hi = 1): Float32Array {
  const r = seededRandom(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}

function spec(size: number, channels: 1 | 3): PreprocessSpec {
  const fill = (v: number): number[] => Array.from({ length: channels }, () => v);
  return { width: size, height: size, channels, mean: fill(0.5), std: fill(0.25), inputName: 'input', outputName: 'output' };
}

/** Sets every BatchNormalization layer's gamma/beta/moving mean/moving variance to random values. */
function randomiseBatchNorms(model: TfModule.LayersModel, seed: number): void {
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const c = layer.getWeights()[0]?.shape[0] ?? 0;
    const w = [uniform(seed, c, 0.5, 1.5), uniform(seed + 1, c, -0.5, 0.5), uniform(seed + 2, c, -0.3, 0.3), uniform(seed + 3, c, 0.2, 2)];
    const tensors = w.map((d) => tf.tensor1d(d));
    layer.setWeights(tensors);
    tf.dispose(tensors);
    seed += 10;
  }
}

/** A quick epoch on random data so the weights leave their initial values. */
async function trainBriefly(model: TfModule.LayersModel, seed: number, loss: string): Promise<void> {
  const inShape = model.inputs[0]?.shape.slice(1) as number[];
  const outShape = model.outputs[0]?.shape.slice(1) as number[];
  const n = 32;
  const x = tf.tensor(uniform(seed, n * inShape.reduce((a, b) => a * b), 0, 1), [n, ...inShape]);
  const r = seededRandom(seed + 1);
  const dim = outShape[0] as number;
  const y =
    loss === 'categoricalCrossentropy'
      ? tf.oneHot(tf.tensor1d(Array.from({ length: n }, () => Math.floor(r() * dim)), 'int32'), dim)
      : tf.tensor(uniform(seed + 2, n * dim), [n, dim]);
  model.compile({ optimizer: tf.train.adam(0.01), loss });
  await model.fit(x, y, { epochs: 1, batchSize: 16, verbose: 0 });
  tf.dispose([x, y]);
}

/**
 * Runs `SAMPLES` seeded inputs through tfjs (NHWC) and onnxruntime (NCHW); returns the max |diff|
 * and the max |tfjs output| (for scale).
 * `post` optionally post-processes the tfjs output (e.g. l2-normalisation).
 */
async function maxDiff(model: TfModule.LayersModel, onnx: Uint8Array, size: number, channels: 1 | 3, seed: number, post?: (y: TfModule.Tensor) => TfModule.Tensor): Promise<{ diff: number; scale: number }> {
  const nhwc = tf.tensor4d(uniform(seed, SAMPLES * size * size * channels, -2, 2), [SAMPLES, size, size, channels]);
  const expected = tf.tidy(() => {
    const y = model.predict(nhwc) as TfModule.Tensor;
    return (post ? post(y) : y).dataSync() as Float32Array;
  });
  const nchw = tf.tidy(() => tf.transpose(nhwc, [0, 3, 1, 2]).dataSync() as Float32Array);
  nhwc.dispose();
  const ort = await OnnxModel.load(onnx, spec(size, channels));
  try {
    const actual = await ort.runTensor(nchw, SAMPLES);
    assert.equal(actual.length, expected.length);
    let max = 0;
    let scale = 0;
    for (let i = 0; i < actual.length; i++) {
      const d = Math.abs((actual[i] as number) - (expected[i] as number));
      assert.ok(Number.isFinite(d), `non-finite output at ${i}`);
      if (d > max) max = d;
      scale = Math.max(scale, Math.abs(expected[i] as number));
    }
    return { diff: max, scale };
  } finally {
    await ort.release();
  }
}

test('laundry-style classifier (conv/maxpool/batchnorm/flatten/dense/dropout/softmax) matches tfjs', async (t) => {
  const L = tf.layers;
  const model = tf.sequential({
    name: 'laundry_classifier',
    layers: [
      L.conv2d({ inputShape: [64, 64, 3], filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' }),
      L.maxPooling2d({ poolSize: 2 }),
      L.conv2d({ filters: 16, kernelSize: 3, padding: 'same', activation: 'relu', strides: 1 }),
      L.batchNormalization(),
      L.maxPooling2d({ poolSize: 2 }),
      L.conv2d({ filters: 16, kernelSize: 3, padding: 'valid', activation: 'relu' }),
      L.flatten(),
      L.dense({ units: 32, activation: 'relu' }),
      L.dropout({ rate: 0.5, name: 'features' }),
      L.dense({ units: 2, activation: 'softmax' }),
    ],
  });
  await trainBriefly(model, 11, 'categoricalCrossentropy');
  randomiseBatchNorms(model, 100);
  const onnx = exportLayersModel(model, { metadata: { modelType: 'laundry' }, docString: 'laundry parity' });
  const decoded = decodeOnnxModel(onnx) as { graph: { node: Array<{ op_type: string }> }; metadata_props: unknown[] };
  const ops = decoded.graph.node.map((n) => n.op_type);
  assert.ok(ops.includes('Transpose'), 'flatten of a spatial tensor must transpose to NHWC first');
  assert.ok(ops.includes('Mul') && ops.includes('Add'), 'batch norm after relu is emitted as Mul + Add');
  assert.deepEqual(decoded.metadata_props, [{ key: 'modelType', value: 'laundry' }]);
  const { diff } = await maxDiff(model, onnx, 64, 3, 21);
  t.diagnostic(`laundry max |tfjs - onnxruntime| = ${diff.toExponential(3)}`);
  assert.ok(diff <= TOL, `max diff ${diff} > ${TOL}`);
  // Softmax can saturate and hide errors: also compare the unsquashed 32-d features feeding it.
  const trunk = tf.model({ inputs: model.inputs, outputs: model.getLayer('features').output as TfModule.SymbolicTensor });
  const trunkRes = await maxDiff(trunk, exportLayersModel(trunk), 64, 3, 21);
  t.diagnostic(`laundry trunk (pre-softmax features, max |value| ${trunkRes.scale.toFixed(2)}) max |tfjs - onnxruntime| = ${trunkRes.diff.toExponential(3)}`);
  // Unbounded features: 1e-4 relative to their magnitude (absolute when they are below 1).
  assert.ok(trunkRes.diff <= TOL * Math.max(1, trunkRes.scale), `trunk max diff ${trunkRes.diff} (scale ${trunkRes.scale})`);
  model.dispose();
});

test('face embedder (avgpool/strided same conv/GAP/dense + l2Normalize) matches tfjs', async (t) => {
  const L = tf.layers;
  const input = tf.input({ shape: [64, 64, 1] });
  let x = L.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(input) as TfModule.SymbolicTensor;
  x = L.averagePooling2d({ poolSize: 2 }).apply(x) as TfModule.SymbolicTensor;
  x = L.conv2d({ filters: 16, kernelSize: 3, padding: 'same', activation: 'relu', strides: 2 }).apply(x) as TfModule.SymbolicTensor;
  x = L.globalAveragePooling2d({}).apply(x) as TfModule.SymbolicTensor;
  x = L.dense({ units: 32 }).apply(x) as TfModule.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: x, name: 'face_embedder' });
  await trainBriefly(model, 12, 'meanSquaredError');
  const onnx = exportLayersModel(model, { l2Normalize: true });
  const l2 = (y: TfModule.Tensor): TfModule.Tensor => tf.div(y, tf.norm(y, 'euclidean', 1, true));
  const { diff } = await maxDiff(model, onnx, 64, 1, 22, l2);
  t.diagnostic(`face max |tfjs - onnxruntime| = ${diff.toExponential(3)}`);
  assert.ok(diff <= TOL, `max diff ${diff} > ${TOL}`);
  model.dispose();
});

test('batch norm after linear conv/dense is folded; same-padded pools and activation layers match', async (t) => {
  const L = tf.layers;
  const model = tf.sequential({
    layers: [
      L.conv2d({ inputShape: [15, 15, 3], filters: 6, kernelSize: [3, 2], strides: 2, padding: 'same', useBias: false }),
      L.batchNormalization(),
      L.activation({ activation: 'relu' }),
      L.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }),
      L.averagePooling2d({ poolSize: 2, strides: 1, padding: 'same' }),
      L.flatten(),
      L.dense({ units: 5 }),
      L.batchNormalization({ epsilon: 0.01 }),
      L.activation({ activation: 'softmax' }),
    ],
  });
  await trainBriefly(model, 13, 'categoricalCrossentropy');
  randomiseBatchNorms(model, 200);
  const onnx = exportLayersModel(model);
  const ops = (decodeOnnxModel(onnx) as { graph: { node: Array<{ op_type: string }> } }).graph.node.map((n) => n.op_type);
  assert.ok(!ops.includes('Mul') && !ops.includes('Add'), `batch norms should be folded, got ${ops.join(',')}`);
  const { diff } = await maxDiff(model, onnx, 15, 3, 23);
  t.diagnostic(`folded max |tfjs - onnxruntime| = ${diff.toExponential(3)}`);
  assert.ok(diff <= TOL, `max diff ${diff} > ${TOL}`);
  model.dispose();
});

test('unsupported layers and topologies throw a clear error naming the layer', () => {
  const L = tf.layers;
  const deconv = tf.sequential({
    layers: [L.conv2d({ inputShape: [8, 8, 1], filters: 2, kernelSize: 3 }), L.conv2dTranspose({ filters: 2, kernelSize: 3, name: 'up' })],
  });
  assert.throws(() => exportLayersModel(deconv), (e: unknown) => e instanceof UnsupportedModelError && /'up' \(Conv2DTranspose\).*not supported/.test(e.message));
  const rnn = tf.sequential({ layers: [L.lstm({ inputShape: [5, 4], units: 3, name: 'seq' }), L.dense({ units: 2 })] });
  assert.throws(() => exportLayersModel(rnn), /'seq' \(LSTM\).*not supported/);
  const input = tf.input({ shape: [8, 8, 2] });
  const a = L.conv2d({ filters: 2, kernelSize: 1 }).apply(input) as TfModule.SymbolicTensor;
  const sum = L.add({ name: 'merge' }).apply([a, input]) as TfModule.SymbolicTensor;
  const branched = tf.model({ inputs: input, outputs: sum });
  assert.throws(() => exportLayersModel(branched), /'merge' \(Add\)/);
  const causal = tf.sequential({ layers: [L.conv2d({ inputShape: [8, 8, 1], filters: 2, kernelSize: 3, padding: 'causal' as 'same', name: 'odd' })] });
  assert.throws(() => exportLayersModel(causal), /'odd' \(Conv2D\).*padding 'causal'/);
  for (const m of [deconv, rnn, branched, causal]) m.dispose();
});
