import { type Box, clamp, maskBox, mixSeed, quantise, type Rng, rng, smoothstep } from './raster.js';

/**
 * Parametric synthetic faces: an identity is a seeded parameter vector, a sample is that identity
 * rendered under a per-image variation (pose, lighting, expression, framing, noise) as an 8-bit
 * greyscale image. Deterministic and download-free; meant for tests and the demo, not realism.
 *
 * Face space: origin at the image centre, one unit = half the face-image width (for the default
 * 92×112 aspect), v grows downwards.
 */

export interface FaceIdentity {
  seed: number;
  /** Oval half-width / half-height in face units. */
  faceWidth: number;
  faceHeight: number;
  /** 0..1: how much the lower face narrows towards the chin. */
  jaw: number;
  /** Skin grey level 0..1. */
  skin: number;
  /** Half the distance between the eye centres. */
  eyeSpacing: number;
  eyeSize: number;
  /** Vertical eye position (negative = above centre). */
  eyeHeight: number;
  iris: number;
  browGap: number;
  browArch: number;
  browSlant: number;
  browThickness: number;
  browShade: number;
  noseLength: number;
  noseWidth: number;
  mouthGap: number;
  mouthWidth: number;
  mouthCurve: number;
  lipThickness: number;
  lipShade: number;
  /** Hairline height on the forehead (negative = above centre). */
  hairline: number;
  /** How much the hairline recedes at the temples. */
  recede: number;
  hairShade: number;
  hairVolume: number;
  /** How far below the face centre the hair reaches behind the head. */
  hairLength: number;
  glasses: boolean;
  /** Beard opacity, 0 = none. */
  beard: number;
  beardShade: number;
  /** Usual background grey level of this subject's photos. */
  background: number;
}

export interface FaceVariation {
  /** -1..1, about ±30°: features shift horizontally, the turned-away side compresses. */
  yaw: number;
  /** In-plane rotation in degrees. */
  roll: number;
  /** Translation as a fraction of the image width / height. */
  dx: number;
  dy: number;
  scale: number;
  /** Direction the light comes from, radians in image space. */
  lightAngle: number;
  /** 0..1 strength of the directional gradient and face shading. */
  lightStrength: number;
  brightness: number;
  contrast: number;
  /** Added to the identity's mouth curve (positive = smile). */
  smile: number;
  /** Eye openness, 1 = neutral. */
  eyeOpen: number;
  /** Standard deviation of the sensor noise, in 0..1 grey units. */
  noise: number;
  noiseSeed: number;
}

export interface ImageSize {
  width: number;
  height: number;
}

const SIDES = [-1, 1] as const;

export const FACE_SIZE: ImageSize = { width: 92, height: 112 };

export const NEUTRAL_VARIATION: FaceVariation = {
  yaw: 0,
  roll: 0,
  dx: 0,
  dy: 0,
  scale: 1,
  lightAngle: -Math.PI / 2,
  lightStrength: 0,
  brightness: 0,
  contrast: 1,
  smile: 0,
  eyeOpen: 1,
  noise: 0,
  noiseSeed: 0,
};

export function faceIdentity(seed: number): FaceIdentity {
  const r = rng(seed, 0x1d);
  const hairShade = r.chance(0.5) ? r.range(0.05, 0.3) : r.range(0.3, 0.85);
  const bald = r.chance(0.12);
  return {
    seed,
    faceWidth: r.range(0.58, 0.76),
    faceHeight: r.range(0.8, 0.98),
    jaw: r.range(0, 1),
    skin: r.range(0.45, 0.85),
    eyeSpacing: r.range(0.25, 0.36),
    eyeSize: r.range(0.085, 0.135),
    eyeHeight: r.range(-0.2, -0.06),
    iris: r.range(0.08, 0.45),
    browGap: r.range(0.1, 0.18),
    browArch: r.range(-0.01, 0.06),
    browSlant: r.range(-0.05, 0.05),
    browThickness: r.range(0.025, 0.06),
    browShade: r.range(0.05, 0.45),
    noseLength: r.range(0.26, 0.42),
    noseWidth: r.range(0.08, 0.16),
    mouthGap: r.range(0.13, 0.22),
    mouthWidth: r.range(0.18, 0.32),
    mouthCurve: r.range(-0.03, 0.05),
    lipThickness: r.range(0.025, 0.06),
    lipShade: r.range(0.55, 0.85),
    hairline: bald ? r.range(-0.95, -0.8) : r.range(-0.62, -0.32),
    recede: r.range(0, 0.5),
    hairShade,
    hairVolume: bald ? 0 : r.range(0.02, 0.22),
    hairLength: bald ? -0.6 : r.range(-0.3, 0.9),
    glasses: r.chance(0.3),
    beard: r.chance(0.25) ? r.range(0.35, 0.9) : 0,
    beardShade: clamp(hairShade + r.range(-0.1, 0.1)),
    background: r.range(0.05, 0.45),
  };
}

