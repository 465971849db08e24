import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type * as TfModule from '@tensorflow/tfjs';
import { seededRandom } from '../../src/training/seeded-random.js';
import { initTfRuntime } from '../../src/training/tfjs/backend.js';

type Tf = typeof import('@tensorflow/tfjs');
type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

let tf: Tf;

before(async () => {
  // Loads wasm (and registers the composite kernel) whatever backend the auto choice picks.
  tf = (await initTfRuntime({ prefer: 'wasm' })).tf;
});

function randArray(seed: number, n: number): Float32Array {
  const r = seededRandom(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = r() * 2 - 1;
  return a;
}

interface Cfg {
  k: [number, number];
  ci: number;
  co: number;
  stride: number | [number, number];
  pad: Pad;
  hw: [number, number];
}

/** dL/dw and dL/dx of L = sum(conv2d(x, w) * r) on `backend`, for the same seeded data on each backend. */
async function grads(backend: 'cpu' | 'wasm', c: Cfg, seed: number): Promise<{ dw: Float32Array; dx: Float32Array }> {
  await initTfRuntime({ prefer: backend });
  const n = 2;
  const xShape: [number, number, number, number] = [n, c.hw[0], c.hw[1], c.ci];
  const wShape: [number, number, number, number] = [c.k[0], c.k[1], c.ci, c.co];
  const x = tf.tensor4d(randArray(seed, xShape.reduce((a, b) => a * b)), xShape);
  const w = tf.tensor4d(randArray(seed + 1, wShape.reduce((a, b) => a * b)), wShape);
  const yShape = tf.conv2d(x, w, c.stride, c.pad).shape;
  const r = tf.tensor4d(randArray(seed + 2, yShape.reduce((a, b) => a * b)), yShape);
  const before = tf.memory().numTensors;
  const g = tf.grads((xx: TfModule.Tensor, ww: TfModule.Tensor) =>
    tf.sum(tf.mul(tf.conv2d(xx as TfModule.Tensor4D, ww as TfModule.Tensor4D, c.stride, c.pad), r)),
  );
  const [dx, dw] = g([x, w]) as [TfModule.Tensor, TfModule.Tensor];
  assert.deepEqual(dw.shape, wShape);
  const out = { dw: dw.dataSync() as Float32Array, dx: dx.dataSync() as Float32Array };
  dx.dispose();
  dw.dispose();
  assert.equal(tf.memory().numTensors, before, `${backend}: gradient computation leaked tensors`);
  tf.dispose([x, w, r]);
  return out;
}

function relErr(expected: Float32Array, actual: Float32Array): number {
  assert.equal(actual.length, expected.length);
  let maxDiff = 0;
  let maxAbs = 0;
  for (let i = 0; i < expected.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs((expected[i] ?? 0) - (actual[i] ?? 0)));
    maxAbs = Math.max(maxAbs, Math.abs(expected[i] ?? 0));
  }
  return maxDiff / Math.max(maxAbs, 1e-6);
}

const CONFIGS: Cfg[] = [
  { k: [3, 3], ci: 1, co: 4, stride: 1, pad: 'same', hw: [9, 10] },
  { k: [3, 3], ci: 3, co: 8, stride: 2, pad: 'same', hw: [9, 10] },
  { k: [3, 3], ci: 3, co: 8, stride: 1, pad: 'valid', hw: [8, 8] },
  { k: [3, 3], ci: 1, co: 4, stride: 2, pad: 'valid', hw: [9, 8] },
  { k: [1, 1], ci: 3, co: 8, stride: 1, pad: 'same', hw: [7, 7] },
  { k: [1, 1], ci: 1, co: 4, stride: 2, pad: 'valid', hw: [8, 9] },
  { k: [5, 5], ci: 3, co: 8, stride: 1, pad: 'same', hw: [10, 9] },
  { k: [5, 5], ci: 1, co: 4, stride: 2, pad: 'valid', hw: [11, 12] },
  { k: [5, 5], ci: 3, co: 8, stride: 2, pad: 'same', hw: [12, 12] },
  // non-square kernel, mixed strides, explicit padding
  { k: [3, 5], ci: 3, co: 8, stride: [2, 1], pad: [[0, 0], [1, 2], [0, 1], [0, 0]], hw: [9, 10] },
  // output 1x1 (dy covers a single position)
  { k: [3, 3], ci: 3, co: 8, stride: 2, pad: 'valid', hw: [3, 4] },
];

