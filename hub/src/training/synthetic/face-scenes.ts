import { FACE_SIZE, type FaceIdentity, type FaceVariation, faceIdentity, faceVariation, type ImageSize, toVariation } from './face-identity.js';
import { addNoise, band, ellipse, photometric, rasterFace, renderFace } from './face-render.js';
import { type Box, maskBox, mixSeed, quantise, rng } from './raster.js';

/** Synthetic face datasets (one face per image) and cluttered scenes with faces composited in. */

export interface FaceSample {
  /** Index of the identity, 0-based. */
  identity: number;
  pixels: Uint8Array;
  width: number;
  height: number;
}

/**
 * `identities` × `perIdentity` face photos, identity-major. Identity i uses `faceIdentity(mixSeed(seed, i))`;
 * sample j of it uses `faceVariation(mixSeed(identitySeed, j + 1))`.
 */
export function faceDataset(opts: {
  identities: number;
  perIdentity: number;
  seed: number;
  width?: number;
  height?: number;
  /** Scales the per-image variation (default 1). */
  variationStrength?: number;
}): FaceSample[] {
  const width = opts.width ?? FACE_SIZE.width;
  const height = opts.height ?? FACE_SIZE.height;
  const out: FaceSample[] = [];
  for (let i = 0; i < opts.identities; i++) {
    const idSeed = mixSeed(opts.seed, i);
    const id = faceIdentity(idSeed);
    for (let j = 0; j < opts.perIdentity; j++) {
      const v = faceVariation(mixSeed(idSeed, j + 1), opts.variationStrength ?? 1);
      out.push({ identity: i, pixels: renderFace(id, v, { width, height }), width, height });
    }
  }
  return out;
}

export interface SceneFace {
  identity: FaceIdentity | number;
  /** Top-left corner of the head patch in the frame. */
  x: number;
  y: number;
  /** Head patch size; height defaults to width × 112/92. */
  width: number;
  height?: number;
  /** Defaults to a mild variation derived from the scene seed. */
  variation?: FaceVariation | number;
}

export interface SceneBox extends Box {
  /** Index of the face in the request. */
  face: number;
  /** Seed of the identity drawn there. */
  identitySeed: number;
}

export interface Scene {
  pixels: Uint8Array;
  width: number;
  height: number;
  /** Tight boxes around the visible face ovals (not hair), clipped to the frame; one per visible face. */
  boxes: SceneBox[];
}

/** Up to `maxFaces` (default 3) non-overlapping, fully visible placements for the given identities. */
export function sceneFaces(
  seed: number,
  identities: readonly (FaceIdentity | number)[],
  frame: ImageSize = { width: 320, height: 240 },
  maxFaces = 3,
): SceneFace[] {
  const r = rng(seed, 0x5c);
  const count = identities.length === 0 ? 0 : r.int(0, Math.min(maxFaces, identities.length));
  const placed: SceneFace[] = [];
  for (let k = 0; k < count; k++) {
    for (let attempt = 0; attempt < 30; attempt++) {
      const w = Math.round(r.range(0.12, 0.3) * Math.min(frame.width, frame.height * 0.82) * 1.6);
      const h = Math.round((w * 112) / 92);
      if (w >= frame.width || h >= frame.height) continue;
      const x = r.int(0, frame.width - w);
      const y = r.int(0, frame.height - h);
      const clash = placed.some((p) => {
        const ph = p.height ?? p.width;
        return x < p.x + p.width && p.x < x + w && y < p.y + ph && p.y < y + h;
      });
      if (clash) continue;
      placed.push({ identity: identities[r.int(0, identities.length - 1)] as FaceIdentity | number, x, y, width: w, height: h });
      break;
    }
  }
  return placed;
}

/** A cluttered frame with faces composited in, plus ground-truth face boxes. */
export function renderScene(opts: { seed: number; faces: readonly SceneFace[]; width?: number; height?: number; noise?: number }): Scene {
  const width = opts.width ?? 320;
  const height = opts.height ?? 240;
  const r = rng(opts.seed, 0x5e);
  const buf = new Float32Array(width * height);
  // Background: a gradient wall.
  const b0 = r.range(0.2, 0.7);
  const gx = r.range(-0.2, 0.2);
  const gy = r.range(-0.2, 0.2);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) buf[y * width + x] = b0 + gx * (x / width - 0.5) + gy * (y / height - 0.5);
  }
  // Clutter: rectangles, ellipses, lines.
  const items = r.int(4, 12);
  for (let k = 0; k < items; k++) {
    const kind = r.int(0, 2);
    const shade = r.range(0, 1);
    const cx = r.range(0, width);
    const cy = r.range(0, height);
    const sx = r.range(5, width * 0.3);
    const sy = r.range(5, height * 0.3);
    const ang = r.range(0, Math.PI);
    const ca = Math.cos(ang);
    const sa = Math.sin(ang);
    const thick = r.range(1, 4);
    const reach = kind === 2 ? sx + thick : Math.hypot(sx, sy) / 2 + 1;
    const y0 = Math.max(0, Math.floor(cy - reach));
    const y1 = Math.min(height, Math.ceil(cy + reach));
    const x0 = Math.max(0, Math.floor(cx - reach));
    const x1 = Math.min(width, Math.ceil(cx + reach));
    for (let y = y0; y < y1; y++) {
      for (let x = x0; x < x1; x++) {
        const dx = x + 0.5 - cx;
        const dy = y + 0.5 - cy;
        let cov = 0;
        if (kind === 0) cov = Math.abs(dx) < sx / 2 && Math.abs(dy) < sy / 2 ? 1 : 0;
        else if (kind === 1) cov = ellipse(dx, dy, sx / 2, sy / 2, 1);
        else {
          const along = dx * ca + dy * sa;
          const across = -dx * sa + dy * ca;
          cov = Math.abs(along) < sx ? band(across, thick / 2, 1) : 0;
        }
        if (cov > 0) {
          const i = y * width + x;
          buf[i] = (buf[i] as number) + (shade - (buf[i] as number)) * cov;
        }
      }
    }
  }
  const boxes: SceneBox[] = [];
  opts.faces.forEach((f, k) => {
    const id = typeof f.identity === 'number' ? faceIdentity(f.identity) : f.identity;
    const pw = Math.max(1, Math.round(f.width));
    const ph = Math.max(1, Math.round(f.height ?? (f.width * 112) / 92));
    const v = f.variation === undefined ? faceVariation(mixSeed(opts.seed, 0x100 + k), 0.6) : toVariation(f.variation);
    const patch = rasterFace(id, { ...v, dx: 0, dy: 0 }, pw, ph);
    photometric(patch.value, pw, ph, { ...v, contrast: 1 });
    const fx = Math.round(f.x);
    const fy = Math.round(f.y);
    const mask = new Float32Array(width * height);
    for (let y = 0; y < ph; y++) {
      const sy = fy + y;
      if (sy < 0 || sy >= height) continue;
      for (let x = 0; x < pw; x++) {
        const sx = fx + x;
        if (sx < 0 || sx >= width) continue;
        const j = y * pw + x;
        const i = sy * width + sx;
        const a = patch.alpha[j] as number;
        buf[i] = (buf[i] as number) + ((patch.value[j] as number) - (buf[i] as number)) * a;
        mask[i] = patch.face[j] as number;
      }
    }
    const box = maskBox(mask, width, height, 0.5);
    if (box) boxes.push({ ...box, face: k, identitySeed: id.seed });
  });
  addNoise(buf, opts.noise ?? 0.015, rng(opts.seed, 0x4f));
  return { pixels: quantise(buf), width, height, boxes };
}
