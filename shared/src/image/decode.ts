import sharp, { type Sharp } from 'sharp';
import { ValidationError } from '../errors.js';

const MAX_INPUT_PIXELS = 40_000_000;

/**
 * Opens an image for processing: JPEG, PNG, WebP, GIF, TIFF, AVIF through sharp, and binary or
 * ASCII PGM/PPM (P2, P3, P5, P6) through a small parser, since sharp does not read Netpbm.
 */
export function openImage(data: Buffer | Uint8Array): Sharp {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data);
  if (buf.length < 2) throw new ValidationError('image is empty');
  if (buf[0] === 0x50 && buf[1] !== undefined && [0x32, 0x33, 0x35, 0x36].includes(buf[1])) {
    const { width, height, channels, pixels } = decodeNetpbm(buf);
    return sharp(pixels, { raw: { width, height, channels } });
  }
  return sharp(buf, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error' });
}

export interface RawImage {
  width: number;
  height: number;
  channels: 1 | 3;
  pixels: Buffer;
}

export function decodeNetpbm(buf: Buffer): RawImage {
  const magic = buf.toString('latin1', 0, 2);
  const channels: 1 | 3 = magic === 'P3' || magic === 'P6' ? 3 : 1;
  const ascii = magic === 'P2' || magic === 'P3';
  let pos = 2;
  const header: number[] = [];
  while (header.length < 3) {
    while (pos < buf.length && isSpace(buf[pos] as number)) pos++;
    if (buf[pos] === 0x23) {
      while (pos < buf.length && buf[pos] !== 0x0a) pos++;
      continue;
    }
    const start = pos;
    while (pos < buf.length && !isSpace(buf[pos] as number)) pos++;
    const n = Number(buf.toString('latin1', start, pos));
    if (!Number.isInteger(n) || n <= 0) throw new ValidationError(`${magic} header is malformed`);
    header.push(n);
  }
  const [width, height, maxVal] = header as [number, number, number];
  if (width * height > MAX_INPUT_PIXELS) throw new ValidationError('image is too large');
  if (maxVal > 255) throw new ValidationError('16-bit Netpbm images are not supported');
  const count = width * height * channels;
  const pixels = Buffer.alloc(count);
  if (ascii) {
    const text = buf.toString('latin1', pos).trim();
    const values = text === '' ? [] : text.split(/\s+/).map(Number);
    if (values.length < count) throw new ValidationError(`${magic} image is truncated`);
    for (let i = 0; i < count; i++) pixels[i] = scaleSample(values[i] as number, maxVal, magic);
  } else {
    pos++; // exactly one whitespace byte after maxval
    if (buf.length - pos < count) throw new ValidationError(`${magic} image is truncated`);
    for (let i = 0; i < count; i++) pixels[i] = scaleSample(buf[pos + i] as number, maxVal, magic);
  }
  return { width, height, channels, pixels };
}

function scaleSample(v: number, maxVal: number, magic: string): number {
  if (!Number.isInteger(v) || v < 0 || v > maxVal) throw new ValidationError(`${magic} sample ${v} is outside 0..${maxVal}`);
  return Math.round((v * 255) / maxVal);
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}
