import { type Box, clamp, maskBox, mixSeed, quantise, type Rng, rng, smoothstep } from './raster.js';

/**
 * Synthetic fabric photos (RGB) with optional defects: stains, tears and discolouration.
 * The fabric, the noise and the defect come from independent seeded streams, so
 * `laundryImage({ seed, defect: 'stain' })` is exactly `laundryImage({ seed, defect: 'none' })`
 * outside `defectBox`.
 */

export type LaundryDefect = 'none' | 'stain' | 'tear' | 'discolouration';
export const DEFECT_KINDS: readonly Exclude<LaundryDefect, 'none'>[] = ['stain', 'tear', 'discolouration'];

export type DefectBox = Box;

export interface LaundryImage {
  /** RGB interleaved, row-major. */
  pixels: Uint8Array;
  width: number;
  height: number;
  defect: LaundryDefect;
  /** Every pixel the defect touched lies inside this box; null for 'none'. */
  defectBox: DefectBox | null;
}

export interface LaundrySample extends LaundryImage {
  label: 'good' | 'defect';
  kind: LaundryDefect;
}

function hsv(h: number, s: number, v: number): [number, number, number] {
  const f = (n: number) => {
    const k = (n + h * 6) % 6;
    return v - v * s * Math.max(0, Math.min(k, 4 - k, 1));
  };
  return [f(5), f(3), f(1)];
}

/** Renders the fabric into planar float channels. */
function fabric(seed: number, width: number, height: number): [Float32Array, Float32Array, Float32Array] {
  const r = rng(seed, 0xfab);
  const n = width * height;
  const ch: [Float32Array, Float32Array, Float32Array] = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
  const white = r.chance(0.25);
  const hue = r.next();
  const sat = white ? r.range(0, 0.06) : r.range(0.1, 0.7);
  const val = white ? r.range(0.82, 0.95) : r.range(0.4, 0.9);
  const warp = hsv(hue, sat, val);
  const weft = hsv((hue + r.range(-0.05, 0.05) + 1) % 1, clamp(sat * r.range(0.7, 1.2)), clamp(val * r.range(0.85, 1.05)));
  const plaid = !white && r.chance(0.25);
  const stripeCol = hsv(r.next(), r.range(0.2, 0.8), r.range(0.2, 0.8));
  const stripePeriod = r.range(18, 40) * (width / 224);
  const stripeWidth = stripePeriod * r.range(0.15, 0.4);
  const knit = r.chance(0.35);
  const twill = !knit && r.chance(0.4);
  const angle = r.range(-0.35, 0.35);
  const ca = Math.cos(angle);
  const sa = Math.sin(angle);
  const period = r.range(3, 7) * Math.max(0.5, width / 224);
  const depth = r.range(0.12, 0.3);
  // Folds: soft ridges and creases in random directions, plus a broad illumination slope.
  const folds = Array.from({ length: r.int(1, 4) }, () => {
    const a = r.range(0, Math.PI);
    return {
      nx: Math.cos(a),
      ny: Math.sin(a),
      off: r.range(0.1, 0.9) * (width * Math.abs(Math.cos(a)) + height * Math.abs(Math.sin(a))),
      w: r.range(0.04, 0.15) * Math.max(width, height),
      amp: r.range(-0.14, 0.1),
    };
  });
  const slopeX = r.range(-0.08, 0.08);
  const slopeY = r.range(-0.08, 0.08);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const a = (x * ca + y * sa) / period;
      const b = (-x * sa + y * ca) / period;
      const fa = a - Math.floor(a);
      const fb = b - Math.floor(b);
      let col: readonly number[];
      let shade: number;
      if (knit) {
        // Columns of V-shaped loops.
        const v = b * 0.8 + Math.abs(fa - 0.5) * 1.2;
        const fv = v - Math.floor(v);
        shade = 1 - depth + depth * Math.sin(Math.PI * fa) * (0.6 + 0.4 * Math.cos(2 * Math.PI * fv));
        col = fv < 0.5 ? warp : weft;
      } else {
        const i = Math.floor(a);
        const j = Math.floor(b);
        const over = twill ? ((((i + j) % 4) + 4) % 4) < 2 : ((i + j) & 1) === 0;
        // The thread on top shows a rounded profile across its width.
        shade = 1 - depth + depth * Math.sin(Math.PI * (over ? fb : fa));
        col = over ? warp : weft;
      }
      if (plaid) {
        const sp = (x * ca + y * sa) / stripePeriod;
        const sq = (-x * sa + y * ca) / stripePeriod;
        const inStripe = (sp - Math.floor(sp)) * stripePeriod < stripeWidth || (sq - Math.floor(sq)) * stripePeriod < stripeWidth;
        if (inStripe) col = stripeCol;
      }
      let light = 1 + slopeX * (x / width - 0.5) * 2 + slopeY * (y / height - 0.5) * 2;
      for (const f of folds) {
        const d = (x * f.nx + y * f.ny - f.off) / f.w;
        light += f.amp * Math.exp(-d * d) + f.amp * 0.5 * d * Math.exp(-d * d);
      }
      const i = y * width + x;
      ch[0][i] = (col[0] as number) * shade * light;
      ch[1][i] = (col[1] as number) * shade * light;
      ch[2][i] = (col[2] as number) * shade * light;
    }
  }
  return ch;
}

