/**
 * Plain TypeScript crop + resize of interleaved 8-bit pixels, for cutting many small network inputs
 * out of one decoded photo without a sharp pipeline per input (see imageTiles).
 */

export interface PixelBox {
  /** Integer source rectangle, inside the source image. */
  x: number;
  y: number;
  w: number;
  h: number;
}

/**
 * Source taps of one output axis: output i is the weighted sum of the count[i] consecutive source
 * pixels from first[i], with weights weight[i·stride ..].
 */
interface AxisTaps {
  stride: number;
  first: Int32Array;
  count: Int32Array;
  weight: Float32Array;
}

/**
 * Weights for resampling source pixels [start, start + len) onto `out` pixels. Shrinking (len ≥ out)
 * is an area average: output pixel i is the mean of the source span [i·len/out, (i+1)·len/out), each
 * source pixel weighted by how much of it the span covers. Enlarging is linear interpolation between
 * pixel centres, clamped at the box edges. Every tap lies inside the box.
 */
function axisTaps(start: number, len: number, out: number): AxisTaps {
  const s = len / out;
  const stride = s >= 1 ? Math.ceil(s) + 1 : 2;
  const first = new Int32Array(out);
  const count = new Int32Array(out);
  const weight = new Float32Array(out * stride);
  for (let i = 0; i < out; i++) {
    const base = i * stride;
    if (s >= 1) {
      const a = i * s;
      const b = Math.min(len, (i + 1) * s);
      const f = Math.min(len - 1, Math.floor(a));
      let n = 0;
      for (let p = f; p < len && p < b && n < stride; p++, n++) weight[base + n] = (Math.min(b, p + 1) - Math.max(a, p)) / s;
      first[i] = start + f;
      count[i] = Math.max(1, n);
      if (n === 0) weight[base] = 1;
    } else {
      const c = Math.min(len - 1, Math.max(0, (i + 0.5) * s - 0.5));
      const f = Math.floor(c);
      const frac = c - f;
      first[i] = start + f;
      weight[base] = 1 - frac;
      if (frac > 0 && f + 1 < len) {
        weight[base + 1] = frac;
        count[i] = 2;
      } else {
        weight[base] = 1;
        count[i] = 1;
      }
    }
  }
  return { stride, first, count, weight };
}

/**
 * The `box` of an interleaved srcWidth×srcHeight×channels image resized to outWidth×outHeight
 * (same channel count), as area averaging when shrinking and linear interpolation when enlarging,
 * separably (rows, then columns), rounded to 8 bits. A box already of the output size is copied.
 */
export function cropResize(
  src: Uint8Array,
  srcWidth: number,
  srcHeight: number,
  channels: number,
  box: PixelBox,
  outWidth: number,
  outHeight: number,
): Uint8Array {
  const { x, y, w, h } = box;
  if (
    !Number.isInteger(x) || !Number.isInteger(y) || !Number.isInteger(w) || !Number.isInteger(h) ||
    x < 0 || y < 0 || w < 1 || h < 1 || x + w > srcWidth || y + h > srcHeight
  ) {
    throw new RangeError(`cropResize: box ${JSON.stringify(box)} is not inside ${srcWidth}x${srcHeight}`);
  }
  if (src.length < srcWidth * srcHeight * channels) throw new RangeError(`cropResize: ${src.length} bytes for ${srcWidth}x${srcHeight}x${channels}`);
  const out = new Uint8Array(outWidth * outHeight * channels);
  const srcRow = srcWidth * channels;
  const outRow = outWidth * channels;

  if (w === outWidth && h === outHeight) {
    for (let r = 0; r < h; r++) {
      const from = (y + r) * srcRow + x * channels;
      out.set(src.subarray(from, from + outRow), r * outRow);
    }
    return out;
  }

  // Horizontal pass over the box's rows → h × outWidth floats.
  const tmp = new Float32Array(h * outRow);
  if (w === outWidth) {
    for (let r = 0; r < h; r++) {
      const from = (y + r) * srcRow + x * channels;
      for (let k = 0; k < outRow; k++) tmp[r * outRow + k] = src[from + k] as number;
    }
  } else {
    const { stride, first, count, weight } = axisTaps(x, w, outWidth);
    for (let r = 0; r < h; r++) {
      const rowBase = (y + r) * srcRow;
      let o = r * outRow;
      for (let i = 0; i < outWidth; i++) {
        const wBase = i * stride;
        const n = count[i] as number;
        const p0 = rowBase + (first[i] as number) * channels;
        if (channels === 3) {
          let a0 = 0;
          let a1 = 0;
          let a2 = 0;
          for (let t = 0, p = p0; t < n; t++, p += 3) {
            const wt = weight[wBase + t] as number;
            a0 += wt * (src[p] as number);
            a1 += wt * (src[p + 1] as number);
            a2 += wt * (src[p + 2] as number);
          }
          tmp[o++] = a0;
          tmp[o++] = a1;
          tmp[o++] = a2;
        } else {
          for (let c = 0; c < channels; c++) {
            let acc = 0;
            for (let t = 0; t < n; t++) acc += (weight[wBase + t] as number) * (src[p0 + t * channels + c] as number);
            tmp[o++] = acc;
          }
        }
      }
    }
  }

  // Vertical pass → outHeight rows.
  if (h === outHeight) {
    for (let k = 0; k < out.length; k++) out[k] = Math.round(tmp[k] as number);
    return out;
  }
  const vy = axisTaps(0, h, outHeight);
  const acc = new Float32Array(outRow);
  for (let j = 0; j < outHeight; j++) {
    acc.fill(0);
    const n = vy.count[j] as number;
    for (let t = 0; t < n; t++) {
      const wt = vy.weight[j * vy.stride + t] as number;
      const base = ((vy.first[j] as number) + t) * outRow;
      for (let k = 0; k < outRow; k++) acc[k] = (acc[k] as number) + wt * (tmp[base + k] as number);
    }
    const oBase = j * outRow;
    for (let k = 0; k < outRow; k++) out[oBase + k] = Math.round(acc[k] as number);
  }
  return out;
}
