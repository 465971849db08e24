import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from '../src/errors.js';
import {
  iou,
  nonMaxSuppression,
  pyramid,
  pyramidScales,
  resampleArea,
  scoreMapBoxes,
  validateGreyImage,
} from '../src/face/detector.js';
import { type DetectorSpec, detectorSpecSchema } from '../src/face/detector-spec.js';

const SPEC: DetectorSpec = {
  schema: 'edgeloop.face-detector/v1',
  inputName: 'frame',
  outputName: 'scores',
  window: 22,
  stride: 4,
  box: { x: 0.2, y: 0.1, width: 0.6, height: 0.8 },
  minFace: 0.1,
  maxFace: 0.8,
  scaleStep: 1.25,
  threshold: 0.5,
  nmsIou: 0.3,
  nmsContain: 0.6,
  maxFaces: 4,
  mean: 0.5,
  std: 0.25,
};

const box = (x: number, y: number, width: number, height: number, score = 1) => ({ x, y, width, height, score });

test('iou: identical, disjoint, touching, partial and empty boxes', () => {
  assert.equal(iou(box(0, 0, 10, 10), box(0, 0, 10, 10)), 1);
  assert.equal(iou(box(0, 0, 10, 10), box(20, 20, 5, 5)), 0);
  assert.equal(iou(box(0, 0, 10, 10), box(10, 0, 10, 10)), 0);
  assert.ok(Math.abs(iou(box(0, 0, 10, 10), box(5, 0, 10, 10)) - 50 / 150) < 1e-12);
  assert.equal(iou(box(0, 0, 0, 0), box(0, 0, 0, 0)), 0);
});

test('nonMaxSuppression keeps the best of overlapping boxes, drops parts inside faces, caps the count', () => {
  const faces = [box(0, 0, 40, 50, 0.7), box(2, 1, 40, 50, 0.9), box(100, 0, 30, 36, 0.8)];
  assert.deepEqual(nonMaxSuppression(faces, 0.3, 10), [faces[1], faces[2]]);
  // An eye-sized box inside a better face is dropped (IoU alone would keep it).
  const part = box(10, 10, 10, 12, 0.5);
  assert.deepEqual(nonMaxSuppression([...faces, part], 0.3, 10, 0.6), [faces[1], faces[2]]);
  assert.deepEqual(nonMaxSuppression([...faces, part], 0.3, 10), [faces[1], faces[2], part]);
  // A larger box around a better one is not "inside" it and stays unless the IoU is high.
  const loose = box(-20, -20, 90, 100, 0.4);
  assert.deepEqual(nonMaxSuppression([faces[1] as (typeof faces)[number], loose], 0.3, 10, 0.6), [faces[1], loose]);
  assert.deepEqual(nonMaxSuppression(faces, 0.3, 1), [faces[1]]);
  assert.deepEqual(nonMaxSuppression([], 0.3, 5), []);
  // Three faces side by side all survive.
  const row = [box(0, 0, 20, 20, 0.6), box(25, 0, 20, 20, 0.7), box(50, 0, 20, 20, 0.8)];
  assert.equal(nonMaxSuppression(row, 0.3, 5, 0.6).length, 3);
});

test('resampleArea: identity, 2x2 box average, constant images and clamped edges', () => {
  const img = { data: Uint8Array.from({ length: 16 }, (_, i) => i * 10), width: 4, height: 4 };
  assert.deepEqual([...resampleArea(img, { x: 0, y: 0, width: 4, height: 4 }, 4, 4)], [...img.data]);
  const half = resampleArea(img, { x: 0, y: 0, width: 4, height: 4 }, 2, 2);
  const avg = (...i: number[]) => i.reduce((s, k) => s + (img.data[k] as number), 0) / i.length;
  assert.deepEqual([...half], [avg(0, 1, 4, 5), avg(2, 3, 6, 7), avg(8, 9, 12, 13), avg(10, 11, 14, 15)]);
  const flat = { data: new Uint8Array(7 * 5).fill(77), width: 7, height: 5 };
  for (const v of resampleArea(flat, { x: -3.5, y: 1.25, width: 11, height: 9 }, 6, 4)) assert.ok(Math.abs(v - 77) < 1e-3);
  // A region left of the image repeats the first column.
  const left = resampleArea(img, { x: -4, y: 0, width: 2, height: 4 }, 1, 4);
  assert.deepEqual([...left], [0, 40, 80, 120]);
});

test('pyramidScales covers minFace..maxFace of the frame height, largest first, every level ≥ one window', () => {
  const scales = pyramidScales(SPEC, 320, 240);
  assert.ok(scales.length >= 8, `${scales.length} scales`);
  const faceInWindow = SPEC.box.height * SPEC.window;
  assert.ok(Math.abs((scales[0] as number) * SPEC.minFace * 240 - faceInWindow) < 1e-9);
  const last = scales[scales.length - 1] as number;
  assert.ok(last * SPEC.maxFace * 240 <= faceInWindow * Math.sqrt(SPEC.scaleStep) + 1e-9);
  for (let i = 1; i < scales.length; i++) assert.ok(Math.abs((scales[i - 1] as number) / (scales[i] as number) - SPEC.scaleStep) < 1e-9);
  for (const s of scales) assert.ok(Math.round(240 * s) >= SPEC.window);
  assert.deepEqual(pyramidScales(SPEC, 10, 10), []);
  const levels = pyramid({ data: new Uint8Array(320 * 240).fill(255), width: 320, height: 240 }, scales, 0.5, 0.25);
  assert.equal(levels.length, scales.length);
  assert.equal(levels[0]?.width, Math.round(320 * (scales[0] as number)));
  for (const v of Array.from(levels[3]?.data ?? [])) assert.ok(Math.abs(v - 2) < 1e-3); // (1 - 0.5) / 0.25
});

