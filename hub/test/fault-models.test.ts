import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { OnnxModel, openImage, preprocessImage } from '@edgeloop/shared';
import { buildBootstrapModel } from '../src/training/bootstrap-models.js';
import { type FaultKind, buildFaultModel } from '../src/training/fault-models.js';
import { decodeOnnxModel } from '../src/training/onnx/onnx-writer.js';

// Real images, encoded by sharp (through @edgeloop/shared: hub does not depend on sharp directly).
// A textured 64×64 colour JPEG, and a flat mid-grey PNG (the smallest non-zero input after normalisation).
let textured: Buffer;
let flatGrey: Buffer;
const bootstrap = buildBootstrapModel('laundry');
let control: OnnxModel;

function ppm(width: number, height: number, pixel: (i: number) => number): Buffer {
  const px = Buffer.alloc(width * height * 3);
  for (let i = 0; i < px.length; i++) px[i] = pixel(i);
  return Buffer.concat([Buffer.from(`P6\n${width} ${height}\n255\n`), px]);
}

before(async () => {
  textured = await openImage(ppm(64, 64, (i) => (i * 37 + (i >> 6) * 11) % 256)).jpeg({ quality: 90 }).toBuffer();
  flatGrey = await openImage(ppm(64, 64, () => 128)).png().toBuffer();
  control = await OnnxModel.load(bootstrap.onnx, bootstrap.preprocess);
});
after(async () => {
  await control.release();
});

const zeros = (): Float32Array => {
  const { channels, height, width } = bootstrap.preprocess;
  return new Float32Array(channels * height * width);
};

/** The agent's warm-up: one inference on an all-zero tensor, whose output must be finite. */
async function assertWarmsUp(model: OnnxModel): Promise<void> {
  const out = await model.runTensor(zeros());
  assert.equal(out.length, 2);
  assert.ok(out.every(Number.isFinite), `warm-up output ${Array.from(out)}`);
}

async function withFault<T>(kind: FaultKind, fn: (model: OnnxModel) => Promise<T>): Promise<T> {
  const f = buildFaultModel(kind);
  const model = await OnnxModel.load(f.onnx, f.preprocess);
  try {
    return await fn(model);
  } finally {
    await model.release();
  }
}

async function medianMs(fn: () => Promise<unknown>, runs: number): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let k = 0; k < runs; k++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(runs / 2)] as number;
}

const isSoftmax = (out: Float32Array): boolean =>
  out.length === 2 && out.every((v) => Number.isFinite(v) && v >= 0 && v <= 1) && Math.abs((out[0] as number) + (out[1] as number) - 1) < 1e-5;

test('control: the bootstrap laundry network warms up and stays finite on real images', async () => {
  await assertWarmsUp(control);
  for (const img of [textured, flatGrey]) assert.ok(isSoftmax(await control.runImage(img)));
});

test('fault models are shaped like the bootstrap laundry network, deterministic and small', () => {
  for (const kind of ['throws', 'nan', 'slow'] as const) {
    const f = buildFaultModel(kind, 7);
    assert.equal(f.modelType, 'laundry');
    assert.deepEqual(f.preprocess, bootstrap.preprocess);
    assert.deepEqual(f.labels, bootstrap.labels);
    assert.deepEqual(buildFaultModel(kind, 7).onnx, f.onnx, `${kind}: same seed, same bytes`);
    assert.notDeepEqual(buildFaultModel(kind, 8).onnx, f.onnx, `${kind}: other seed, other weights`);
    assert.ok(f.onnx.length < 5 * 1024 * 1024, `${kind}: ${f.onnx.length} bytes`);
  }
});

test("'throws' passes warm-up, then onnxruntime raises on any real image", async () => {
  await withFault('throws', async (model) => {
    await assertWarmsUp(model);
    for (const img of [textured, flatGrey]) await assert.rejects(model.runImage(img), /Gather|out of data bounds/);
    await assertWarmsUp(model); // the session itself survives the failure
  });
});

test("'nan' passes warm-up, then outputs NaN on any real image", async () => {
  await withFault('nan', async (model) => {
    await assertWarmsUp(model);
    for (const img of [textured, flatGrey]) {
      const out = await model.runImage(img);
      assert.ok(out.some(Number.isNaN), `output ${Array.from(out)}`);
    }
  });
});

test("'slow' passes warm-up and gives valid probabilities, but only after a chain of 64 MatMuls of 256×256 (its latency is printed, not asserted)", async () => {
  // The cost is asserted on the graph, which is deterministic; timings on a shared 2-core machine are not.
  const graph = decodeOnnxModel(buildFaultModel('slow').onnx).graph as { node: { op_type: string; input: string[] }[]; initializer: { name: string; dims?: number[] }[] };
  const dims = new Map(graph.initializer.map((t) => [t.name, (t.dims ?? []).map(Number)]));
  const square = graph.node.filter((n) => n.op_type === 'MatMul' && JSON.stringify(dims.get(n.input[1] ?? '')) === '[256,256]');
  assert.ok(square.length >= 64, `${square.length} MatMuls of 256×256`);
  const bootstrapOps = (decodeOnnxModel(bootstrap.onnx).graph as { node: { op_type: string }[] }).node.filter((n) => n.op_type === 'MatMul');
  assert.ok(bootstrapOps.length < 4, 'the bootstrap network has no such chain');
  await withFault('slow', async (model) => {
    await assertWarmsUp(model);
    const out = await model.runImage(textured);
    assert.ok(isSoftmax(out), `output ${Array.from(out)}`);

    // End to end (decode + preprocess + inference), as the agent serves an image.
    const slowImage = await medianMs(() => model.runImage(textured), 10);
    const fastImage = await medianMs(() => control.runImage(textured), 10);
    // The network alone, on the same preprocessed image.
    const tensor = await preprocessImage(textured, bootstrap.preprocess);
    const slowNet = await medianMs(() => model.runTensor(tensor), 10);
    const fastNet = await medianMs(() => control.runTensor(tensor), 10);
    const fmt = (ms: number): string => `${ms.toFixed(2)} ms`;
    console.log(
      `median latency: runImage slow ${fmt(slowImage)} vs bootstrap ${fmt(fastImage)} (${(slowImage / fastImage).toFixed(1)}×); ` +
        `runTensor slow ${fmt(slowNet)} vs bootstrap ${fmt(fastNet)} (${(slowNet / fastNet).toFixed(1)}×)`,
    );
  });
});
