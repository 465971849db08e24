import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PreprocessSpec } from '../src/contracts/manifest.js';
import { ValidationError } from '../src/errors.js';
import { openImage } from '../src/image/decode.js';
import { pixelsToTensor, preprocessImage } from '../src/image/preprocess.js';
import { type TileBox, type TilePlan, imageTiles, planTiles } from '../src/image/tiles.js';

function spec(over: Partial<PreprocessSpec> = {}): PreprocessSpec {
  return { width: 16, height: 16, channels: 3, mean: [0, 0, 0], std: [1, 1, 1], inputName: 'input', outputName: 'output', ...over };
}

function assertCovers(plan: TilePlan, width: number, height: number): void {
  const step = Math.max(1, Math.floor(Math.min(width, height) / 37));
  const xs = [...Array.from({ length: Math.ceil(width / step) }, (_, i) => i * step), width - 1];
  const ys = [...Array.from({ length: Math.ceil(height / step) }, (_, i) => i * step), height - 1];
  for (const y of ys) {
    for (const x of xs) {
      assert.ok(
        plan.boxes.some((b) => x >= b.x && x < b.x + b.w && y >= b.y && y < b.y + b.h),
        `${width}x${height}: pixel (${x}, ${y}) is in no tile`,
      );
    }
  }
}

function assertInside(plan: TilePlan, width: number, height: number): void {
  for (const b of plan.boxes) {
    assert.ok(Number.isInteger(b.x) && Number.isInteger(b.y) && Number.isInteger(b.w) && Number.isInteger(b.h), JSON.stringify(b));
    assert.ok(b.x >= 0 && b.y >= 0 && b.w >= 1 && b.h >= 1, JSON.stringify(b));
    assert.ok(b.x + b.w <= width && b.y + b.h <= height, `${JSON.stringify(b)} leaves ${width}x${height}`);
  }
}

const SIZES: [number, number][] = [
  [1024, 1024],
  [4000, 3000],
  [2048, 1536],
  [1000, 260],
  [257, 1999],
  [513, 512],
  [100, 5000],
];

