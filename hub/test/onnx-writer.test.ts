import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import {
  conv2d,
  dense,
  flatten,
  globalAveragePool,
  hwioToOihw,
  l2Normalize,
  maxPool,
  relu,
  softmax,
} from '../src/training/onnx/layers.js';
import { OnnxGraphBuilder, attr, decodeOnnxModel } from '../src/training/onnx/onnx-writer.js';

const TOL = 1e-5;

/** mulberry32: small deterministic PRNG, uniform in [-scale, scale). */
function rng(seed: number): (n: number, scale?: number) => Float32Array {
  let s = seed >>> 0;
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return (n, scale = 0.5) => Float32Array.from({ length: n }, () => (next() * 2 - 1) * scale);
}

// ---------- plain-TypeScript reference ops (NCHW, row-major) ----------
interface T4 {
  n: number;
  c: number;
  h: number;
  w: number;
  d: Float64Array;
}
const at = (t: T4, n: number, c: number, y: number, x: number): number => t.d[((n * t.c + c) * t.h + y) * t.w + x] as number;

/** w is OIHW. pads symmetric. */
function refConv(t: T4, w: Float32Array, b: Float32Array, cout: number, k: number, stride: number, pad: number): T4 {
  const h = Math.floor((t.h + 2 * pad - k) / stride) + 1;
  const wd = Math.floor((t.w + 2 * pad - k) / stride) + 1;
  const d = new Float64Array(t.n * cout * h * wd);
  for (let n = 0; n < t.n; n++)
    for (let o = 0; o < cout; o++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < wd; x++) {
          let s = b[o] as number;
          for (let i = 0; i < t.c; i++)
            for (let ky = 0; ky < k; ky++)
              for (let kx = 0; kx < k; kx++) {
                const iy = y * stride + ky - pad;
                const ix = x * stride + kx - pad;
                if (iy < 0 || ix < 0 || iy >= t.h || ix >= t.w) continue;
                s += at(t, n, i, iy, ix) * (w[((o * t.c + i) * k + ky) * k + kx] as number);
              }
          d[((n * cout + o) * h + y) * wd + x] = s;
        }
  return { n: t.n, c: cout, h, w: wd, d };
}
const refRelu = (t: T4): T4 => ({ ...t, d: t.d.map((v) => Math.max(0, v)) });
function refMaxPool(t: T4, k: number): T4 {
  const h = Math.floor(t.h / k);
  const w = Math.floor(t.w / k);
  const d = new Float64Array(t.n * t.c * h * w);
  for (let n = 0; n < t.n; n++)
    for (let c = 0; c < t.c; c++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          let m = Number.NEGATIVE_INFINITY;
          for (let ky = 0; ky < k; ky++) for (let kx = 0; kx < k; kx++) m = Math.max(m, at(t, n, c, y * k + ky, x * k + kx));
          d[((n * t.c + c) * h + y) * w + x] = m;
        }
  return { n: t.n, c: t.c, h, w, d };
}
/** GAP + flatten → rows [n][c]. */
function refGapFlatten(t: T4): number[][] {
  return Array.from({ length: t.n }, (_, n) =>
    Array.from({ length: t.c }, (_, c) => {
      let s = 0;
      for (let y = 0; y < t.h; y++) for (let x = 0; x < t.w; x++) s += at(t, n, c, y, x);
      return s / (t.h * t.w);
    }),
  );
}
/** w is [in, out]. */
const refDense = (rows: number[][], w: Float32Array, b: Float32Array, outDim: number): number[][] =>
  rows.map((r) =>
    Array.from({ length: outDim }, (_, o) => r.reduce((s, v, i) => s + v * (w[i * outDim + o] as number), b[o] as number)),
  );
const refSoftmax = (rows: number[][]): number[][] =>
  rows.map((r) => {
    const m = Math.max(...r);
    const e = r.map((v) => Math.exp(v - m));
    const s = e.reduce((a, v) => a + v, 0);
    return e.map((v) => v / s);
  });
const refL2 = (rows: number[][]): number[][] =>
  rows.map((r) => {
    const norm = Math.sqrt(r.reduce((a, v) => a + v * v, 0));
    return r.map((v) => v / norm);
  });