/** A random per-image variation; `strength` scales every deviation from neutral (1 ≈ ORL-like). */
export function faceVariation(seed: number, strength = 1): FaceVariation {
  const r = rng(seed, 0x7a);
  const s = strength;
  return {
    yaw: r.range(-0.6, 0.6) * s,
    roll: r.range(-15, 15) * s,
    dx: r.range(-0.05, 0.05) * s,
    dy: r.range(-0.04, 0.04) * s,
    scale: 1 + r.range(-0.08, 0.08) * s,
    lightAngle: r.range(0, 2 * Math.PI),
    lightStrength: r.range(0, 0.45) * s,
    brightness: r.range(-0.1, 0.1) * s,
    contrast: 1 + r.range(-0.2, 0.2) * s,
    smile: r.range(-0.03, 0.07) * s,
    eyeOpen: 1 + r.range(-0.5, 0.2) * s,
    noise: r.range(0.005, 0.03) * s,
    noiseSeed: r.int(0, 0x7fffffff),
  };
}

interface FacePatch {
  value: Float32Array;
  /** Coverage of the whole head (hair, ears, face). */
  alpha: Float32Array;
  /** Coverage of the face oval only, for ground-truth boxes. */
  face: Float32Array;
}

/** Coverage of an ellipse with an anti-aliased edge `soft` face units wide. */
function ellipse(du: number, dv: number, rx: number, ry: number, soft: number): number {
  const d = Math.sqrt((du / rx) * (du / rx) + (dv / ry) * (dv / ry));
  return clamp(0.5 - ((d - 1) * Math.min(rx, ry)) / soft);
}

/** Coverage of a band of half-width `half` around distance `dist`. */
function band(dist: number, half: number, soft: number): number {
  return clamp(0.5 - (Math.abs(dist) - half) / soft);
}