test('wasm Conv2DBackpropFilter (composite) matches the cpu backend to 1e-4 relative', async () => {
  for (const [i, c] of CONFIGS.entries()) {
    const label = `k=${c.k.join('x')} ${c.ci}->${c.co} stride=${JSON.stringify(c.stride)} pad=${JSON.stringify(c.pad)} in=${c.hw.join('x')}`;
    const cpu = await grads('cpu', c, 100 + i * 10);
    const wasm = await grads('wasm', c, 100 + i * 10);
    const ew = relErr(cpu.dw, wasm.dw);
    const ex = relErr(cpu.dx, wasm.dx);
    assert.ok(ew <= 1e-4, `${label}: dW relative error ${ew}`);
    assert.ok(ex <= 1e-4, `${label}: dX relative error ${ex}`);
  }
});

test('the composite kernel rejects NCHW with a clear error', async () => {
  await initTfRuntime({ prefer: 'wasm' });
  const x = tf.zeros([1, 2, 5, 5]);
  const dy = tf.zeros([1, 4, 5, 5]);
  assert.throws(
    () =>
      tf.engine().runKernel(
        'Conv2DBackpropFilter',
        { x, dy },
        { strides: 1, pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 2, 4] },
      ),
    /dataFormat 'NCHW' is not supported/,
  );
  tf.dispose([x, dy]);
});

// ---- a tiny CNN trained with model.fit on wasm --------------------------------------------------

/** Bright vs dark 32x32x3 images with uniform noise (±0.2); label 1 = bright. */
function brightDark(n: number, seed: number): { xs: TfModule.Tensor4D; ys: TfModule.Tensor2D } {
  const r = seededRandom(seed);
  const px = 32 * 32 * 3;
  const xs = new Float32Array(n * px);
  const ys = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    const bright = r() < 0.5 ? 1 : 0;
    const base = bright ? 0.65 : 0.35;
    for (let j = 0; j < px; j++) xs[i * px + j] = base + (r() - 0.5) * 0.4;
    ys[i * 2 + bright] = 1;
  }
  return { xs: tf.tensor4d(xs, [n, 32, 32, 3]), ys: tf.tensor2d(ys, [n, 2]) };
}

function tinyCnn(): TfModule.Sequential {
  const m = tf.sequential();
  m.add(
    tf.layers.conv2d({
      inputShape: [32, 32, 3],
      filters: 8,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: tf.initializers.heNormal({ seed: 1 }),
    }),
  );
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(
    tf.layers.conv2d({
      filters: 16,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: tf.initializers.heNormal({ seed: 2 }),
    }),
  );
  m.add(tf.layers.globalAveragePooling2d({}));
  m.add(
    tf.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
  );
  m.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return m;
}

async function fitTimed(
  m: TfModule.Sequential,
  xs: TfModule.Tensor4D,
  ys: TfModule.Tensor2D,
  epochs: number,
  batchSize: number,
): Promise<{ loss: number[]; acc: number[]; ms: number[] }> {
  const loss: number[] = [];
  const acc: number[] = [];
  const ms: number[] = [];
  let t0 = 0;
  await m.fit(xs, ys, {
    epochs,
    batchSize,
    shuffle: false,
    verbose: 0,
    callbacks: {
      onEpochBegin: async () => {
        t0 = performance.now();
      },
      onEpochEnd: async (_e, logs) => {
        ms.push(performance.now() - t0);
        loss.push(Number(logs?.loss));
        acc.push(Number(logs?.acc));
      },
    },
  });
  return { loss, acc, ms };
}