const relu2 = (rows: number[][]): number[][] => rows.map((r) => r.map((v) => Math.max(0, v)));

function assertClose(actual: Float32Array, expected: number[][], tol = TOL): void {
  const flat = expected.flat();
  assert.equal(actual.length, flat.length);
  flat.forEach((e, k) => {
    const a = actual[k] as number;
    assert.ok(Math.abs(a - e) <= tol, `index ${k}: onnx ${a} vs reference ${e}`);
  });
}

async function run(bytes: Uint8Array, feeds: Record<string, ort.Tensor>, out: string): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(Buffer.from(bytes));
  const result = await session.run(feeds);
  const t = result[out];
  assert.ok(t, `missing output ${out}`);
  return t;
}

test('conv net export matches reference (onnxruntime)', async () => {
  const rand = rng(1234);
  const w1 = rand(4 * 1 * 3 * 3);
  const b1 = rand(4, 0.1);
  const w2Hwio = rand(3 * 3 * 4 * 8); // tfjs layout [kh, kw, in, out]
  const b2 = rand(8, 0.1);
  const w3 = rand(8 * 5, 1); // [in, out]
  const b3 = rand(5, 0.1);

  const g = new OnnxGraphBuilder('tiny_cnn');
  const x = g.input('image', ['batch', 1, 16, 16]);
  let h = conv2d(g, x, { inChannels: 1, filters: 4, kernel: 3, pads: 1, weights: w1, bias: b1 });
  h = relu(g, h);
  h = maxPool(g, h, { kernel: 2 });
  h = conv2d(g, h, { inChannels: 4, filters: 8, kernel: 3, strides: 2, pads: 1, weights: w2Hwio, layout: 'hwio', bias: b2 });
  h = relu(g, h);
  h = globalAveragePool(g, h);
  h = flatten(g, h);
  h = dense(g, h, { inDim: 8, outDim: 5, weights: w3, bias: b3 });
  const probs = softmax(g, h);
  g.node('Identity', [probs], ['probs']);
  g.output('probs', ['batch', 5]);
  const bytes = g.toBytes({ metadata: { labels: 'a,b,c,d,e' }, docString: 'test' });

  const batch = 2;
  const input = rand(batch * 16 * 16, 1);
  const out = await run(bytes, { image: new ort.Tensor('float32', input, [batch, 1, 16, 16]) }, 'probs');
  assert.deepEqual(out.dims, [batch, 5]);
  const got = out.data as Float32Array;

  // Reference (second conv uses an independently transposed kernel).
  let r: T4 = { n: batch, c: 1, h: 16, w: 16, d: Float64Array.from(input) };
  r = refRelu(refConv(r, w1, b1, 4, 3, 1, 1));
  r = refMaxPool(r, 2);
  r = refRelu(refConv(r, hwioToOihw(w2Hwio, 3, 3, 4, 8), b2, 8, 3, 2, 1));
  assert.equal(r.h, 4);
  const expected = refSoftmax(refDense(refGapFlatten(r), w3, b3, 5));
  assertClose(got, expected);
  for (let n = 0; n < batch; n++) {
    const sum = Array.from(got.subarray(n * 5, n * 5 + 5)).reduce((a, v) => a + v, 0);
    assert.ok(Math.abs(sum - 1) < TOL, `softmax row ${n} sums to ${sum}`);
  }

  // Wire-format checks: ir/opset, raw_data storage, metadata.
  const m = decodeOnnxModel(bytes) as {
    ir_version: number;
    opset_import: Array<{ version: number }>;
    metadata_props: Array<{ key: string; value: string }>;
    graph: { initializer: Array<{ raw_data?: Uint8Array; float_data?: number[]; dims: number[] }> };
  };
  assert.equal(m.ir_version, 8);
  assert.equal(m.opset_import[0]?.version, 13);
  assert.deepEqual(m.metadata_props, [{ key: 'labels', value: 'a,b,c,d,e' }]);
  for (const init of m.graph.initializer) {
    assert.ok(init.raw_data && init.raw_data.length === 4 * init.dims.reduce((a, b) => a * b, 1));
    assert.ok(!init.float_data || init.float_data.length === 0);
  }
});