test('scoreMapBoxes maps cells whose logit passes the threshold to corrected boxes in frame pixels', () => {
  // 3x2 map, 5 channels (logit, dx, dy, dw, dh), planar.
  const plane = 6;
  const out = new Float32Array(5 * plane);
  out.set([-2, -1, -0.5, -0.1, 2.2, 0.5]);
  out[plane + 4] = 0.1; // dx of cell 4
  out[3 * plane + 4] = Math.log(2); // dw of cell 4
  out[4 * plane + 5] = 5; // dh of cell 5: clamped to e^1
  const boxes = scoreMapBoxes(out, 3, 2, 0.5, 0.5, SPEC);
  assert.equal(boxes.length, 2);
  const [b, c] = boxes;
  assert.ok(b && c);
  // Cell (row 1, col 1): window at (4, 4) in the half-size level.
  const near = (x: number, y: number): boolean => Math.abs(x - y) < 1e-6;
  assert.ok(near(b.width, 0.6 * 22 * 2 * 2) && near(b.height, 0.8 * 22 * 2), JSON.stringify(b));
  assert.ok(near(b.x, (4 + 22 * 0.6 - 0.6 * 22) * 2) && near(b.y, (4 + 22 * 0.5 - 0.4 * 22) * 2), JSON.stringify(b));
  assert.ok(near(b.score, 1 / (1 + Math.exp(-2.2))));
  assert.ok(near(c.height, 0.8 * 22 * Math.E * 2));
  assert.deepEqual(scoreMapBoxes(new Float32Array(5).fill(Number.NaN), 1, 1, 1, 1, SPEC), []);
});

test('validateGreyImage refuses zero-size images and wrong data lengths with ValidationError', () => {
  validateGreyImage({ data: new Uint8Array(6), width: 3, height: 2 });
  const bad = [
    { data: new Uint8Array(0), width: 0, height: 0 },
    { data: new Uint8Array(0), width: 0, height: 5 },
    { data: new Uint8Array(5), width: 3, height: 2 },
    { data: new Uint8Array(6), width: 1.5, height: 4 },
    { data: [0, 0, 0, 0] as unknown as Uint8Array, width: 2, height: 2 },
  ];
  for (const img of bad) assert.throws(() => validateGreyImage(img), ValidationError);
});

test('detectorSpecSchema is strict: a valid spec round-trips, unknown or missing keys are refused', () => {
  assert.deepEqual(detectorSpecSchema.parse(SPEC), SPEC);
  assert.equal(detectorSpecSchema.safeParse({ ...SPEC, extra: 1 }).success, false);
  assert.equal(detectorSpecSchema.safeParse({ ...SPEC, box: { ...SPEC.box, extra: 1 } }).success, false);
  const { threshold: _t, ...missing } = SPEC;
  assert.equal(detectorSpecSchema.safeParse(missing).success, false);
  assert.equal(detectorSpecSchema.safeParse({ ...SPEC, window: 0 }).success, false);
  assert.equal(detectorSpecSchema.safeParse({ ...SPEC, scaleStep: 1 }).success, false);
});

test('pyramid: shrinking levels (summed-area table) equal plain area resampling of the frame to 1e-6', () => {
  // Deterministic noise with hard edges, odd sizes, so boundaries land everywhere inside pixels.
  const w = 97;
  const h = 61;
  let seed = 12345;
  const rnd = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed >>> 16;
  };
  const data = Uint8Array.from({ length: w * h }, (_, i) => ((i % w) > 40 && Math.floor(i / w) < 20 ? 255 : rnd() & 255));
  const img = { data, width: w, height: h };
  const mean = 0.5;
  const std = 0.25;
  // Shrinking (incl. 1:1, one-pixel and uneven sides), then enlarging and mixed levels (the reference path).
  const scales = [1, 0.999, 0.8, 2 / 3, 0.5, 0.41, 1 / 3, 0.257, 0.1, 1 / 61, 1.3, 2];
  const levels = pyramid(img, scales, mean, std);
  assert.equal(levels.length, scales.length);
  scales.forEach((s, n) => {
    const width = Math.round(w * s);
    const height = Math.round(h * s);
    const level = levels[n];
    assert.ok(level && level.width === width && level.height === height, `level ${n}`);
    const ref = resampleArea(img, { x: 0, y: 0, width: w, height: h }, width, height);
    let worst = 0;
    for (let i = 0; i < ref.length; i++) {
      const want = ((ref[i] as number) / 255 - mean) / std;
      worst = Math.max(worst, Math.abs((level.data[i] as number) - want));
    }
    assert.ok(worst <= 1e-6, `scale ${s} (${width}x${height}): off by ${worst}`);
  });
  // A 320×240 frame through the detector's own scales.
  const big = { data: Uint8Array.from({ length: 320 * 240 }, () => rnd() & 255), width: 320, height: 240 };
  const bigScales = pyramidScales(SPEC, 320, 240);
  pyramid(big, bigScales, mean, std).forEach((level, n) => {
    const ref = resampleArea(big, { x: 0, y: 0, width: 320, height: 240 }, level.width, level.height);
    for (let i = 0; i < ref.length; i++) {
      const want = ((ref[i] as number) / 255 - mean) / std;
      const got = level.data[i] as number;
      if (Math.abs(got - want) > 1e-6) assert.fail(`level ${n} pixel ${i}: ${got} vs ${want}`);
    }
  });
});