/** Irregular blob coverage (0..1) with a soft edge `soft` pixels wide. */
function blob(r: Rng, width: number, height: number, area: number, softFrac: number): Float32Array {
  const r0 = Math.sqrt((area * width * height) / Math.PI);
  const cx = r.range(Math.min(r0 * 0.6, width / 2), Math.max(width - r0 * 0.6, width / 2));
  const cy = r.range(Math.min(r0 * 0.6, height / 2), Math.max(height - r0 * 0.6, height / 2));
  const harmonics = Array.from({ length: 5 }, (_, k) => ({ k: k + 2, a: r.range(0, 0.2) / (k + 1), p: r.range(0, 2 * Math.PI) }));
  const sx = r.range(0.75, 1.3);
  const soft = Math.max(1, softFrac * r0);
  const mask = new Float32Array(width * height);
  const reach = r0 * 1.6 * Math.max(sx, 1 / sx) + soft;
  const x0 = Math.max(0, Math.floor(cx - reach));
  const x1 = Math.min(width, Math.ceil(cx + reach));
  const y0 = Math.max(0, Math.floor(cy - reach));
  const y1 = Math.min(height, Math.ceil(cy + reach));
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const dx = (x + 0.5 - cx) / sx;
      const dy = (y + 0.5 - cy) * sx;
      const th = Math.atan2(dy, dx);
      let rad = r0;
      for (const h of harmonics) rad += r0 * h.a * Math.sin(h.k * th + h.p);
      const d = Math.sqrt(dx * dx + dy * dy);
      mask[y * width + x] = smoothstep(rad + soft / 2, rad - soft / 2, d);
    }
  }
  return mask;
}

function distToSegment(px: number, py: number, ax: number, ay: number, bx: number, by: number): [number, number] {
  const vx = bx - ax;
  const vy = by - ay;
  const l2 = vx * vx + vy * vy;
  const t = l2 === 0 ? 0 : clamp(((px - ax) * vx + (py - ay) * vy) / l2);
  const dx = px - (ax + t * vx);
  const dy = py - (ay + t * vy);
  return [Math.sqrt(dx * dx + dy * dy), t];
}

type Channels = [Float32Array, Float32Array, Float32Array];

function applyStain(ch: Channels, r: Rng, width: number, height: number): Float32Array {
  const area = 0.03 + 0.17 * r.next() ** 2;
  const mask = blob(r, width, height, area, 0.25);
  const colours: [number, number, number][] = [
    [0.45, 0.3, 0.15], // coffee
    [0.3, 0.3, 0.3], // dirt / ink
    [0.5, 0.12, 0.22], // wine
    [0.6, 0.5, 0.2], // grease
    [0.32, 0.45, 0.2], // grass
  ];
  const col = r.pick(colours);
  const opacity = r.range(0.6, 0.9);
  const ring = r.range(0, 0.3);
  for (let i = 0; i < mask.length; i++) {
    const m = mask[i] as number;
    if (m <= 0) continue;
    // A darker tide mark where the edge of the stain dried.
    const a = clamp(opacity * m + ring * 4 * m * (1 - m));
    for (let c = 0; c < 3; c++) {
      const p = ch[c] as Float32Array;
      p[i] = (p[i] as number) * (1 - a + a * col[c as 0 | 1 | 2]);
    }
  }
  return mask;
}