test('hwioToOihw transposes', () => {
  // kh=1, kw=2, in=2, out=3; value encodes (x, i, o)
  const hwio = [];
  for (let x = 0; x < 2; x++) for (let i = 0; i < 2; i++) for (let o = 0; o < 3; o++) hwio.push(x * 100 + i * 10 + o);
  const oihw = hwioToOihw(hwio, 1, 2, 2, 3);
  for (let o = 0; o < 3; o++) for (let i = 0; i < 2; i++) for (let x = 0; x < 2; x++) {
    assert.equal(oihw[(o * 2 + i) * 2 + x], x * 100 + i * 10 + o);
  }
});

test('dense net with L2-normalised output matches reference (onnxruntime)', async () => {
  const rand = rng(99);
  const w1 = rand(6 * 10);
  const b1 = rand(10, 0.1);
  const w2 = rand(10 * 4);
  const b2 = rand(4, 0.1);

  const g = new OnnxGraphBuilder('embedder');
  const x = g.input('features', ['batch', 6]);
  let h = relu(g, dense(g, x, { inDim: 6, outDim: 10, weights: w1, bias: b1 }));
  h = dense(g, h, { inDim: 10, outDim: 4, weights: Array.from(w2), bias: b2, name: 'proj' });
  const emb = l2Normalize(g, h);
  g.output(emb, ['batch', 4]);
  const bytes = g.toBytes({ producer: 'test' });

  const batch = 3;
  const input = rand(batch * 6, 2);
  const out = await run(bytes, { features: new ort.Tensor('float32', input, [batch, 6]) }, emb);
  assert.deepEqual(out.dims, [batch, 4]);
  const got = out.data as Float32Array;

  const rows = Array.from({ length: batch }, (_, n) => Array.from(input.subarray(n * 6, n * 6 + 6)));
  const expected = refL2(refDense(relu2(refDense(rows, w1, b1, 10)), w2, b2, 4));
  assertClose(got, expected);
  for (let n = 0; n < batch; n++) {
    const norm = Math.hypot(...got.subarray(n * 4, n * 4 + 4));
    assert.ok(Math.abs(norm - 1) < TOL, `row ${n} norm ${norm}`);
  }
});

test('attribute typing, int64 initializers and graph validation', async () => {
  const g = new OnnxGraphBuilder('misc');
  const x = g.input('x', [2, 3]);
  // Float attribute forced with a tagged value: 2.0 would otherwise become INT.
  g.node('LeakyRelu', [x], ['y'], { alpha: attr.float(2) });
  const shape = g.initializer({ name: 'shape', dims: [2], data: [3, 2], type: 'int64' });
  g.node('Reshape', ['y', shape], ['z']);
  g.output('z', [3, 2]);
  assert.throws(() => g.node('Relu', ['nope'], ['w']), /not defined/);
  assert.throws(() => g.node('Relu', ['z'], ['y']), /already defined/);
  assert.throws(() => g.initializer({ name: 'bad', dims: [2, 2], data: [1, 2, 3] }), /data length/);
  const bytes = g.toBytes();

  const m = decodeOnnxModel(bytes) as {
    graph: { node: Array<{ attribute?: Array<{ name: string; type: number; f?: number; i?: number }> }> };
  };
  const alpha = m.graph.node[0]?.attribute?.[0];
  assert.equal(alpha?.type, 1); // FLOAT
  assert.equal(alpha?.f, 2);

  const out = await run(bytes, { x: new ort.Tensor('float32', Float32Array.from([-1, 2, -3, 4, -5, 6]), [2, 3]) }, 'z');
  assert.deepEqual(out.dims, [3, 2]);
  assert.deepEqual(Array.from(out.data as Float32Array), [-2, 2, -6, 4, -10, 6]);

  const empty = new OnnxGraphBuilder('bad');
  empty.input('a', [1]);
  empty.output('b', [1]);
  assert.throws(() => empty.toBytes(), /never produced/);
});
