/**
 * The face detector's image pyramid in plain TS: area resampling and one summed-area table of the
 * frame from which every level is cut.
 */
import type { DetectorSpec } from './detector-spec.js';
import type { GreyImage } from './types.js';

/** A single-channel image, bytes or floats, row-major. */
export interface PixelPlane {
  data: ArrayLike<number>;
  width: number;
  height: number;
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Source taps (index, weight) of each destination pixel along one axis, box-filter (area) resampling. */
function areaTaps(start: number, length: number, dst: number, srcSize: number): { idx: Int32Array; w: Float32Array; off: Int32Array } {
  const step = length / dst;
  const off = new Int32Array(dst + 1);
  const idx: number[] = [];
  const wts: number[] = [];
  for (let i = 0; i < dst; i++) {
    let a = start + i * step;
    let b = a + step;
    if (step < 1) {
      // Upsampling: a one-pixel footprint centred on the sample (linear interpolation).
      const c = (a + b) / 2;
      a = c - 0.5;
      b = c + 0.5;
    }
    const span = b - a;
    for (let p = Math.floor(a); p < b; p++) {
      const cover = Math.min(b, p + 1) - Math.max(a, p);
      if (cover <= 1e-6) continue;
      idx.push(Math.min(srcSize - 1, Math.max(0, p)));
      wts.push(cover / span);
    }
    off[i + 1] = idx.length;
  }
  return { idx: Int32Array.from(idx), w: Float32Array.from(wts), off };
}

/**
 * Resamples the region `r` (frame pixels, may be fractional or reach outside; edges are clamped)
 * of a grey image to `dw`×`dh` by area averaging. Values stay in 0..255 (floats).
 */
export function resampleArea(img: PixelPlane, r: Rect, dw: number, dh: number): Float32Array {
  const tx = areaTaps(r.x, r.width, dw, img.width);
  const ty = areaTaps(r.y, r.height, dh, img.height);
  const src = img.data;
  const sw = img.width;
  // Horizontal pass over the source rows the vertical taps touch (a contiguous range).
  let y0 = img.height;
  let y1 = -1;
  for (const y of ty.idx) {
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  const rows = new Float32Array(Math.max(0, y1 - y0 + 1) * dw);
  const { idx: xi, w: xw, off: xo } = tx;
  for (let y = y0; y <= y1; y++) {
    const base = y * sw;
    const o = (y - y0) * dw;
    for (let i = 0; i < dw; i++) {
      let s = 0;
      const end = xo[i + 1] as number;
      for (let k = xo[i] as number; k < end; k++) s += (src[base + (xi[k] as number)] as number) * (xw[k] as number);
      rows[o + i] = s;
    }
  }
  const out = new Float32Array(dw * dh);
  for (let j = 0; j < dh; j++) {
    const o = j * dw;
    const end = ty.off[j + 1] as number;
    for (let k = ty.off[j] as number; k < end; k++) {
      const ro = ((ty.idx[k] as number) - y0) * dw;
      const w = ty.w[k] as number;
      for (let i = 0; i < dw; i++) out[o + i] = (out[o + i] as number) + (rows[ro + i] as number) * w;
    }
  }
  return out;
}

/** Frames are enlarged at most this much: smaller faces than box.height·window/2 pixels are not looked for. */
const MAX_UPSCALE = 2;

/**
 * Pyramid scales (frame → network input), largest first, covering faces of minFace..maxFace of the
 * frame height (capped at MAX_UPSCALE; levels smaller than one window are left out).
 */
export function pyramidScales(spec: DetectorSpec, width: number, height: number): number[] {
  const faceInWindow = spec.box.height * spec.window;
  const hi = Math.min(MAX_UPSCALE, faceInWindow / (spec.minFace * height));
  const lo = faceInWindow / (spec.maxFace * height);
  const out: number[] = [];
  for (let s = hi; s >= lo / Math.sqrt(spec.scaleStep); s /= spec.scaleStep) {
    if (Math.round(width * s) < spec.window || Math.round(height * s) < spec.window) break;
    out.push(s);
  }
  return out;
}

/**
 * Summed-area table of a grey image, float64 (exact: integer sums well below 2^53), with a zero first
 * row and column: `sat[y * (width + 1) + x]` is the sum of the pixels [0, x) × [0, y).
 */
function summedArea(img: PixelPlane): Float64Array {
  const { data, width: w, height: h } = img;
  const sw = w + 1;
  const sat = new Float64Array(sw * (h + 1));
  for (let y = 0; y < h; y++) {
    const src = y * w;
    const prev = y * sw;
    const cur = prev + sw;
    let run = 0;
    for (let x = 0; x < w; x++) {
      run += data[src + x] as number;
      sat[cur + x + 1] = (sat[prev + x + 1] as number) + run;
    }
  }
  return sat;
}

/** Cell index and fraction of each boundary `i * step` (i = 0..n) along an axis of `size` pixels. */
function boundaries(n: number, step: number, size: number): { cell: Int32Array; frac: Float64Array } {
  const cell = new Int32Array(n + 1);
  const frac = new Float64Array(n + 1);
  for (let i = 0; i <= n; i++) {
    const x = Math.min(size, i * step);
    let p = Math.floor(x);
    if (p >= size) p = size - 1;
    cell[i] = p;
    frac[i] = x - p;
  }
  return { cell, frac };
}

/**
 * The whole frame area-averaged down to `dw`×`dh` (both ≤ the frame's size) from its summed-area
 * table, normalised as `v * k - b`: the same values as resampleArea over the full frame (up to float
 * rounding). Pixels are piecewise constant, so the integral over [0, x) × [0, y) is bilinear in
 * (x, y) within a pixel: each boundary point is a bilinear lookup of the table, each output pixel
 * the difference of its four corners over its area.
 */
function downsampleSat(sat: Float64Array, w: number, h: number, dw: number, dh: number, k: number, b: number): Float32Array {
  const sx = w / dw;
  const sy = h / dh;
  const { cell: xc, frac: xf } = boundaries(dw, sx, w);
  const { cell: yc, frac: yf } = boundaries(dh, sy, h);
  const sw = w + 1;
  const n = dw + 1;
  const out = new Float32Array(dw * dh);
  const scale = k / (sx * sy);
  // Integral up to each boundary point of the previous and the current boundary row.
  let prev = new Float64Array(n);
  let cur = new Float64Array(n);
  for (let j = 0; j <= dh; j++) {
    const r0 = (yc[j] as number) * sw;
    const r1 = r0 + sw;
    const g = yf[j] as number;
    for (let i = 0; i < n; i++) {
      const p0 = r0 + (xc[i] as number);
      const p1 = r1 + (xc[i] as number);
      const f = xf[i] as number;
      const a0 = sat[p0] as number;
      const a1 = sat[p1] as number;
      const top = a0 + f * ((sat[p0 + 1] as number) - a0);
      cur[i] = top + g * (a1 + f * ((sat[p1 + 1] as number) - a1) - top);
    }
    if (j > 0) {
      const o = (j - 1) * dw;
      let left = (cur[0] as number) - (prev[0] as number);
      for (let i = 0; i < dw; i++) {
        const right = (cur[i + 1] as number) - (prev[i + 1] as number);
        out[o + i] = (right - left) * scale - b;
        left = right;
      }
    }
    const t = prev;
    prev = cur;
    cur = t;
  }
  return out;
}

/**
 * The frame resampled to each scale (area averaging, each level straight from the frame: the same
 * resampling the training windows get), normalised to network input. Shrinking levels are cut from
 * one summed-area table of the frame; enlarging ones (either side) go through resampleArea.
 */
export function pyramid(img: GreyImage, scales: readonly number[], mean: number, std: number): PixelPlane[] {
  const levels: PixelPlane[] = [];
  const k = 1 / (255 * std);
  const b = mean / std;
  let sat: Float64Array | undefined;
  for (const s of scales) {
    const width = Math.round(img.width * s);
    const height = Math.round(img.height * s);
    let data: Float32Array;
    if (width <= img.width && height <= img.height) {
      sat ??= summedArea(img);
      data = downsampleSat(sat, img.width, img.height, width, height, k, b);
    } else {
      data = resampleArea(img, { x: 0, y: 0, width: img.width, height: img.height }, width, height);
      for (let i = 0; i < data.length; i++) data[i] = (data[i] as number) * k - b;
    }
    levels.push({ data, width, height });
  }
  return levels;
}
