import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { type PreprocessSpec, ValidationError, decodeNetpbm, pixelsToTensor, preprocessImage } from '../src/index.js';

const ORL_FACE = '/work/shared/data/orl_faces/s1/1.pgm';

function spec(over: Partial<PreprocessSpec>): PreprocessSpec {
  return { width: 16, height: 8, channels: 3, mean: [0, 0, 0], std: [1, 1, 1], inputName: 'input', outputName: 'output', ...over };
}

/** A W×H RGB PNG: left half pure red, right half pure blue. */
async function redBluePng(width: number, height: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      if (x < width / 2) raw[i] = 255;
      else raw[i + 2] = 255;
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

/** A W×H greyscale PNG: grey 64 on the left half, 200 on the right half. */
async function greyPng(width: number, height: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) raw[y * width + x] = x < width / 2 ? 64 : 200;
  return sharp(raw, { raw: { width, height, channels: 1 } }).png().toBuffer();
}

function assertClose(actual: number | undefined, expected: number, tolerance: number, what: string): void {
  assert.ok(actual !== undefined && Math.abs(actual - expected) <= tolerance, `${what}: expected ${expected} ± ${tolerance}, got ${actual}`);
}

function assertValidationError(err: unknown): true {
  assert.ok(err instanceof ValidationError, `expected ValidationError, got ${String(err)}`);
  return true;
}

describe('decodeNetpbm', () => {
  test('P5 (binary) with comments in the header', () => {
    const header = Buffer.from('P5\n# made by hand\n3 2\n# another comment\n255\n', 'latin1');
    const img = decodeNetpbm(Buffer.concat([header, Buffer.from([0, 10, 20, 30, 40, 255])]));
    assert.equal(img.width, 3);
    assert.equal(img.height, 2);
    assert.equal(img.channels, 1);
    assert.deepEqual([...img.pixels], [0, 10, 20, 30, 40, 255]);
  });

  test('P5 whose first pixel byte is whitespace-valued is read exactly', () => {
    // Exactly one whitespace byte follows maxval; 0x0a / 0x20 after it are pixels, not separators.
    const img = decodeNetpbm(Buffer.concat([Buffer.from('P5 2 1 255\n', 'latin1'), Buffer.from([0x0a, 0x20])]));
    assert.deepEqual([...img.pixels], [0x0a, 0x20]);
  });

  test('P2 (ascii) with comments and irregular whitespace', () => {
    const text = 'P2\n# comment\n2 3 # trailing comment\n255\n0  1\n\t2 3\r\n254 255\n';
    const img = decodeNetpbm(Buffer.from(text, 'latin1'));
    assert.equal(img.width, 2);
    assert.equal(img.height, 3);
    assert.deepEqual([...img.pixels], [0, 1, 2, 3, 254, 255]);
  });

  test('P6 and P3 are read as three channels', () => {
    const p6 = decodeNetpbm(Buffer.concat([Buffer.from('P6 1 1 255\n', 'latin1'), Buffer.from([1, 2, 3])]));
    assert.equal(p6.channels, 3);
    assert.deepEqual([...p6.pixels], [1, 2, 3]);
    const p3 = decodeNetpbm(Buffer.from('P3 2 1 255\n1 2 3 4 5 6\n', 'latin1'));
    assert.equal(p3.channels, 3);
    assert.deepEqual([...p3.pixels], [1, 2, 3, 4, 5, 6]);
  });

  test('scales samples to 0..255 by maxval (maxval 15)', () => {
    const p5 = decodeNetpbm(Buffer.concat([Buffer.from('P5 4 1 15\n', 'latin1'), Buffer.from([0, 1, 8, 15])]));
    assert.deepEqual([...p5.pixels], [0, 17, 136, 255]);
    const p2 = decodeNetpbm(Buffer.from('P2 4 1 15\n0 1 8 15\n', 'latin1'));
    assert.deepEqual([...p2.pixels], [0, 17, 136, 255]);
  });

  test('truncated data is a ValidationError', () => {
    assert.throws(() => decodeNetpbm(Buffer.concat([Buffer.from('P5 3 2 255\n', 'latin1'), Buffer.from([1, 2, 3, 4, 5])])), assertValidationError);
    assert.throws(() => decodeNetpbm(Buffer.from('P5 3 2 255\n', 'latin1')), assertValidationError);
    assert.throws(() => decodeNetpbm(Buffer.from('P2 3 2 255\n1 2 3 4 5\n', 'latin1')), assertValidationError);
    assert.throws(() => decodeNetpbm(Buffer.from('P2 3 2 255\n', 'latin1')), assertValidationError);
  });

  test('a truncated header is a ValidationError', () => {
    assert.throws(() => decodeNetpbm(Buffer.from('P5 3', 'latin1')), assertValidationError);
    assert.throws(() => decodeNetpbm(Buffer.from('P5\n# only a comment', 'latin1')), assertValidationError);
    assert.throws(() => decodeNetpbm(Buffer.from('P2 0 2 255\n', 'latin1')), assertValidationError);
    assert.throws(() => decodeNetpbm(Buffer.from('P2 x 2 255\n', 'latin1')), assertValidationError);
  });

  test('16-bit images are a ValidationError', () => {
    const p5 = Buffer.concat([Buffer.from('P5 2 1 65535\n', 'latin1'), Buffer.from([0, 1, 0, 2])]);
    assert.throws(() => decodeNetpbm(p5), (err: unknown) => assertValidationError(err) && /16-bit/.test((err as Error).message));
    assert.throws(() => decodeNetpbm(Buffer.from('P2 2 1 256\n1 2\n', 'latin1')), assertValidationError);
  });

  test('an empty P2 raster of a 1x1 image is truncated, not a black pixel', () => {
    assert.throws(() => decodeNetpbm(Buffer.from('P2\n1 1\n255\n', 'latin1')), assertValidationError);
  });

  test('non-numeric P2 samples are a ValidationError, not black pixels', () => {
    assert.throws(() => decodeNetpbm(Buffer.from('P2\n2 1\n255\n10 zz\n', 'latin1')), assertValidationError);
  });

  test('samples above maxval are a ValidationError, not wrapped-around bytes', () => {
    // 200 with maxval 15 scales to 3400, which a Buffer silently stores as 3400 & 0xff = 72.
    assert.throws(() => decodeNetpbm(Buffer.concat([Buffer.from('P5 1 1 15\n', 'latin1'), Buffer.from([200])])), assertValidationError);
    assert.throws(() => decodeNetpbm(Buffer.from('P2 1 1 15\n16\n', 'latin1')), assertValidationError);
  });
});

