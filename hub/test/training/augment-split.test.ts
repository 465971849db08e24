import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { augmentPhoto } from '../../src/training/pipeline/augment.js';
import { hashUnit, splitDataset } from '../../src/training/pipeline/split.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('augmentation', () => {
  test('5 seeded variants of the original size, different from each other and from the photo', async () => {
    const w = 64;
    const h = 48;
    const px = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) px.set([x * 4, y * 5, x < 20 ? 250 : 10], (y * w + x) * 3);
    const photo = await sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer();
    const a = await augmentPhoto(photo, 5, 42);
    const b = await augmentPhoto(photo, 5, 42);
    assert.equal(a.length, 5);
    assert.deepEqual(
      a.map((v) => v.png.toString('base64')),
      b.map((v) => v.png.toString('base64')),
      'same seed, same variants',
    );
    const raws = new Set<string>();
    for (const v of a) {
      const meta = await sharp(v.png).metadata();
      assert.deepEqual([meta.width, meta.height], [w, h]);
      assert.ok(Math.abs(v.rotation) <= 15 && Math.abs(v.brightness - 1) <= 0.2 && Math.abs(v.contrast - 1) <= 0.2);
      raws.add((await sharp(v.png).raw().toBuffer()).toString('base64'));
    }
    raws.add(px.toString('base64'));
    assert.equal(raws.size, 6);
    assert.ok(a.some((v) => v.flipped) && a.some((v) => !v.flipped), 'some mirrored, some not');
  });
});

describe('dataset split', () => {
  const items = Array.from({ length: 400 }, (_, i) => ({ sha256: sha(`photo-${i}`), label: i % 4 === 0 ? 'defect' : 'good' }));

  test('the holdout is fixed by content: the same photos in every run, new photos join by the same rule', () => {
    const a = splitDataset(items, { holdoutFraction: 0.1, valFraction: 0.2, seed: 1 });
    const b = splitDataset([...items, ...Array.from({ length: 50 }, (_, i) => ({ sha256: sha(`new-${i}`), label: 'good' }))], {
      holdoutFraction: 0.1,
      valFraction: 0.2,
      seed: 2,
    });
    const hold = new Set(a.holdout.map((i) => i.sha256));
    assert.ok(a.holdout.length > 20 && a.holdout.length < 60, `holdout ${a.holdout.length}`);
    for (const s of hold) assert.ok(b.holdout.some((i) => i.sha256 === s), 'still held out in a later run');
    assert.ok(b.holdout.every((i) => hold.has(i.sha256) || i.sha256 !== sha('x')));
    for (const it of [...b.train, ...b.val]) assert.ok(!hold.has(it.sha256), 'a holdout photo never trains');
    assert.ok(a.holdout.every((i) => hashUnit(i.sha256) < 0.1));
  });

  test('train / validation is 80/20 within each class, seeded, and covers everything exactly once', () => {
    const s = splitDataset(items, { holdoutFraction: 0.1, valFraction: 0.2, seed: 7 });
    const all = [...s.train, ...s.val, ...s.holdout].map((i) => i.sha256).sort();
    assert.deepEqual(all, items.map((i) => i.sha256).sort());
    for (const label of ['good', 'defect']) {
      const tr = s.train.filter((i) => i.label === label).length;
      const va = s.val.filter((i) => i.label === label).length;
      assert.ok(Math.abs(va / (tr + va) - 0.2) < 0.02, `${label}: ${va} of ${tr + va} in validation`);
    }
    assert.deepEqual(splitDataset(items, { holdoutFraction: 0.1, valFraction: 0.2, seed: 7 }), s);
    assert.notDeepEqual(splitDataset(items, { holdoutFraction: 0.1, valFraction: 0.2, seed: 8 }).val, s.val);
  });

  test('identities with few photos keep them for training', () => {
    const few = [0, 1, 2].map((i) => ({ sha256: sha(`m-${i}`), label: 'member-1' }));
    const s = splitDataset(few, { holdoutFraction: 1, valFraction: 0.2, seed: 1, minTrainPerLabel: 2 });
    assert.equal(s.holdout.length, 1);
    assert.equal(s.train.length + s.val.length, 2);
  });
});
