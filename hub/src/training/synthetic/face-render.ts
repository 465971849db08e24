import { FACE_SIZE, type FaceIdentity, type FaceVariation, type ImageSize, toVariation } from './face-identity.js';
import { clamp, quantise, type Rng, rng, smoothstep } from './raster.js';

/** Rasterising one synthetic face: the head patch, the photometric effects and sensor noise. */

const SIDES = [-1, 1] as const;

export interface FacePatch {
  value: Float32Array;
  /** Coverage of the whole head (hair, ears, face). */
  alpha: Float32Array;
  /** Coverage of the face oval only, for ground-truth boxes. */
  face: Float32Array;
}

/** Coverage of an ellipse with an anti-aliased edge `soft` face units wide. */
export function ellipse(du: number, dv: number, rx: number, ry: number, soft: number): number {
  const d = Math.sqrt((du / rx) * (du / rx) + (dv / ry) * (dv / ry));
  return clamp(0.5 - ((d - 1) * Math.min(rx, ry)) / soft);
}

/** Coverage of a band of half-width `half` around distance `dist`. */
export function band(dist: number, half: number, soft: number): number {
  return clamp(0.5 - (Math.abs(dist) - half) / soft);
}

/** Renders the head (without background or photometric effects) into a width × height patch. */
export function rasterFace(id: FaceIdentity, v: FaceVariation, width: number, height: number): FacePatch {
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
export function photometric(buf: Float32Array, width: number, height: number, v: FaceVariation): void {
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

export function addNoise(buf: Float32Array, sigma: number, r: Rng): void {
  if (sigma <= 0) return;
  for (let i = 0; i < buf.length; i++) buf[i] = (buf[i] as number) + sigma * r.gauss();
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