describe('pixelsToTensor', () => {
  test('turns interleaved HWC into planar CHW and normalises per channel', () => {
    // 8x8 image, pixel i = (i, 2i, 3i) mod 256.
    const s = spec({ width: 8, height: 8, mean: [0.5, 0.25, 0], std: [0.5, 0.25, 2] });
    const raw = new Uint8Array(8 * 8 * 3);
    for (let i = 0; i < 64; i++) {
      raw[i * 3] = i;
      raw[i * 3 + 1] = (2 * i) % 256;
      raw[i * 3 + 2] = (3 * i) % 256;
    }
    const out = pixelsToTensor(raw, s);
    assert.equal(out.length, 3 * 64);
    for (const i of [0, 9, 63]) {
      assertClose(out[i], (i / 255 - 0.5) / 0.5, 1e-6, `R[${i}]`);
      assertClose(out[64 + i], (((2 * i) % 256) / 255 - 0.25) / 0.25, 1e-6, `G[${i}]`);
      assertClose(out[128 + i], (((3 * i) % 256) / 255 - 0) / 2, 1e-6, `B[${i}]`);
    }
  });

  test('a single mean/std applies to all channels', () => {
    const raw = new Uint8Array(8 * 8 * 3).fill(255);
    const out = pixelsToTensor(raw, spec({ width: 8, height: 8, mean: [0.5], std: [0.25] }));
    for (const v of out) assertClose(v, 2, 1e-6, 'value');
  });

  test('standardize: each channel ends with zero mean and unit variance; a flat image is all zeros', () => {
    const raw = new Uint8Array(8 * 8);
    for (let i = 0; i < 64; i++) raw[i] = 40 + 2 * i;
    const out = pixelsToTensor(raw, spec({ width: 8, height: 8, channels: 1, mean: [0], std: [1], standardize: true }));
    const mean = out.reduce((a, b) => a + b, 0) / 64;
    const variance = out.reduce((a, b) => a + (b - mean) ** 2, 0) / 64;
    assertClose(mean, 0, 1e-5, 'mean');
    assertClose(variance, 1, 1e-4, 'variance');
    // Brightness and contrast changes do not change the standardized tensor.
    const brighter = raw.map((v) => Math.round(v * 1.2 + 10)); // stays below 255: no clipping
    const out2 = pixelsToTensor(brighter, spec({ width: 8, height: 8, channels: 1, mean: [0], std: [1], standardize: true }));
    for (let i = 0; i < 64; i++) assertClose(out2[i], out[i] as number, 0.05, `pixel ${i}`);
    for (const v of pixelsToTensor(new Uint8Array(64).fill(90), spec({ width: 8, height: 8, channels: 1, mean: [0], std: [1], standardize: true }))) assertClose(v, 0, 1e-9, 'flat');
  });

  test('a buffer of the wrong size is a ValidationError', () => {
    assert.throws(() => pixelsToTensor(new Uint8Array(8 * 8 * 3 - 1), spec({ width: 8, height: 8 })), assertValidationError);
    assert.throws(() => pixelsToTensor(new Uint8Array(8 * 8), spec({ width: 8, height: 8, channels: 3 })), assertValidationError);
  });
});

