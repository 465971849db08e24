import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { classifyLaundry, DEFAULT_TILE_OPTIONS, EdgeloopError, OnnxModel, type PreprocessSpec, ValidationError, openImage, preprocessImage } from '@edgeloop/shared';
import { buildBootstrapModel } from '../src/training/bootstrap-models.js';
import { conv2d, dense, flatten, softmax } from '../src/training/onnx/layers.js';
import { OnnxGraphBuilder } from '../src/training/onnx/onnx-writer.js';


const LABELS = ['good', 'defect'];
const SPEC: PreprocessSpec = buildBootstrapModel('laundry', 1).preprocess; // 3×64×64, mean 0.5, std 0.25

/**
 * A tiny real ONNX "stain detector": darkness = -(r+g+b)/3 per pixel, averaged over every 6×6
 * window, maximum over windows, then defect logit = 4 × that maximum. A spot that fills a 6×6
 * window of the 64×64 input (≈ 10% of the image side) scores 'defect'; the same spot shrunk to
 * 2–3 pixels by a resize of the whole photo is averaged away with the light fabric around it.
 */
function stainDetectorOnnx(): Uint8Array {
  const g = new OnnxGraphBuilder('stain-detector');
  let x = g.input(SPEC.inputName, ['batch', 3, 64, 64]);
  x = conv2d(g, x, { inChannels: 3, filters: 1, kernel: 1, weights: [-1 / 3, -1 / 3, -1 / 3], bias: [0] });
  g.node('AveragePool', [x], ['local'], { kernel_shape: [6, 6], strides: [1, 1] });
  g.node('GlobalMaxPool', ['local'], ['darkest']);
  x = flatten(g, 'darkest');
  x = dense(g, x, { inDim: 1, outDim: 2, weights: [0, 4], bias: [0, 0] });
  x = softmax(g, x);
  g.node('Identity', [x], [SPEC.outputName]);
  g.output(SPEC.outputName, ['batch', 2]);
  return g.toBytes();
}

const SIZE = 1024;
const STAIN = { x: 610, y: 290, w: 40, h: 40 };

/** A light, slightly textured fabric photo (JPEG), optionally with one dark 40×40 stain. */
async function fabricPhoto(stain: boolean): Promise<Buffer> {
  const raw = Buffer.alloc(SIZE * SIZE * 3);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const weave = ((x >> 1) + (y >> 1)) % 2 === 0 ? 12 : -12;
      const dark = stain && x >= STAIN.x && x < STAIN.x + STAIN.w && y >= STAIN.y && y < STAIN.y + STAIN.h;
      const v = dark ? 45 : 205 + weave;
      const i = (y * SIZE + x) * 3;
      raw[i] = v;
      raw[i + 1] = v - 5;
      raw[i + 2] = v - 10;
    }
  }
  return openImage(ppm(SIZE, SIZE, raw)).jpeg({ quality: 90 }).toBuffer();
}

/** Binary PPM bytes (openImage reads them; this package does not depend on sharp directly). */
function ppm(width: number, height: number, rgb: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`P6\n${width} ${height}\n255\n`, 'latin1'), rgb]);
}

function flatPng(width: number, height: number, grey: number): Promise<Buffer> {
  return openImage(ppm(width, height, Buffer.alloc(width * height * 3, grey))).png().toBuffer();
}

