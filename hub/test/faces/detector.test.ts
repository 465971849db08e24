/**
 * Face detector end to end: trained with the small 'test' budget, exported to ONNX, run through
 * onnxruntime by the device's FaceDetector on scenes it never saw.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DEFAULT_CROP, ValidationError } from '@edgeloop/shared';
import { detectorSpecSchema } from '../../../shared/src/face/detector-spec.js';
import { FaceDetector, iou } from '../../../shared/src/face/detector.js';
import type { FaceBox } from '../../../shared/src/face/types.js';
import { enrolmentCrop, withBorder } from '../../src/faces/enrolment-crop.js';
import { type DetectorTrainingResult, trainFaceDetector } from '../../src/training/faces/detector-training.js';
import { encodeImage } from '../../src/training/synthetic/encode.js';
import { faceVariation, renderScene, type Scene, type SceneFace } from '../../src/training/synthetic/faces.js';

let trained: DetectorTrainingResult;
let detector: FaceDetector;

before(async () => {
  trained = await trainFaceDetector({ seed: 7, budget: 'test' });
  detector = await FaceDetector.load(trained.onnx, trained.spec);
  console.log(`face detector (test budget): ${trained.seconds.toFixed(1)} s on ${trained.backend}, threshold ${trained.spec.threshold}, held-out`, trained.metrics);
});

after(async () => {
  await detector?.release();
});

/** A face whose head patch is `width` wide with its top-left corner at (x, y); identities unseen in training. */
function face(k: number, x: number, y: number, width: number): SceneFace {
  return { identity: 70_001 + k, x, y, width, variation: faceVariation(500 + k, 0.4) };
}

async function detect(scene: Scene): Promise<FaceBox[]> {
  return detector.detect({ data: scene.pixels, width: scene.width, height: scene.height });
}

/** Every ground-truth face is matched by a distinct detection with IoU ≥ 0.4; returns the unmatched detections. */
function assertFound(scene: Scene, dets: FaceBox[]): FaceBox[] {
  const left = [...dets];
  for (const b of scene.boxes) {
    const gt = { x: b.x, y: b.y, width: b.w, height: b.h };
    const best = left.map((d) => iou(d, gt)).reduce((m, v, i, all) => (v > (all[m] ?? -1) ? i : m), -1);
    const score = best >= 0 ? iou(left[best] as FaceBox, gt) : 0;
    assert.ok(score >= 0.4, `face ${JSON.stringify(gt)} not found (best IoU ${score.toFixed(2)}) in ${JSON.stringify(dets)}`);
    left.splice(best, 1);
  }
  return left;
}

test('the trained detector is a strict spec plus ONNX bytes, with held-out metrics', () => {
  assert.deepEqual(detectorSpecSchema.parse(trained.spec), trained.spec);
  assert.ok(trained.onnx instanceof Uint8Array && trained.onnx.length > 1000);
  for (const v of [trained.metrics.recall, trained.metrics.precision]) assert.ok(v >= 0 && v <= 1);
  assert.ok(trained.metrics.faces > 0);
});

test('no face in a face-free scene', async () => {
  for (const seed of [11, 12]) {
    const dets = await detect(renderScene({ seed, faces: [] }));
    assert.deepEqual(dets, [], `seed ${seed}`);
  }
});

test('one centred face', async () => {
  const scene = renderScene({ seed: 21, faces: [face(0, 160 - 45, 120 - 55, 90)] });
  assert.equal(scene.boxes.length, 1);
  const extra = assertFound(scene, await detect(scene));
  assert.deepEqual(extra, []);
});

test('one small off-centre face', async () => {
  const scene = renderScene({ seed: 22, faces: [face(1, 236, 28, 44)] });
  assert.equal(scene.boxes.length, 1);
  const extra = assertFound(scene, await detect(scene));
  assert.deepEqual(extra, []);
});

test('three faces of different sizes', async () => {
  const scene = renderScene({ seed: 23, faces: [face(2, 12, 40, 104), face(3, 140, 90, 66), face(4, 238, 20, 44)] });
  assert.equal(scene.boxes.length, 3);
  const extra = assertFound(scene, await detect(scene));
  assert.ok(extra.length <= 1, `false detections: ${JSON.stringify(extra)}`);
});

test('bad input is refused with ValidationError', async () => {
  await assert.rejects(detector.detect({ data: new Uint8Array(0), width: 0, height: 0 }), ValidationError);
  await assert.rejects(detector.detect({ data: new Uint8Array(10), width: 320, height: 240 }), ValidationError);
  // A frame smaller than one window has nothing to search.
  assert.deepEqual(await detector.detect({ data: new Uint8Array(100), width: 10, height: 10 }), []);
});

test('a tight head shot (the face fills the photo) is found for enrolment inside a border of its mean grey', async () => {
  const scene = renderScene({ seed: 24, faces: [face(5, 100, 40, 120)] });
  const b = scene.boxes[0];
  assert.ok(b, 'the scene has its face');
  // Cut the photo to the face box, a little wider: the face now fills it, larger than any detector window.
  const x0 = Math.max(0, Math.round(b.x - b.w * 0.05));
  const y0 = Math.max(0, Math.round(b.y - b.h * 0.05));
  const w = Math.min(scene.width - x0, Math.round(b.w * 1.1));
  const h = Math.min(scene.height - y0, Math.round(b.h * 1.1));
  const tight = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) tight.set(scene.pixels.subarray((y0 + y) * scene.width + x0, (y0 + y) * scene.width + x0 + w), y * w);
  assert.deepEqual(await detector.detect({ data: tight, width: w, height: h }), [], 'too large for the detector as it is');
  const framed = withBorder({ data: tight, width: w, height: h }, 0.25);
  assert.equal(framed.width, w + 2 * Math.round(w * 0.25));
  assert.equal(framed.data[0], framed.data[framed.data.length - 1], 'the border is one grey');
  const photo = await encodeImage(tight, w, h, 'png');
  const crop = await enrolmentCrop(photo, detector, { crop: DEFAULT_CROP }, { width: 46, height: 56 });
  assert.equal(crop.detected, true, 'found once framed');
  assert.equal(crop.crop.width, 46);
});