/** Renders the head (without background or photometric effects) into a width × height patch. */
function rasterFace(id: FaceIdentity, v: FaceVariation, width: number, height: number): FacePatch {
  const n = width * height;
  const value = new Float32Array(n);
  const alpha = new Float32Array(n);
  const face = new Float32Array(n);
  const unit = Math.min(width / 2, height / 2 / 1.2174) * v.scale;
  const px = 1 / unit;
  const cx0 = width / 2 + v.dx * width;
  const cy0 = height / 2 + v.dy * height;
  const rot = (v.roll * Math.PI) / 180;
  const cr = Math.cos(rot);
  const sr = Math.sin(rot);
  const yaw = clamp(v.yaw, -1, 1);
  const ay = Math.abs(yaw);
  const lc = Math.cos(v.lightAngle);
  const ls = Math.sin(v.lightAngle);
  const lk = v.lightStrength;

  // Geometry under the pose.
  const fcx = -yaw * 0.05;
  const fcy = 0.12;
  const frx = id.faceWidth * (1 - 0.08 * ay);
  const fry = id.faceHeight;
  const ey = fcy + id.eyeHeight;
  const eyes = [-1, 1].map((side) => ({
    side,
    x: fcx + yaw * 0.12 + side * id.eyeSpacing * (1 - 0.12 * ay),
    rx: id.eyeSize * (1 - 0.35 * Math.max(0, side * yaw)),
    ry: Math.max(0.004, id.eyeSize * 0.48 * v.eyeOpen),
  }));
  const nx0 = fcx + yaw * 0.2;
  const noseTop = ey + 0.05;
  const noseTip = ey + id.noseLength;
  const shadowSide = lc >= 0 ? -1 : 1;
  const mx = fcx + yaw * 0.14;
  const my = noseTip + id.mouthGap;
  const mw = id.mouthWidth * (1 - 0.15 * ay);
  const curve = id.mouthCurve + v.smile;
  const hairEnd = fcy + id.hairLength;
  const skin = id.skin;
  const frameHalf = 0.018;

  for (let y = 0; y < height; y++) {
    const Y = (y + 0.5 - cy0) / unit;
    for (let x = 0; x < width; x++) {
      const X = (x + 0.5 - cx0) / unit;
      const u = cr * X + sr * Y;
      const w = -sr * X + cr * Y;
      let val = 0;
      let a = 0;

      // Hair behind the head.
      const hairBack =
        ellipse(u - fcx, w - (fcy - 0.08), frx + 0.06 + id.hairVolume, fry + 0.04 + id.hairVolume, px) *
        clamp((hairEnd - w) / 0.08);
      if (hairBack > 0) {
        val = id.hairShade;
        a = hairBack;
      }
      // Ears.
      for (const side of SIDES) {
        const ear = ellipse(u - (fcx + side * frx * 0.97), w - (ey + 0.12), 0.085 * (1 - 0.3 * Math.max(0, side * yaw)), 0.16, px);
        if (ear > 0) {
          val += (skin * 0.88 - val) * ear;
          a += (1 - a) * ear;
        }
      }
      // Face oval with a narrowing jaw.
      const dvf = w - fcy;
      const lower = dvf > 0 ? dvf / fry : 0;
      const rxe = frx * (1 - id.jaw * 0.3 * lower * lower);
      const fc = ellipse(u - fcx, dvf, rxe, fry, px);
      if (fc > 0) {
        const nxu = (u - fcx) / rxe;
        const nyv = dvf / fry;
        const r2 = nxu * nxu + nyv * nyv;
        let s = skin * (1 + lk * 0.35 * (nxu * lc + nyv * ls) - 0.15 * r2 * r2);

        // Hair over the forehead.
        const hl = id.hairline + id.recede * 0.4 * (u - fcx) * (u - fcx);
        const fringe = id.hairVolume > 0 ? smoothstep(hl + 0.03, hl - 0.03, w) : 0;
        s += (id.hairShade - s) * fringe;
        // Beard below the nose.
        if (id.beard > 0) {
          const bc = id.beard * smoothstep(noseTip + 0.02, noseTip + 0.1, w) * smoothstep(0.55, 0.3, Math.abs(u - fcx) / rxe - 0.4 * lower);
          s += (id.beardShade - s) * bc;
        }
        for (const e of eyes) {
          const du = u - e.x;
          const dv = w - ey;
          // Socket shadow.
          const sock = ellipse(du, dv + 0.02, e.rx * 1.6, id.eyeSize * 1.0, 0.06) * 0.45;
          s += (skin * 0.7 - s) * sock;
          // Brow.
          const bw = id.eyeSize * 1.6;
          const t = du / bw;
          if (Math.abs(t) < 1) {
            const inner = -e.side * t;
            const cy = ey - id.browGap - id.browArch * (1 - t * t) + id.browSlant * inner;
            const bcv = band(w - cy, (id.browThickness / 2) * (1 - 0.4 * t * t), px) * clamp((1 - Math.abs(t)) / 0.15);
            s += (id.browShade - s) * bcv;
          }
          // Eye: sclera, iris, pupil, lid line.
          const sc = ellipse(du, dv, e.rx, e.ry, px);
          if (sc > 0) {
            s += (0.82 - s) * sc;
            const ir = Math.min(sc, ellipse(du - yaw * 0.02, dv, id.eyeSize * 0.45, id.eyeSize * 0.45, px));
            s += (id.iris - s) * ir;
            const pu = Math.min(sc, ellipse(du - yaw * 0.02, dv, id.eyeSize * 0.2, id.eyeSize * 0.2, px));
            s += (0.04 - s) * pu;
          }
          const lid = dv < 0 ? band((Math.sqrt((du / e.rx) ** 2 + (dv / e.ry) ** 2) - 1) * e.ry, 0.008, px) : 0;
          s += (0.1 - s) * lid * clamp((e.rx - Math.abs(du)) / 0.02);
          // Glasses.
          if (id.glasses) {
            const grx = id.eyeSize * 1.75 * (1 - 0.3 * Math.max(0, e.side * yaw));
            const gry = id.eyeSize * 1.3;
            const gd = Math.sqrt((du / grx) ** 2 + (dv / gry) ** 2);
            s += (0.08 - s) * band((gd - 1) * Math.min(grx, gry), frameHalf, px);
            if (gd < 1) s *= 0.93;
            // Temple arm towards the ear.
            const outer = e.side * du - grx;
            if (outer > 0 && e.side * (u - fcx) < rxe) s += (0.08 - s) * band(dv + 0.03, frameHalf, px);
          }
        }
        if (id.glasses) {
          const l = eyes[0];
          const rgt = eyes[1];
          if (l && rgt) {
            const gx0 = l.x + id.eyeSize * 1.75 * (1 - 0.3 * Math.max(0, -yaw));
            const gx1 = rgt.x - id.eyeSize * 1.75 * (1 - 0.3 * Math.max(0, yaw));
            if (u > gx0 - px && u < gx1 + px) s += (0.08 - s) * band(w - (ey - 0.04), frameHalf, px);
          }
        }
        // Nose: shadowed flank, bottom shadow, nostrils.
        if (w > noseTop && w < noseTip + 0.05) {
          const along = (w - noseTop) / (noseTip - noseTop);
          const flank = band(u - (nx0 + shadowSide * id.noseWidth * 0.45 * Math.min(1, along + 0.3)), 0.02, 0.04);
          s += (skin * 0.72 - s) * flank * smoothstep(0, 0.3, along) * (0.5 + 0.5 * lk);
        }
        s += (skin * 0.68 - s) * ellipse(u - nx0, w - (noseTip + 0.025), id.noseWidth, 0.03, 0.03) * 0.6;
        for (const side of SIDES) {
          s += (skin * 0.3 - s) * ellipse(u - (nx0 + side * id.noseWidth * 0.45), w - noseTip, 0.033, 0.018, px);
        }
        // Mouth: lips and the dark line between them.
        const t = (u - mx) / mw;
        if (Math.abs(t) < 1) {
          const line = my - curve * t * t;
          const taper = Math.sqrt(1 - t * t);
          const dl = w - line;
          const upper = dl < 0 ? band(dl + (id.lipThickness * taper) / 2, (id.lipThickness * taper) / 2, px) : 0;
          const lowerLip = dl >= 0 ? band(dl - (id.lipThickness * 1.3 * taper) / 2, (id.lipThickness * 1.3 * taper) / 2, px) : 0;
          s += (skin * id.lipShade - s) * Math.max(upper, lowerLip);
          s += (0.08 - s) * band(dl, 0.01 + 0.006 * taper, px) * clamp((1 - Math.abs(t)) / 0.1);
        }
        val += (s - val) * fc;
        a += (1 - a) * fc;
        face[y * width + x] = fc;
      }
      value[y * width + x] = val;
      alpha[y * width + x] = a;
    }
  }
  return { value, alpha, face };
}