describe('planTiles', () => {
  test('covers every pixel with boxes inside the image, border tiles aligned to the border', () => {
    for (const [w, h] of SIZES) {
      for (const overlap of [0, 0.25, 0.5]) {
        const plan = planTiles(w, h, { tile: 256, overlap, maxTiles: 16 });
        assertInside(plan, w, h);
        assertCovers(plan, w, h);
        assert.equal(plan.boxes.length, plan.columns * plan.rows);
        assert.equal(Math.max(...plan.boxes.map((b) => b.x + b.w)), w);
        assert.equal(Math.max(...plan.boxes.map((b) => b.y + b.h)), h);
        assert.equal(Math.min(...plan.boxes.map((b) => b.x)), 0);
        assert.equal(Math.min(...plan.boxes.map((b) => b.y)), 0);
      }
    }
  });

  test('neighbouring tiles overlap by at least overlap × tile', () => {
    for (const [w, h] of SIZES) {
      for (const overlap of [0.1, 0.25, 0.5]) {
        const plan = planTiles(w, h, { tile: 200, overlap, maxTiles: 64 });
        const xs = [...new Set(plan.boxes.map((b) => b.x))].sort((a, b) => a - b);
        const ys = [...new Set(plan.boxes.map((b) => b.y))].sort((a, b) => a - b);
        assert.equal(xs.length, plan.columns);
        assert.equal(ys.length, plan.rows);
        for (const axis of [xs, ys]) {
          for (let i = 1; i < axis.length; i++) {
            const step = (axis[i] as number) - (axis[i - 1] as number);
            assert.ok(step >= 1 && step <= plan.stride, `step ${step} > stride ${plan.stride}`);
            assert.ok(plan.tile - step >= Math.floor(overlap * plan.tile), `${w}x${h}@${overlap}: overlap ${plan.tile - step} < ${overlap} × ${plan.tile}`);
          }
        }
      }
    }
  });

  test('square tiles of the requested side when the image is larger than a tile both ways', () => {
    const plan = planTiles(1000, 800, { tile: 200, overlap: 0.25, maxTiles: 100 });
    assert.equal(plan.tile, 200);
    assert.equal(plan.stride, 150);
    assert.ok(plan.boxes.every((b) => b.w === 200 && b.h === 200));
    assert.equal(plan.columns, 7); // ceil((1000 - 200) / 150) + 1
    assert.equal(plan.rows, 5); // ceil((800 - 200) / 150) + 1
  });

  test('a narrow image gets square tiles the size of its short side', () => {
    const plan = planTiles(300, 2000, { tile: 512, overlap: 0.25, maxTiles: 16 });
    assert.equal(plan.columns, 1);
    assert.ok(plan.boxes.every((b) => b.w === 300 && b.h === 300));
  });

  test('an image no larger than a tile is one box of the whole image', () => {
    for (const [w, h] of [
      [256, 256],
      [100, 40],
      [1, 1],
    ] as const) {
      const plan = planTiles(w, h, { tile: 256, overlap: 0.25, maxTiles: 16 });
      assert.deepEqual(plan.boxes, [{ x: 0, y: 0, w, h }]);
      assert.equal(plan.columns, 1);
      assert.equal(plan.rows, 1);
    }
  });

  test('maxTiles is respected by growing the tile, to the smallest tile that fits', () => {
    for (const [w, h] of SIZES) {
      for (const maxTiles of [1, 2, 4, 9, 16]) {
        const plan = planTiles(w, h, { tile: 64, overlap: 0.25, maxTiles });
        assert.ok(plan.boxes.length <= maxTiles, `${w}x${h}: ${plan.boxes.length} tiles > ${maxTiles}`);
        assertInside(plan, w, h);
        assertCovers(plan, w, h);
        if (plan.tile > 64 && plan.tile > 1) {
          const smaller = planTiles(w, h, { tile: plan.tile - 1, overlap: 0.25, maxTiles: 1e9 });
          assert.ok(smaller.boxes.length > maxTiles, `${w}x${h}: tile ${plan.tile - 1} would also fit ${maxTiles}`);
        }
      }
    }
    assert.deepEqual(planTiles(4000, 3000, { tile: 64, overlap: 0.25, maxTiles: 1 }).boxes, [{ x: 0, y: 0, w: 4000, h: 3000 }]);
  });

  test('rejects nonsense sizes', () => {
    assert.throws(() => planTiles(0, 10, { tile: 4, overlap: 0.25, maxTiles: 4 }), RangeError);
    assert.throws(() => planTiles(10, 10, { tile: 0, overlap: 0.25, maxTiles: 4 }), RangeError);
    assert.throws(() => planTiles(10, 10, { tile: 4, overlap: 0.25, maxTiles: 0 }), RangeError);
  });
});

/** A W×H RGB PNG made from PPM bytes: left half black, right half white. */
async function halfBlackPng(width: number, height: number): Promise<Buffer> {
  const header = Buffer.from(`P6\n${width} ${height}\n255\n`, 'latin1');
  const px = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = width / 2; x < width; x++) px.fill(255, (y * width + x) * 3, (y * width + x) * 3 + 3);
  return openImage(Buffer.concat([header, px])).png().toBuffer();
}

/** Largest and mean absolute difference, in the spec's normalised units (std 1 here: ×255 = grey levels). */
function diff(a: Float32Array, b: Float32Array): { max: number; mean: number } {
  assert.equal(a.length, b.length);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number));
    max = Math.max(max, d);
    sum += d;
  }
  return { max, mean: sum / a.length };
}

/**
 * A W×H textured RGB photo (PNG): smooth colour waves, a fine weave and a little deterministic noise,
 * optionally with one dark square "stain".
 */