test('a tiny CNN trains with model.fit on wasm (loss falls, accuracy > 0.9); wasm vs cpu epoch time', async () => {
  await initTfRuntime({ prefer: 'wasm' });
  const { xs, ys } = brightDark(64, 42);
  const m = tinyCnn();
  const h = await fitTimed(m, xs, ys, 8, 16);
  const first = h.loss[0] ?? Number.NaN;
  const last = h.loss[h.loss.length - 1] ?? Number.NaN;
  assert.ok(last < first, `loss did not decrease: ${h.loss.join(', ')}`);
  assert.ok((h.acc[h.acc.length - 1] ?? 0) > 0.9, `final accuracy ${h.acc.join(', ')}`);
  const evalAcc = tf.tidy(() => {
    const pred = (m.predict(xs) as TfModule.Tensor2D).argMax(-1);
    return tf.mean(tf.cast(tf.equal(pred, ys.argMax(-1)), 'float32')).dataSync()[0] ?? 0;
  });
  assert.ok(evalAcc > 0.9, `eval accuracy ${evalAcc}`);
  const steady = h.ms.slice(1);
  const wasmEpoch = steady.reduce((a, b) => a + b, 0) / steady.length;
  console.log(
    `wasm: 8 epochs of 64 samples (batch 16): loss ${h.loss.map((l) => l.toFixed(3)).join(' → ')}, ` +
      `acc ${h.acc.map((a) => a.toFixed(2)).join(' → ')}, ${h.ms.map((t) => t.toFixed(0)).join('/')} ms per epoch`,
  );
  m.dispose();

  // Timing comparison on a 16-sample epoch (one batch): cpu is too slow for the full epoch here.
  const small = { xs: xs.slice(0, 16), ys: ys.slice(0, 16) };
  const wasmModel = tinyCnn();
  await fitTimed(wasmModel, small.xs, small.ys, 1, 16); // warm-up
  const wasmSmall = (await fitTimed(wasmModel, small.xs, small.ys, 1, 16)).ms[0] ?? Number.NaN;
  wasmModel.dispose();
  await initTfRuntime({ prefer: 'cpu' });
  const cpuXs = tf.tensor4d(small.xs.dataSync(), small.xs.shape);
  const cpuYs = tf.tensor2d(small.ys.dataSync(), small.ys.shape);
  const cpuModel = tinyCnn();
  const cpuSmall = (await fitTimed(cpuModel, cpuXs, cpuYs, 1, 16)).ms[0] ?? Number.NaN;
  cpuModel.dispose();
  console.log(
    `epoch time, same model, 16 samples (batch 16): wasm ${wasmSmall.toFixed(0)} ms, cpu ${cpuSmall.toFixed(0)} ms ` +
      `(${(cpuSmall / wasmSmall).toFixed(0)}x); wasm steady 64-sample epoch ${wasmEpoch.toFixed(0)} ms, ` +
      `cpu ≈ ${((cpuSmall * 64) / 16).toFixed(0)} ms extrapolated`,
  );
  tf.dispose([xs, ys, small.xs, small.ys, cpuXs, cpuYs]);
  await initTfRuntime({ prefer: 'wasm' });
});

test('a face-embedder-style network (same blocks + dense + L2 normalisation) trains with adam on wasm', async () => {
  await initTfRuntime({ prefer: 'wasm' });
  const { xs, ys } = brightDark(32, 7);
  const inp = tf.input({ shape: [32, 32, 3] });
  let h = tf.layers
    .conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: tf.initializers.heNormal({ seed: 4 }) })
    .apply(inp) as TfModule.SymbolicTensor;
  h = tf.layers.maxPooling2d({ poolSize: 2 }).apply(h) as TfModule.SymbolicTensor;
  h = tf.layers
    .conv2d({ filters: 16, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: tf.initializers.heNormal({ seed: 5 }) })
    .apply(h) as TfModule.SymbolicTensor;
  h = tf.layers.globalAveragePooling2d({}).apply(h) as TfModule.SymbolicTensor;
  h = tf.layers.dense({ units: 8, kernelInitializer: tf.initializers.glorotUniform({ seed: 6 }) }).apply(h) as TfModule.SymbolicTensor;
  const embedder = tf.model({ inputs: inp, outputs: h });
  // Cosine-softmax loss over L2-normalised embeddings and class centres.
  const centres = tf.variable(tf.tensor2d(randArray(9, 16), [8, 2]));
  const l2 = (t: TfModule.Tensor, axis: number) => tf.div(t, tf.sqrt(tf.maximum(tf.sum(tf.square(t), axis, true), 1e-12)));
  const opt = tf.train.adam(0.02);
  const losses: number[] = [];
  for (let step = 0; step < 15; step++) {
    const cost = opt.minimize(() => {
      const e = l2(embedder.apply(xs, { training: true }) as TfModule.Tensor2D, -1);
      return tf.losses.softmaxCrossEntropy(ys, tf.mul(tf.matMul(e, l2(centres, 0)), 8)) as TfModule.Scalar;
    }, true);
    losses.push(cost?.dataSync()[0] ?? Number.NaN);
    cost?.dispose();
  }
  assert.ok((losses[losses.length - 1] ?? Number.NaN) < (losses[0] ?? Number.NaN) * 0.7, `loss ${losses.join(', ')}`);
  // Embeddings are unit-norm.
  const norms = tf.tidy(() => tf.norm(l2(embedder.predict(xs) as TfModule.Tensor, -1), 'euclidean', -1).dataSync());
  for (const n of norms) assert.ok(Math.abs(n - 1) < 1e-4);
  embedder.dispose();
  tf.dispose([xs, ys, centres]);
  opt.dispose();
});
