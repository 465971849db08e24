/**
 * The wasm Conv2DBackpropInput composite (flipped, channel-swapped kernel through the forward conv,
 * dy dilated by the stride) against the cpu backend's reference kernel.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type * as TfModule from '@tensorflow/tfjs';
import { seededRandom } from '../../src/training/seeded-random.js';
import { initTfRuntime } from '../../src/training/tfjs/backend.js';
import { conv2DBackpropInputComposite } from '../../src/training/tfjs/conv2d-backprop-input.js';

type Tf = typeof import('@tensorflow/tfjs');
type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

let tf: Tf;

before(async () => {
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
  rounding?: 'floor' | 'round' | 'ceil';
}

const CONFIGS: Cfg[] = [
  { k: [3, 3], ci: 24, co: 32, stride: 1, pad: 'same', hw: [16, 16] },
  { k: [3, 3], ci: 32, co: 48, stride: 1, pad: 'same', hw: [8, 8] },
  { k: [3, 3], ci: 3, co: 8, stride: 1, pad: 'valid', hw: [9, 7] },
  { k: [4, 4], ci: 3, co: 8, stride: 4, pad: 'valid', hw: [16, 16] },
  { k: [4, 4], ci: 3, co: 8, stride: 4, pad: 'valid', hw: [18, 17] },
  { k: [3, 3], ci: 3, co: 8, stride: 2, pad: 'same', hw: [9, 10] },
  { k: [3, 3], ci: 2, co: 5, stride: 2, pad: 'same', hw: [8, 8] },
  { k: [2, 2], ci: 4, co: 6, stride: 2, pad: 'same', hw: [7, 9] },
  { k: [5, 5], ci: 3, co: 4, stride: 3, pad: 'valid', hw: [14, 13] },
  { k: [1, 1], ci: 3, co: 8, stride: 2, pad: 'valid', hw: [8, 9] },
  { k: [3, 5], ci: 3, co: 8, stride: [2, 1], pad: [[0, 0], [1, 2], [0, 1], [0, 0]], hw: [9, 10] },
  { k: [3, 3], ci: 3, co: 4, stride: 2, pad: 1, hw: [10, 9], rounding: 'ceil' },
  { k: [3, 3], ci: 3, co: 8, stride: 2, pad: 'valid', hw: [3, 4] },
];

function label(c: Cfg): string {
  return `k=${c.k.join('x')} ${c.ci}->${c.co} stride=${JSON.stringify(c.stride)} pad=${JSON.stringify(c.pad)} in=${c.hw.join('x')}${c.rounding ? ` ${c.rounding}` : ''}`;
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

/** dx through the registered kernel (runKernel) on `backend`, for the same seeded dy and filter. */
async function backpropInput(backend: 'cpu' | 'wasm', c: Cfg, seed: number): Promise<Float32Array> {
  await initTfRuntime({ prefer: backend });
  const n = 2;
  const xShape: [number, number, number, number] = [n, c.hw[0], c.hw[1], c.ci];
  const wShape: [number, number, number, number] = [c.k[0], c.k[1], c.ci, c.co];
  const info = tf.backend_util.computeConv2DInfo(xShape, wShape, c.stride, 1, c.pad, c.rounding, false, 'channelsLast');
  const dyShape: [number, number, number, number] = [n, info.outHeight, info.outWidth, c.co];
  const dy = tf.tensor4d(randArray(seed, dyShape.reduce((a, b) => a * b)), dyShape);
  const w = tf.tensor4d(randArray(seed + 1, wShape.reduce((a, b) => a * b)), wShape);
  const before = tf.memory().numTensors;
  const dx = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, {
    strides: c.stride,
    pad: c.pad,
    dataFormat: 'NHWC',
    dimRoundingMode: c.rounding,
    inputShape: xShape,
  } as unknown as TfModule.NamedAttrMap) as TfModule.Tensor;
  assert.deepEqual(dx.shape, xShape, `${backend} ${label(c)}`);
  const out = dx.dataSync() as Float32Array;
  dx.dispose();
  assert.equal(tf.memory().numTensors, before, `${backend}: ${label(c)} leaked tensors`);
  tf.dispose([dy, w]);
  return out;
}

test('wasm Conv2DBackpropInput (composite) matches the cpu backend to 1e-5 relative', async () => {
  for (const [i, c] of CONFIGS.entries()) {
    const cpu = await backpropInput('cpu', c, 500 + i * 10);
    const wasm = await backpropInput('wasm', c, 500 + i * 10);
    const e = relErr(cpu, wasm);
    assert.ok(e <= 1e-5, `${label(c)}: dX relative error ${e}`);
  }
});

test('the registered wasm kernel is the composite, and the composite also runs on cpu', async () => {
  await initTfRuntime({ prefer: 'wasm' });
  const k = tf.getKernel('Conv2DBackpropInput', 'wasm');
  assert.equal((k?.kernelFunc as { edgeloopComposite?: boolean } | undefined)?.edgeloopComposite, true);
  const c = CONFIGS[5] as Cfg;
  const expected = await backpropInput('cpu', c, 77);
  const xShape: [number, number, number, number] = [2, c.hw[0], c.hw[1], c.ci];
  const wShape: [number, number, number, number] = [c.k[0], c.k[1], c.ci, c.co];
  const info = tf.backend_util.computeConv2DInfo(xShape, wShape, c.stride, 1, c.pad, undefined, false, 'channelsLast');
  const dyShape: [number, number, number, number] = [2, info.outHeight, info.outWidth, c.co];
  const dy = tf.tensor4d(randArray(77, dyShape.reduce((a, b) => a * b)), dyShape);
  const w = tf.tensor4d(randArray(78, wShape.reduce((a, b) => a * b)), wShape);
  const dx = conv2DBackpropInputComposite(tf, dy, w, xShape, c.stride, c.pad as 'same');
  assert.ok(relErr(expected, dx.dataSync() as Float32Array) <= 1e-5);
  tf.dispose([dy, w, dx]);
});

test('conv2d gradients through tf.grads on wasm match cpu for the laundry network shapes', async () => {
  const results: Record<string, Float32Array> = {};
  for (const backend of ['cpu', 'wasm'] as const) {
    await initTfRuntime({ prefer: backend });
    const x = tf.tensor4d(randArray(9, 3 * 16 * 16 * 24), [3, 16, 16, 24]);
    const w = tf.tensor4d(randArray(10, 3 * 3 * 24 * 32), [3, 3, 24, 32]);
    const dx = tf.grad((xx: TfModule.Tensor) => tf.sum(tf.square(tf.conv2d(xx as TfModule.Tensor4D, w, 1, 'same'))))(x);
    results[backend] = dx.dataSync() as Float32Array;
    tf.dispose([x, w, dx]);
  }
  const e = relErr(results.cpu as Float32Array, results.wasm as Float32Array);
  assert.ok(e <= 1e-4, `relative error ${e}`);
});