async function texturedPng(width: number, height: number, stain?: { x: number; y: number; side: number }): Promise<Buffer> {
  const header = Buffer.from(`P6\n${width} ${height}\n255\n`, 'latin1');
  const px = Buffer.alloc(width * height * 3);
  let seed = 12345;
  const noise = (): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return ((seed >>> 16) & 0xff) / 255 - 0.5;
  };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const wave = 40 * Math.sin(x / 7) * Math.cos(y / 11) + 25 * Math.sin((x + 2 * y) / 17);
      const weave = ((x >> 1) + (y >> 1)) % 2 === 0 ? 6 : -6;
      const dark = stain && x >= stain.x && x < stain.x + stain.side && y >= stain.y && y < stain.y + stain.side;
      const i = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) {
        const v = dark ? 30 + 8 * noise() : 150 + wave * (1 - 0.3 * c) + weave + 12 * noise() + 15 * c;
        px[i + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  return openImage(Buffer.concat([header, px])).png().toBuffer();
}

function mean(a: Float32Array): number {
  let s = 0;
  for (const v of a) s += v;
  return s / a.length;
}

describe('imageTiles', () => {
  test('batch holds every tile, whole matches preprocessImage, a tile has the content of its box', async () => {
    const png = await halfBlackPng(400, 200);
    const s = spec();
    const per = 3 * 16 * 16;
    const res = await imageTiles(png, s, { tile: 100, overlap: 0.25, maxTiles: 16 });
    const n = res.plan.boxes.length;
    assert.equal(res.width, 400);
    assert.equal(res.height, 200);
    assert.equal(res.scale, 1);
    assert.ok(n > 1 && n <= 16);
    assert.equal(res.batch.length, n * per);
    assert.equal(res.whole.length, per);
    assert.equal(res.batch.length + res.whole.length, (n + 1) * per);

    // Not bit-exact with preprocessImage (see imageTiles): close on average, a little softer at the edge.
    const expectedWhole = await preprocessImage(png, s);
    const wd = diff(res.whole, expectedWhole);
    assert.ok(wd.mean <= 3 / 255 && wd.max <= 24 / 255, `whole differs from preprocessImage by ${JSON.stringify(wd)}`);
    assert.ok(Math.abs(mean(res.whole) - 0.5) < 0.01, `whole mean ${mean(res.whole)}`);

    for (let i = 0; i < n; i++) {
      const b = res.plan.boxes[i];
      assert.ok(b);
      const whiteColumns = Math.max(0, b.x + b.w - Math.max(b.x, 200));
      const expected = whiteColumns / b.w;
      const got = mean(res.batch.subarray(i * per, (i + 1) * per));
      assert.ok(Math.abs(got - expected) < 0.03, `tile ${JSON.stringify(b)}: mean ${got}, expected ${expected}`);
    }
    assert.ok(res.plan.boxes.some((b) => b.x + b.w <= 200), 'some tile lies entirely in the black half');
    assert.ok(res.plan.boxes.some((b) => b.x >= 200), 'some tile lies entirely in the white half');
  });

  test('normalises like preprocessImage (mean/std, greyscale)', async () => {
    // Tiles of the input size: decoded without shrinking, so every tile is an exact crop.
    const png = await halfBlackPng(32, 32);
    const s = spec({ channels: 1, mean: [0.5], std: [0.25] });
    const res = await imageTiles(png, s, { tile: 16, overlap: 0, maxTiles: 16 });
    assert.equal(res.plan.boxes.length, 4);
    assert.equal(res.batch.length, 4 * 16 * 16);
    const first = res.batch.subarray(0, 256); // top-left tile: black → (0 - 0.5) / 0.25
    assert.ok(first.every((v) => Math.abs(v + 2) < 1e-6));
    const second = res.batch.subarray(256, 512); // top-right tile: white → (1 - 0.5) / 0.25
    assert.ok(second.every((v) => Math.abs(v - 2) < 1e-6));
  });

  test('tiles match sharp extract + resize of their box, whole is close to preprocessImage, on a textured photo', async () => {
    const s = spec({ width: 64, height: 64 });
    const per = 3 * 64 * 64;
    // 224×224: tile 128 → decoded at 112, each tile a plain crop, nearly identical to the reference.
    // 640×480: the tile grows to fit maxTiles, so the decode shrink is fractional and tile origins are
    // rounded to whole decoded pixels (shifts of up to half a decoded pixel on this busy texture).
    for (const [w, h, tileMean, tileMax] of [
      [224, 224, 0.5, 5],
      [640, 480, 4, 24],
    ] as const) {
      const png = await texturedPng(w, h);
      const res = await imageTiles(png, s, { tile: 0, overlap: 0.25, maxTiles: 16 });
      assert.ok(res.plan.boxes.length > 1, `${w}x${h}: ${res.plan.boxes.length} tiles`);
      for (let i = 0; i < res.plan.boxes.length; i++) {
        const b = res.plan.boxes[i] as TileBox;
        const ref = await openImage(png)
          .extract({ left: b.x, top: b.y, width: b.w, height: b.h })
          .resize(64, 64, { fit: 'fill' })
          .removeAlpha()
          .toColourspace('srgb')
          .raw()
          .toBuffer();
        const d = diff(res.batch.subarray(i * per, (i + 1) * per), pixelsToTensor(ref, s));
        assert.ok(d.mean <= tileMean / 255 && d.max <= tileMax / 255, `${w}x${h} tile ${JSON.stringify(b)}: ${JSON.stringify(d)}`);
      }
      const wd = diff(res.whole, await preprocessImage(png, s));
      assert.ok(wd.mean <= 3 / 255 && wd.max <= 24 / 255, `${w}x${h} whole vs preprocessImage: ${JSON.stringify(wd)}`);
    }
  });

  test('the tile holding a small dark stain is the darkest input', async () => {
    const s = spec({ width: 64, height: 64 });
    const per = 3 * 64 * 64;
    const stain = { x: 700, y: 230, side: 24 };
    const res = await imageTiles(await texturedPng(1024, 768, stain), s, { tile: 0, overlap: 0.25, maxTiles: 16 });
    const means = res.plan.boxes.map((_, i) => mean(res.batch.subarray(i * per, (i + 1) * per)));
    const darkest = means.indexOf(Math.min(...means));
    const b = res.plan.boxes[darkest] as TileBox;
    assert.ok(
      b.x <= stain.x && b.y <= stain.y && b.x + b.w >= stain.x + stain.side && b.y + b.h >= stain.y + stain.side,
      `darkest tile ${JSON.stringify(b)} does not hold the stain`,
    );
    // The stain is a plain 8-bit dark patch in the tile input too, not averaged away.
    let darkPixels = 0;
    const tile = res.batch.subarray(darkest * per, darkest * per + 64 * 64);
    for (const v of tile) if (v < 60 / 255) darkPixels++;
    assert.ok(darkPixels >= 20, `${darkPixels} dark pixels in the stain tile`);
  });

  test('a huge photo is downscaled to maxSide first and reports the scale', async () => {
    const png = await halfBlackPng(800, 400);
    const res = await imageTiles(png, spec(), { tile: 0, overlap: 0.25, maxTiles: 16, maxSide: 200 });
    assert.equal(res.width, 200);
    assert.equal(res.height, 100);
    assert.equal(res.scale, 4);
    assertInside(res.plan, 200, 100);
  });

  test('garbage is a ValidationError', async () => {
    for (const bad of [Buffer.from('definitely not an image'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]), Buffer.alloc(0)]) {
      await assert.rejects(imageTiles(bad, spec(), { tile: 32, overlap: 0.25, maxTiles: 16 }), ValidationError);
    }
  });
});