/** Global lighting gradient, brightness and contrast over a patch, in place. */
function photometric(buf: Float32Array, width: number, height: number, v: FaceVariation): void {
  const lc = Math.cos(v.lightAngle);
  const ls = Math.sin(v.lightAngle);
  const half = Math.max(width, height) / 2;
  for (let y = 0; y < height; y++) {
    const Y = (y + 0.5 - height / 2) / half;
    for (let x = 0; x < width; x++) {
      const X = (x + 0.5 - width / 2) / half;
      const i = y * width + x;
      const g = 1 + v.lightStrength * 0.5 * (X * lc + Y * ls);
      buf[i] = ((buf[i] as number) * g - 0.5) * v.contrast + 0.5 + v.brightness;
    }
  }
}

function addNoise(buf: Float32Array, sigma: number, r: Rng): void {
  if (sigma <= 0) return;
  for (let i = 0; i < buf.length; i++) buf[i] = (buf[i] as number) + sigma * r.gauss();
}

function toVariation(variation: FaceVariation | number): FaceVariation {
  return typeof variation === 'number' ? faceVariation(variation) : variation;
}

/** Renders one greyscale face photo (row-major, one byte per pixel). */
export function renderFace(id: FaceIdentity, variation: FaceVariation | number, size: ImageSize = FACE_SIZE): Uint8Array {
  const v = toVariation(variation);
  const { width, height } = size;
  const patch = rasterFace(id, v, width, height);
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const bg = id.background * (1 + 0.15 * (y / height - 0.5));
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const a = patch.alpha[i] as number;
      out[i] = bg + ((patch.value[i] as number) - bg) * a;
    }
  }
  photometric(out, width, height, v);
  addNoise(out, v.noise, rng(v.noiseSeed, 0x4e));
  return quantise(out);
}

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
