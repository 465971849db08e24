import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  FACE_SIZE,
  faceDataset,
  faceIdentity,
  faceVariation,
  NEUTRAL_VARIATION,
  renderFace,
  renderScene,
  sceneFaces,
} from '../../src/training/synthetic/faces.js';

function stats(px: Uint8Array): { min: number; max: number; sd: number } {
  let min = 255;
  let max = 0;
  let sum = 0;
  let sq = 0;
  for (const v of px) {
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    sq += v * v;
  }
  const mean = sum / px.length;
  return { min, max, sd: Math.sqrt(sq / px.length - mean * mean) };
}

/** Normalised cross-correlation, maximised over small shifts (a crude alignment). */
function alignedNcc(a: Uint8Array, b: Uint8Array, w: number, h: number, maxShift = 3): number {
  let best = -1;
  for (let sy = -maxShift; sy <= maxShift; sy++) {
    for (let sx = -maxShift; sx <= maxShift; sx++) {
      let n = 0;
      let sa = 0;
      let sb = 0;
      let saa = 0;
      let sbb = 0;
      let sab = 0;
      for (let y = maxShift; y < h - maxShift; y++) {
        for (let x = maxShift; x < w - maxShift; x++) {
          const va = a[y * w + x] as number;
          const vb = b[(y + sy) * w + x + sx] as number;
          n++;
          sa += va;
          sb += vb;
          saa += va * va;
          sbb += vb * vb;
          sab += va * vb;
        }
      }
      const cov = sab / n - (sa / n) * (sb / n);
      const den = Math.sqrt((saa / n - (sa / n) ** 2) * (sbb / n - (sb / n) ** 2));
      if (den > 0) best = Math.max(best, cov / den);
    }
  }
  return best;
}

test('same seeds give identical faces, different seeds differ', () => {
  const a = renderFace(faceIdentity(3), 7);
  const b = renderFace(faceIdentity(3), 7);
  assert.deepEqual(a, b);
  assert.notDeepEqual(renderFace(faceIdentity(4), 7), a);
  assert.notDeepEqual(renderFace(faceIdentity(3), 8), a);
  assert.deepEqual(faceIdentity(9), faceIdentity(9));
  assert.deepEqual(faceVariation(9), faceVariation(9));
  const d1 = faceDataset({ identities: 3, perIdentity: 2, seed: 42 });
  const d2 = faceDataset({ identities: 3, perIdentity: 2, seed: 42 });
  assert.deepEqual(d1, d2);
  assert.notDeepEqual(faceDataset({ identities: 3, perIdentity: 2, seed: 43 })[0]?.pixels, d1[0]?.pixels);
});

test('faces have the right size and a sane intensity range', () => {
  for (let s = 0; s < 10; s++) {
    const px = renderFace(faceIdentity(s), s + 100);
    assert.equal(px.length, FACE_SIZE.width * FACE_SIZE.height);
    const { min, max, sd } = stats(px);
    assert.ok(max - min > 80, `range ${min}..${max}`);
    assert.ok(sd > 10, `sd ${sd}`);
  }
  const small = renderFace(faceIdentity(1), NEUTRAL_VARIATION, { width: 46, height: 56 });
  assert.equal(small.length, 46 * 56);
  const ds = faceDataset({ identities: 4, perIdentity: 3, seed: 1, width: 64, height: 80 });
  assert.equal(ds.length, 12);
  assert.deepEqual(
    ds.map((s) => s.identity),
    [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3],
  );
  for (const s of ds) assert.equal(s.pixels.length, 64 * 80);
});

test('identity carries signal: same identity is more similar than different identities', () => {
  const { width, height } = FACE_SIZE;
  let same = 0;
  let diff = 0;
  let wins = 0;
  const pairs = 20;
  for (let i = 0; i < pairs; i++) {
    const a = faceIdentity(1000 + i);
    const b = faceIdentity(2000 + i);
    const a1 = renderFace(a, 3000 + i);
    const a2 = renderFace(a, 4000 + i);
    const b2 = renderFace(b, 4000 + i);
    const s = alignedNcc(a1, a2, width, height);
    const d = alignedNcc(a1, b2, width, height);
    same += s / pairs;
    diff += d / pairs;
    if (s > d) wins++;
  }
  assert.ok(same > diff + 0.05, `same ${same.toFixed(3)} vs different ${diff.toFixed(3)}`);
  assert.ok(wins >= 13, `${wins}/${pairs} pairs`);
});

test('renderScene: one box per face, inside the frame and inside its patch', () => {
  let total = 0;
  for (let seed = 0; seed < 12; seed++) {
    const faces = sceneFaces(seed, [1, 2, 3, 4]);
    assert.ok(faces.length <= 3);
    const scene = renderScene({ seed, faces });
    assert.equal(scene.pixels.length, 320 * 240);
    assert.equal(scene.boxes.length, faces.length);
    total += faces.length;
    scene.boxes.forEach((b, k) => {
      const f = faces[k];
      assert.ok(f);
      assert.equal(b.face, k);
      assert.ok(b.x >= 0 && b.y >= 0 && b.w > 0 && b.h > 0);
      assert.ok(b.x + b.w <= scene.width && b.y + b.h <= scene.height);
      assert.ok(b.x >= f.x && b.y >= f.y && b.x + b.w <= f.x + f.width && b.y + b.h <= f.y + (f.height ?? f.width));
      assert.ok(b.w * b.h > 0.2 * f.width * (f.height ?? f.width), 'face oval fills a good part of the head patch');
    });
  }
  assert.ok(total > 6, 'scenes contain faces');
  const explicit = renderScene({
    seed: 5,
    width: 400,
    height: 300,
    faces: [
      { identity: 1, x: 10, y: 10, width: 80 },
      { identity: faceIdentity(2), x: 150, y: 60, width: 60, variation: NEUTRAL_VARIATION },
      { identity: 3, x: 280, y: 120, width: 100, variation: 17 },
    ],
  });
  assert.equal(explicit.boxes.length, 3);
  assert.equal(explicit.pixels.length, 400 * 300);
  assert.deepEqual(renderScene({ seed: 5, faces: sceneFaces(5, [1]) }), renderScene({ seed: 5, faces: sceneFaces(5, [1]) }));
  // A face hanging off the edge gets a clipped box; an empty scene gets none.
  const clipped = renderScene({ seed: 1, faces: [{ identity: 1, x: -30, y: 200, width: 80 }] });
  for (const b of clipped.boxes) assert.ok(b.x >= 0 && b.y + b.h <= 240);
  assert.equal(renderScene({ seed: 2, faces: [] }).boxes.length, 0);
});