describe('classifyLaundry with a real ONNX network', () => {
  let detector: OnnxModel;
  let stained: Buffer;
  let clean: Buffer;

  before(async () => {
    detector = await OnnxModel.load(stainDetectorOnnx(), SPEC);
    [stained, clean] = await Promise.all([fabricPhoto(true), fabricPhoto(false)]);
  });
  after(async () => {
    await detector.release();
  });

  test('a small stain on a large photo is found by the tiles and missed by one resize of the whole photo', async () => {
    const wholeOnly = await detector.runTensor(await preprocessImage(stained, SPEC), 1);
    const wholeDefect = wholeOnly[1] as number;
    assert.ok(wholeDefect < 0.5, `whole-photo path should miss the stain (defect ${wholeDefect})`);

    const res = await classifyLaundry(detector, LABELS, stained, SPEC);
    assert.equal(res.label, 'defect');
    assert.ok(res.defectScore >= 0.5 && res.defectScore > wholeDefect, `tiled defect ${res.defectScore} vs whole ${wholeDefect}`);
    assert.equal(res.confidence, res.defectScore);
    assert.equal(res.scores.defect, res.defectScore);
    assert.ok(res.tiles > 1 && res.tiles <= DEFAULT_TILE_OPTIONS.maxTiles, `${res.tiles} tiles`);
    const t = res.worstTile;
    assert.ok(t, 'a tile is the worst');
    assert.ok(
      t.x <= STAIN.x && t.y <= STAIN.y && t.x + t.w >= STAIN.x + STAIN.w && t.y + t.h >= STAIN.y + STAIN.h,
      `worst tile ${JSON.stringify(t)} does not contain the stain ${JSON.stringify(STAIN)}`,
    );
  });

  test('a clean photo is good', async () => {
    const res = await classifyLaundry(detector, LABELS, clean, SPEC);
    assert.equal(res.label, 'good');
    assert.ok(res.defectScore < 0.5);
    assert.equal(res.confidence, 1 - res.defectScore);
    assert.ok(res.tiles > 1);
  });

  test('the worst tile is reported in original-photo pixels when the photo is downscaled first', async () => {
    const res = await classifyLaundry(detector, LABELS, stained, SPEC, { maxSide: 512 });
    assert.equal(res.label, 'defect');
    const t = res.worstTile;
    assert.ok(t);
    const cx = STAIN.x + STAIN.w / 2;
    const cy = STAIN.y + STAIN.h / 2;
    assert.ok(t.x <= cx && cx <= t.x + t.w && t.y <= cy && cy <= t.y + t.h, `${JSON.stringify(t)} misses the stain centre`);
    assert.ok(t.x + t.w <= SIZE && t.y + t.h <= SIZE);
  });

  test('the bootstrap laundry network runs all tiles and the whole photo in one batch', async () => {
    const boot = buildBootstrapModel('laundry', 7);
    const net = await OnnxModel.load(boot.onnx, boot.preprocess);
    try {
      const calls: number[] = [];
      const counting = {
        runTensor: (d: Float32Array, batch: number) => {
          calls.push(batch);
          assert.equal(d.length, batch * 3 * 64 * 64);
          return net.runTensor(d, batch);
        },
      };
      const res = await classifyLaundry(counting, boot.labels, stained, boot.preprocess, { maxTiles: 9 });
      assert.deepEqual(calls, [res.tiles + 1]);
      assert.ok(res.tiles > 1 && res.tiles <= 9);
      assert.ok(Number.isFinite(res.defectScore) && res.defectScore >= 0 && res.defectScore <= 1);
      assert.ok(Math.abs((res.scores.good ?? 0) + (res.scores.defect ?? 0) - 1) < 1e-5);
      assert.equal(res.label, res.defectScore >= 0.5 ? 'defect' : 'good');
    } finally {
      await net.release();
    }
  });
});

describe('classifyLaundry edge cases', () => {
  const constant = (values: number[]) => ({
    runTensor: async (_d: Float32Array, batch: number) => Float32Array.from({ length: batch * values.length }, (_, i) => values[i % values.length] as number),
  });

  test('a photo that fits in one tile runs once, with no tiles', async () => {
    const small = await flatPng(100, 80, 0xdd);
    const calls: number[] = [];
    const res = await classifyLaundry(
      {
        runTensor: async (_d, batch) => {
          calls.push(batch);
          return new Float32Array(batch * 2).fill(0.5);
        },
      },
      LABELS,
      small,
      SPEC,
      { tile: 256 },
    );
    assert.deepEqual(calls, [1]);
    assert.equal(res.tiles, 0);
    assert.equal(res.worstTile, null);
    assert.equal(res.label, 'defect'); // 0.5 ≥ threshold
  });

  test('non-finite network output throws; garbage image is a ValidationError; labels without defect throw', async () => {
    const photo = await flatPng(300, 300, 0xee);
    await assert.rejects(classifyLaundry(constant([Number.NaN, 0.5]), LABELS, photo, SPEC), EdgeloopError);
    await assert.rejects(classifyLaundry(constant([0.5, Number.POSITIVE_INFINITY]), LABELS, photo, SPEC), /non-finite/);
    await assert.rejects(classifyLaundry(constant([0.5]), LABELS, photo, SPEC), /scores/);
    await assert.rejects(classifyLaundry(constant([0.5, 0.5]), LABELS, Buffer.from('nope'), SPEC), ValidationError);
    await assert.rejects(classifyLaundry(constant([0.5, 0.5]), ['ok', 'torn'], photo, SPEC), /defect/);
  });
});
