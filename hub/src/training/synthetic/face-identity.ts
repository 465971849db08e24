import { clamp, rng } from './raster.js';

/**
 * Parameters of a synthetic face: who (an identity, a seeded parameter vector) and how this photo
 * of them differs (a per-image variation). Rendering lives in face-render.ts.
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

/** A variation given directly, or derived from a seed with `faceVariation(seed)`. */
export function toVariation(variation: FaceVariation | number): FaceVariation {
  return typeof variation === 'number' ? faceVariation(variation) : variation;
}