describe('preprocessImage', () => {
  test('3-channel spec on a red|blue PNG: C*H*W floats in planar RGB order', async () => {
    const s = spec({ width: 16, height: 8, channels: 3, mean: [0, 0, 0], std: [1, 1, 1] });
    const out = await preprocessImage(await redBluePng(16, 8), s);
    assert.ok(out instanceof Float32Array);
    assert.equal(out.length, 3 * 8 * 16);
    const plane = 16 * 8;
    const at = (c: number, y: number, x: number) => out[c * plane + y * 16 + x];
    for (const [y, x] of [[0, 0], [7, 3]] as const) {
      assertClose(at(0, y, x), 1, 1e-6, `R at red (${y},${x})`);
      assertClose(at(1, y, x), 0, 1e-6, `G at red (${y},${x})`);
      assertClose(at(2, y, x), 0, 1e-6, `B at red (${y},${x})`);
    }
    for (const [y, x] of [[0, 15], [4, 12]] as const) {
      assertClose(at(0, y, x), 0, 1e-6, `R at blue (${y},${x})`);
      assertClose(at(1, y, x), 0, 1e-6, `G at blue (${y},${x})`);
      assertClose(at(2, y, x), 1, 1e-6, `B at blue (${y},${x})`);
    }
  });

  test('3-channel spec normalises as (x/255 - mean) / std per channel', async () => {
    const mean = [0.485, 0.456, 0.406];
    const std = [0.229, 0.224, 0.225];
    const out = await preprocessImage(await redBluePng(16, 8), spec({ mean, std }));
    const plane = 16 * 8;
    const expect = (c: number, v: number) => (v / 255 - (mean[c] as number)) / (std[c] as number);
    // (0,0) is red, (0,15) is blue.
    assertClose(out[0], expect(0, 255), 1e-5, 'R red');
    assertClose(out[plane], expect(1, 0), 1e-5, 'G red');
    assertClose(out[2 * plane], expect(2, 0), 1e-5, 'B red');
    assertClose(out[15], expect(0, 0), 1e-5, 'R blue');
    assertClose(out[2 * plane + 15], expect(2, 255), 1e-5, 'B blue');
  });

  test('1-channel spec: one plane of H*W, normalised grey values', async () => {
    const s = spec({ width: 16, height: 8, channels: 1, mean: [0.5], std: [0.25] });
    const out = await preprocessImage(await greyPng(16, 8), s);
    assert.equal(out.length, 8 * 16);
    const tol = 1.5 / 255 / 0.25; // one grey level either way
    assertClose(out[0], (64 / 255 - 0.5) / 0.25, tol, 'left');
    assertClose(out[7 * 16 + 7], (64 / 255 - 0.5) / 0.25, tol, 'left, last row');
    assertClose(out[15], (200 / 255 - 0.5) / 0.25, tol, 'right');
    assertClose(out[5 * 16 + 9], (200 / 255 - 0.5) / 0.25, tol, 'right, middle row');
  });

  test('1-channel spec on a colour PNG: each half is uniform and red is brighter than blue', async () => {
    const out = await preprocessImage(await redBluePng(16, 8), spec({ channels: 1, mean: [0], std: [1] }));
    assert.equal(out.length, 16 * 8);
    const red = out[0] as number;
    const blue = out[15] as number;
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 16; x++) assertClose(out[y * 16 + x], x < 8 ? red : blue, 1e-6, `(${y},${x})`);
    }
    assert.ok(red > blue && blue > 0 && red < 1, `red ${red}, blue ${blue}`);
  });

  test('resizes to the spec size', async () => {
    const out = await preprocessImage(await redBluePng(64, 32), spec({ width: 8, height: 8, channels: 3 }));
    assert.equal(out.length, 3 * 8 * 8);
    assertClose(out[0], 1, 0.02, 'top-left is red');
    assertClose(out[2 * 64 + 7], 1, 0.02, 'top-right is blue');
  });

  test('a real ORL face PGM: right length, finite values, same pixels as the file', async () => {
    const pgm = readFileSync(ORL_FACE);
    const decoded = decodeNetpbm(pgm);
    assert.deepEqual([decoded.width, decoded.height, decoded.channels], [92, 112, 1]);

    const native = await preprocessImage(pgm, spec({ width: 92, height: 112, channels: 1, mean: [0], std: [1] }));
    assert.equal(native.length, 92 * 112);
    assert.ok(native.every(Number.isFinite));
    for (const i of [0, 500, 92 * 112 - 1]) assertClose(native[i], (decoded.pixels[i] as number) / 255, 1e-6, `pixel ${i}`);

    const small = await preprocessImage(pgm, spec({ width: 32, height: 40, channels: 1, mean: [0.5], std: [0.5] }));
    assert.equal(small.length, 32 * 40);
    assert.ok(small.every((v) => Number.isFinite(v) && v >= -1 - 1e-6 && v <= 1 + 1e-6));

    const rgb = await preprocessImage(pgm, spec({ width: 32, height: 40, channels: 3, mean: [0, 0, 0], std: [1, 1, 1] }));
    assert.equal(rgb.length, 3 * 32 * 40);
    assert.ok(rgb.every(Number.isFinite));
    const plane = 32 * 40;
    for (const i of [0, 321]) {
      assertClose(rgb[plane + i], rgb[i] as number, 1 / 255, `G=R at ${i}`);
      assertClose(rgb[2 * plane + i], rgb[i] as number, 1 / 255, `B=R at ${i}`);
    }
  });

  test('garbage bytes are a ValidationError', async () => {
    const s = spec({});
    await assert.rejects(preprocessImage(Buffer.from('definitely not an image'), s), assertValidationError);
    await assert.rejects(preprocessImage(Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3, 4]), s), assertValidationError);
    await assert.rejects(preprocessImage(Buffer.from('P5 garbage', 'latin1'), s), assertValidationError);
  });

  test('a truncated PNG is a ValidationError', async () => {
    const png = await redBluePng(16, 8);
    await assert.rejects(preprocessImage(png.subarray(0, png.length - 20), spec({})), assertValidationError);
  });

  test('an empty buffer is a ValidationError', async () => {
    await assert.rejects(preprocessImage(Buffer.alloc(0), spec({})), assertValidationError);
    await assert.rejects(preprocessImage(new Uint8Array(1), spec({})), assertValidationError);
  });
});