function applyTear(ch: Channels, r: Rng, width: number, height: number): Float32Array {
  const scale = Math.min(width, height);
  const length = r.range(0.15, 0.4) * scale;
  const step = Math.max(1.5, scale / 120);
  const pts: { x: number; y: number; t: number }[] = [];
  let x = r.range(0.25, 0.75) * width;
  let y = r.range(0.25, 0.75) * height;
  let dir = r.range(0, 2 * Math.PI);
  const base = r.range(0.6, 2.2) * (scale / 224);
  const holeAt = r.next();
  const holeSize = r.range(1.5, 4) * (scale / 224);
  const steps = Math.max(2, Math.round(length / step));
  for (let k = 0; k <= steps; k++) {
    const f = k / steps;
    const hole = holeSize * Math.exp(-(((f - holeAt) / 0.08) ** 2));
    pts.push({ x, y, t: Math.max(0.6, base * (0.6 + 0.8 * r.next()) + hole) });
    dir += r.gauss() * 0.35;
    x = clamp(x + Math.cos(dir) * step, 2, width - 3);
    y = clamp(y + Math.sin(dir) * step, 2, height - 3);
  }
  const back = r.chance(0.6) ? [0.05, 0.05, 0.06] : hsv(r.next(), r.range(0, 0.5), r.range(0.1, 0.5));
  const fray = 2.5 * Math.max(1, scale / 224);
  const margin = Math.max(...pts.map((p) => p.t)) + fray * 2;
  const x0 = Math.max(0, Math.floor(Math.min(...pts.map((p) => p.x)) - margin));
  const x1 = Math.min(width, Math.ceil(Math.max(...pts.map((p) => p.x)) + margin));
  const y0 = Math.max(0, Math.floor(Math.min(...pts.map((p) => p.y)) - margin));
  const y1 = Math.min(height, Math.ceil(Math.max(...pts.map((p) => p.y)) + margin));
  const mask = new Float32Array(width * height);
  for (let py = y0; py < y1; py++) {
    for (let px = x0; px < x1; px++) {
      let best = Number.POSITIVE_INFINITY;
      for (let k = 0; k + 1 < pts.length; k++) {
        const a = pts[k] as { x: number; y: number; t: number };
        const b = pts[k + 1] as { x: number; y: number; t: number };
        const [d, t] = distToSegment(px + 0.5, py + 0.5, a.x, a.y, b.x, b.y);
        const e = d - (a.t + (b.t - a.t) * t) / 2;
        if (e < best) best = e;
      }
      const hole = clamp(0.5 - best);
      const frayed = best > 0 ? 0.4 * Math.max(0, 1 - best / fray) : 0;
      if (hole <= 0 && frayed <= 0) continue;
      const i = py * width + px;
      mask[i] = Math.max(hole, frayed);
      for (let c = 0; c < 3; c++) {
        const p = ch[c] as Float32Array;
        const v = (p[i] as number) * (1 - frayed);
        p[i] = v + ((back[c] as number) - v) * hole;
      }
    }
  }
  return mask;
}

function applyDiscolouration(ch: Channels, r: Rng, width: number, height: number): Float32Array {
  const mask = blob(r, width, height, r.range(0.12, 0.35), 0.6);
  const bright = r.chance(0.5) ? r.range(0.06, 0.14) : -r.range(0.06, 0.14);
  const tint = r.pick<[number, number, number]>([
    [0.9, 0.8, 0.5], // yellowing
    [0.75, 0.75, 0.8], // greying
    [0.85, 0.7, 0.75], // dye bleed
    [0.7, 0.8, 0.9], // bleach / blueing
  ]);
  const strength = r.range(0.1, 0.22);
  for (let i = 0; i < mask.length; i++) {
    const m = mask[i] as number;
    if (m <= 0) continue;
    for (let c = 0; c < 3; c++) {
      const p = ch[c] as Float32Array;
      const v = (p[i] as number) * (1 + bright * m);
      p[i] = v + ((tint[c as 0 | 1 | 2] as number) * v * 1.15 - v) * strength * m;
    }
  }
  return mask;
}

export function laundryImage(opts: { seed: number; defect: LaundryDefect; width?: number; height?: number }): LaundryImage {
  const width = opts.width ?? 224;
  const height = opts.height ?? 224;
  const ch = fabric(opts.seed, width, height);
  let mask: Float32Array | null = null;
  const dr = rng(opts.seed, 0xdef);
  if (opts.defect === 'stain') mask = applyStain(ch, dr, width, height);
  else if (opts.defect === 'tear') mask = applyTear(ch, dr, width, height);
  else if (opts.defect === 'discolouration') mask = applyDiscolouration(ch, dr, width, height);
  const noise = rng(opts.seed, 0x4e);
  const sigma = 0.006 + 0.012 * rng(opts.seed, 0x4d).next();
  const rgb = new Float32Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    for (let c = 0; c < 3; c++) rgb[i * 3 + c] = ((ch[c] as Float32Array)[i] as number) + sigma * noise.gauss();
  }
  return {
    pixels: quantise(rgb),
    width,
    height,
    defect: opts.defect,
    defectBox: mask ? maskBox(mask, width, height, 0) : null,
  };
}

/**
 * `count` images, exactly round(count × defectRatio) of them defective (kinds drawn from `kinds`,
 * default all three), in a seeded shuffled order. Image k uses seed `mixSeed(seed, k)`.
 */
export function laundryDataset(opts: {
  count: number;
  defectRatio: number;
  seed: number;
  width?: number;
  height?: number;
  kinds?: readonly Exclude<LaundryDefect, 'none'>[];
}): LaundrySample[] {
  const r = rng(opts.seed, 0xda7a);
  const kinds = opts.kinds ?? DEFECT_KINDS;
  const defects = Math.round(opts.count * clamp(opts.defectRatio));
  const plan: LaundryDefect[] = Array.from({ length: opts.count }, (_, k) => (k < defects ? (kinds[k % kinds.length] ?? 'stain') : 'none'));
  for (let k = plan.length - 1; k > 0; k--) {
    const j = r.int(0, k);
    const t = plan[k] as LaundryDefect;
    plan[k] = plan[j] as LaundryDefect;
    plan[j] = t;
  }
  return plan.map((kind, k) => {
    const img = laundryImage({ seed: mixSeed(opts.seed, k), defect: kind, width: opts.width, height: opts.height });
    return { ...img, label: kind === 'none' ? 'good' : 'defect', kind };
  });
}
