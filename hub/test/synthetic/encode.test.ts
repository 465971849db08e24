import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeNetpbm, openImage } from '@edgeloop/shared';
import { encodeImage, toNetpbm, writeDataset } from '../../src/training/synthetic/encode.js';
import { faceDataset, faceIdentity, renderFace } from '../../src/training/synthetic/faces.js';
import { laundryDataset, laundryImage } from '../../src/training/synthetic/laundry.js';

test('netpbm bytes round-trip through the shared decoder', () => {
  const grey = renderFace(faceIdentity(1), 2);
  const pgm = decodeNetpbm(toNetpbm(grey, 92, 112));
  assert.equal(pgm.channels, 1);
  assert.deepEqual(new Uint8Array(pgm.pixels), grey);
  const rgb = laundryImage({ seed: 1, defect: 'tear', width: 40, height: 30 });
  const ppm = decodeNetpbm(toNetpbm(rgb.pixels, 40, 30));
  assert.equal(ppm.channels, 3);
  assert.deepEqual(new Uint8Array(ppm.pixels), rgb.pixels);
  assert.throws(() => toNetpbm(new Uint8Array(10), 4, 4), RangeError);
});

test('encodeImage produces decodable PNG and JPEG of the right size', async () => {
  const grey = renderFace(faceIdentity(1), 2);
  const rgb = laundryImage({ seed: 1, defect: 'stain', width: 64, height: 48 }).pixels;
  for (const format of ['png', 'jpeg'] as const) {
    const g = await openImage(await encodeImage(grey, 92, 112, format)).metadata();
    assert.equal(g.format, format);
    assert.equal(g.width, 92);
    assert.equal(g.height, 112);
    assert.equal(g.channels, 1);
    const c = await openImage(await encodeImage(rgb, 64, 48, format)).metadata();
    assert.equal(c.format, format);
    assert.equal(c.width, 64);
    assert.equal(c.height, 48);
    assert.equal(c.channels, 3);
  }
  // PNG is lossless: decoding gives the pixels back.
  const back = await openImage(await encodeImage(grey, 92, 112, 'png')).extractChannel(0).raw().toBuffer();
  assert.deepEqual(new Uint8Array(back), grey);
});

test('writeDataset writes <identity>/<n> and good/ + defect/ folders', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'synthetic-'));
  try {
    const faces = faceDataset({ identities: 3, perIdentity: 2, seed: 4, width: 46, height: 56 });
    const res = await writeDataset(join(dir, 'faces'), faces, 'png');
    assert.deepEqual(res.counts, { s1: 2, s2: 2, s3: 2 });
    assert.deepEqual((await readdir(join(dir, 'faces'))).sort(), ['s1', 's2', 's3']);
    assert.deepEqual((await readdir(join(dir, 'faces', 's2'))).sort(), ['1.png', '2.png']);
    const meta = await openImage(await readFile(join(dir, 'faces', 's3', '2.png'))).metadata();
    assert.equal(meta.width, 46);
    assert.equal(meta.height, 56);

    const laundry = laundryDataset({ count: 5, defectRatio: 0.4, seed: 2, width: 32, height: 32 });
    const lres = await writeDataset(join(dir, 'laundry'), laundry, 'jpeg');
    assert.deepEqual(lres.counts, { good: 3, defect: 2 });
    assert.deepEqual((await readdir(join(dir, 'laundry'))).sort(), ['defect', 'good']);
    assert.deepEqual((await readdir(join(dir, 'laundry', 'good'))).sort(), ['1.jpg', '2.jpg', '3.jpg']);
    assert.deepEqual((await readdir(join(dir, 'laundry', 'defect'))).sort(), ['1.jpg', '2.jpg']);

    await writeDataset(join(dir, 'pnm'), faces.slice(0, 1), 'pnm');
    assert.deepEqual(await readdir(join(dir, 'pnm', 's1')), ['1.pgm']);
    await assert.rejects(writeDataset(join(dir, 'bad'), [{ ...faces[0], label: '../x' } as (typeof faces)[0] & { label: string }]), RangeError);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
