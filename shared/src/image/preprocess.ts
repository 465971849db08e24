import type { PreprocessSpec } from '../contracts/manifest.js';
import { ValidationError, errorMessage } from '../errors.js';
import { openImage } from './decode.js';

/**
 * Image bytes → NCHW float tensor data for a network, per its manifest's preprocessing spec.
 * The one code path used by the device and by the hub's sandbox verifier.
 */
export async function preprocessImage(data: Buffer | Uint8Array, spec: PreprocessSpec): Promise<Float32Array> {
  let raw: Buffer;
  try {
    let img = openImage(data).rotate().resize(spec.width, spec.height, { fit: 'fill' }).removeAlpha();
    img = spec.channels === 1 ? img.greyscale() : img.toColourspace('srgb');
    raw = await img.raw().toBuffer();
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    throw new ValidationError(`image could not be decoded: ${errorMessage(err)}`);
  }
  return pixelsToTensor(raw, spec);
}

/** Interleaved HWC 8-bit pixels → normalised planar CHW floats. */
export function pixelsToTensor(raw: Uint8Array, spec: PreprocessSpec): Float32Array {
  const { width, height, channels } = spec;
  const plane = width * height;
  const srcChannels = raw.length / plane;
  if (!Number.isInteger(srcChannels) || srcChannels < channels) {
    throw new ValidationError(`expected ${width}x${height}x${channels} pixels, got ${raw.length} bytes`);
  }
  const out = new Float32Array(plane * channels);
  for (let c = 0; c < channels; c++) {
    const mean = spec.mean[c] ?? spec.mean[0] ?? 0;
    const std = spec.std[c] ?? spec.std[0] ?? 1;
    const base = c * plane;
    for (let i = 0; i < plane; i++) out[base + i] = ((raw[i * srcChannels + c] as number) / 255 - mean) / std;
    if (spec.standardize) standardizePlane(out, base, plane);
  }
  return out;
}

/** In place: out[base .. base+n) → zero mean, unit variance (a flat plane becomes all zeros). */
function standardizePlane(out: Float32Array, base: number, n: number): void {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += out[base + i] as number;
  const m = sum / n;
  let sq = 0;
  for (let i = 0; i < n; i++) sq += ((out[base + i] as number) - m) ** 2;
  const sd = Math.sqrt(sq / n);
  const inv = sd > 1e-6 ? 1 / sd : 0;
  for (let i = 0; i < n; i++) out[base + i] = ((out[base + i] as number) - m) * inv;
}
