/**
 * Training data for the face detector: synthetic scenes with ground-truth face boxes, cut into
 * fixed-size windows. A window is a positive when it frames a face the way the detector reports one
 * (face box centred, `boxHeight` of the window side), up to the position/scale jitter the image
 * pyramid and the score-map stride leave; it is a negative when it overlaps that canonical window
 * little (background, face parts, faces much too small or too large in it).
 */
import { iou, type Rect, resampleArea } from '../../../../shared/src/face/detector.js';
import type { FaceBox } from '../../../../shared/src/face/types.js';
import { faceVariation, renderScene, type Scene, type SceneFace } from '../synthetic/faces.js';
import { mixSeed, type Rng, rng } from '../synthetic/raster.js';

export interface WindowGeometry {
  /** Window side in pixels. */
  window: number;
  /** Face box height and width as fractions of the window side (box centred). */
  boxHeight: number;
  boxWidth: number;
}

/** Positives: centre within ±POS_SHIFT·side, side within 2^±POS_LOG2SCALE of the canonical window. */
const POS_SHIFT = 0.1;
const POS_LOG2SCALE = 0.2;
/** Negatives overlap every canonical face window by less than this IoU. */
const NEG_MAX_IOU = 0.3;

/** A random training scene: 0..`maxFaces` faces of widely varying size, pose and lighting. */
export function trainingScene(seed: number, identitySeeds: readonly number[], maxFaces = 3, width = 320, height = 240): Scene {
  const r = rng(seed, 0xd1);
  const count = r.int(0, maxFaces);
  const faces: SceneFace[] = [];
  for (let k = 0; k < count; k++) {
    for (let attempt = 0; attempt < 20; attempt++) {
      const w = Math.round(Math.exp(r.range(Math.log(28), Math.log(Math.min(width, height) * 0.7))));
      const h = Math.round((w * 112) / 92);
      if (w >= width || h >= height) continue;
      const x = r.int(0, width - w);
      const y = r.int(0, height - h);
      if (faces.some((p) => x < p.x + p.width && p.x < x + w && y < p.y + (p.height ?? 0) && p.y < y + h)) continue;
      const variation = faceVariation(mixSeed(seed, 0x200 + k), r.range(0.3, 1.2));
      faces.push({ identity: r.pick(identitySeeds), x, y, width: w, height: h, variation });
      break;
    }
  }
  return renderScene({ seed, faces, width, height, noise: r.range(0.005, 0.04) });
}

/** The window the detector should report for a face box (frame pixels). */
export function canonicalWindow(box: { x: number; y: number; w: number; h: number }, g: WindowGeometry): Rect {
  const side = box.h / g.boxHeight;
  return { x: box.x + box.w / 2 - side / 2, y: box.y + box.h / 2 - side / 2, width: side, height: side };
}

/** Window → reported face box, the inverse of canonicalWindow (up to the fixed aspect). */
export function windowFace(win: Rect, g: WindowGeometry): Rect {
  const s = win.width;
  return { x: win.x + ((1 - g.boxWidth) / 2) * s, y: win.y + ((1 - g.boxHeight) / 2) * s, width: g.boxWidth * s, height: g.boxHeight * s };
}

/**
 * Crops are stored flat, `window²` floats each (0..255), with photometric augmentation and random
 * mirroring applied; each with its box target (dx, dy, dw, dh, see detector-spec.ts; zeros for negatives).
 */
export class CropSet {
  readonly data: number[] = [];
  readonly targets: number[] = [];
  count = 0;
  constructor(readonly g: WindowGeometry) {}

  add(scene: Scene, win: Rect, r: Rng, face?: { x: number; y: number; w: number; h: number }): void {
    const n = this.g.window;
    const px = resampleArea({ data: scene.pixels, width: scene.width, height: scene.height }, win, n, n);
    const flip = r.chance(0.5);
    const contrast = Math.exp(r.range(-0.5, 0.3));
    const shift = r.range(-40, 40);
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        const v = px[y * n + (flip ? n - 1 - x : x)] as number;
        this.data.push(Math.min(255, Math.max(0, (v - 128) * contrast + 128 + shift)));
      }
    }
    if (face) {
      const s = win.width;
      const dx = (face.x + face.w / 2 - (win.x + s / 2)) / s;
      const dy = (face.y + face.h / 2 - (win.y + s / 2)) / s;
      this.targets.push(flip ? -dx : dx, dy, Math.log(face.w / (this.g.boxWidth * s)), Math.log(face.h / (this.g.boxHeight * s)));
    } else {
      this.targets.push(0, 0, 0, 0);
    }
    this.count++;
  }
}

function jittered(c: Rect, r: Rng, shift: number, log2Lo: number, log2Hi = -log2Lo): Rect {
  const side = c.width * 2 ** r.range(log2Lo, log2Hi);
  const cx = c.x + c.width / 2 + r.range(-shift, shift) * c.width;
  const cy = c.y + c.height / 2 + r.range(-shift, shift) * c.width;
  return { x: cx - side / 2, y: cy - side / 2, width: side, height: side };
}

function inFrame(w: Rect, scene: Scene): boolean {
  return w.x >= -0.5 && w.y >= -0.5 && w.x + w.width <= scene.width + 0.5 && w.y + w.height <= scene.height + 0.5;
}

/** Adds `perFace` jittered positives per face and `negatives` negatives (most near faces) from one scene. */
export function addSceneCrops(scene: Scene, g: WindowGeometry, r: Rng, pos: CropSet, neg: CropSet, perFace: number, negatives: number): void {
  const canon = scene.boxes.map((b) => canonicalWindow(b, g));
  canon.forEach((c, i) => {
    for (let k = 0; k < perFace; k++) pos.add(scene, jittered(c, r, POS_SHIFT, -POS_LOG2SCALE), r, scene.boxes[i]);
  });
  // The detector never looks at windows smaller than this many frame pixels (10% face height, 240p).
  const minSide = 24;
  const maxSide = Math.min(scene.width, scene.height);
  for (let k = 0, tries = 0; k < negatives && tries < negatives * 10; tries++) {
    let w: Rect;
    const near = canon.length > 0 && r.chance(0.6) ? r.pick(canon) : undefined;
    if (near) {
      // Face parts (eyes, mouth, half faces) and faces framed far too loosely.
      w = jittered(near, r, 0.7, -2.5, 1.5);
    } else {
      const side = Math.exp(r.range(Math.log(minSide), Math.log(maxSide)));
      w = { x: r.range(0, scene.width - side), y: r.range(0, scene.height - side), width: side, height: side };
    }
    if (w.width < minSide || !inFrame(w, scene) || canon.some((c) => iou(c, w) >= NEG_MAX_IOU)) continue;
    neg.add(scene, w, r);
    k++;
  }
}

/** Adds detections that match no face (IoU < 0.3 with every canonical window) as hard negatives. */
export function addHardNegatives(scene: Scene, dets: readonly FaceBox[], g: WindowGeometry, r: Rng, neg: CropSet, max: number): number {
  const canon = scene.boxes.map((b) => canonicalWindow(b, g));
  let added = 0;
  for (const d of dets) {
    if (added >= max) break;
    const side = d.height / g.boxHeight;
    const w = { x: d.x + d.width / 2 - side / 2, y: d.y + d.height / 2 - side / 2, width: side, height: side };
    if (canon.some((c) => iou(c, w) >= NEG_MAX_IOU)) continue;
    neg.add(scene, w, r);
    added++;
  }
  return added;
}

export interface MatchCounts {
  faces: number;
  detections: number;
  matched: number;
}

/** Greedy one-to-one matching of detections (best first) to ground-truth boxes at IoU ≥ `minIou`. */
export function matchDetections(dets: readonly FaceBox[], boxes: readonly { x: number; y: number; w: number; h: number }[], minIou = 0.4): MatchCounts {
  const gts = boxes.map((b) => ({ x: b.x, y: b.y, width: b.w, height: b.h }));
  const used = new Set<number>();
  let matched = 0;
  for (const d of [...dets].sort((a, b) => b.score - a.score)) {
    let best = -1;
    let bestIou = minIou;
    gts.forEach((gt, i) => {
      const v = iou(d, gt);
      if (!used.has(i) && v >= bestIou) {
        best = i;
        bestIou = v;
      }
    });
    if (best >= 0) {
      used.add(best);
      matched++;
    }
  }
  return { faces: gts.length, detections: dets.length, matched };
}
