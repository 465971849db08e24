/**
 * Photos as multiple-instance bags for the laundry classifier: each photo becomes the network inputs
 * the device scores (whole photo + tiles, made by the shared imageTiles), and a bag's defect score is
 * the maximum over its inputs, as in classifyLaundry.
 */
import { DEFAULT_TILE_OPTIONS, type ImageTilesOptions, imageTiles, type PreprocessSpec } from '@edgeloop/shared';
import type * as TfModule from '@tensorflow/tfjs';
import type { TfRuntime } from '../tfjs/backend.js';

type Tf = TfRuntime['tf'];

/** The device's tile options (classifyLaundry's defaults). */
export const LAUNDRY_TILE_OPTIONS: Readonly<Required<ImageTilesOptions>> = DEFAULT_TILE_OPTIONS;

/** One photo as the device sees it: the whole photo first, then its tiles (NCHW, normalised). */
export interface LaundryBag {
  defect: boolean;
  parts: Float32Array[];
}

/** Decodes a photo into its network inputs exactly like classifyLaundry does. */
export async function laundryBag(image: Uint8Array, defect: boolean, spec: PreprocessSpec, tiles: ImageTilesOptions = LAUNDRY_TILE_OPTIONS): Promise<LaundryBag> {
  const { plan, width, height, batch, whole } = await imageTiles(image, spec, tiles);
  const only = plan.boxes.length === 1 ? plan.boxes[0] : undefined;
  const boxes = only && only.w === width && only.h === height ? 0 : plan.boxes.length;
  const per = whole.length;
  const parts = [whole];
  for (let i = 0; i < boxes; i++) parts.push(batch.slice(i * per, (i + 1) * per));
  return { defect, parts };
}

/** Random draws per bag per batch (flip x, flip y). */
export const AUGMENT_DRAWS = 2;

/** NCHW planes of one input → NHWC, optionally flipped (augmentation: fabric has no orientation). */
function toNhwc(src: Float32Array, dst: Float32Array, offset: number, spec: PreprocessSpec, flipX: boolean, flipY: boolean): void {
  const { width: w, height: h, channels: c } = spec;
  const plane = w * h;
  for (let y = 0; y < h; y++) {
    const sy = flipY ? h - 1 - y : y;
    for (let x = 0; x < w; x++) {
      const sx = flipX ? w - 1 - x : x;
      const o = offset + (y * w + x) * c;
      for (let k = 0; k < c; k++) dst[o + k] = src[k * plane + sy * w + sx] as number;
    }
  }
}

/**
 * A batch of bags as one [B·K, H, W, C] tensor, K = the largest bag; shorter bags are padded with
 * their whole photo (a duplicate does not change a maximum) and masked out of means.
 */
export function batchTensors(tf: Tf, bags: readonly LaundryBag[], spec: PreprocessSpec, rand?: () => number): { x: TfModule.Tensor4D; mask: TfModule.Tensor2D; y: TfModule.Tensor1D; k: number } {
  const k = Math.max(...bags.map((b) => b.parts.length));
  const per = spec.width * spec.height * spec.channels;
  const data = new Float32Array(bags.length * k * per);
  const mask = new Float32Array(bags.length * k);
  bags.forEach((bag, i) => {
    const fx = rand ? rand() < 0.5 : false;
    const fy = rand ? rand() < 0.5 : false;
    for (let j = 0; j < k; j++) {
      const part = bag.parts[j] ?? (bag.parts[0] as Float32Array);
      toNhwc(part, data, (i * k + j) * per, spec, fx, fy);
      mask[i * k + j] = j < bag.parts.length ? 1 : 0;
    }
  });
  return {
    x: tf.tensor4d(data, [bags.length * k, spec.height, spec.width, spec.channels]),
    mask: tf.tensor2d(mask, [bags.length, k]),
    y: tf.tensor1d(bags.map((b) => (b.defect ? 1 : 0))),
    k,
  };
}

const EPS = 1e-6;

/**
 * Per-bag loss: a defect bag −log(max p); a good bag the mean of −log(1 − p) over its parts plus
 * −log(1 − max p) (the part the device would act on). Bags are weighted so both classes count equally.
 */
export function bagLoss(tf: Tf, probs: TfModule.Tensor2D, mask: TfModule.Tensor2D, y: TfModule.Tensor1D, classWeight: [number, number]): { loss: TfModule.Scalar; maxP: TfModule.Tensor1D } {
  const maxP = tf.max(probs, 1) as TfModule.Tensor1D;
  const pos = tf.neg(tf.log(tf.add(maxP, EPS)));
  const negParts = tf.neg(tf.log(tf.add(tf.sub(1, probs), EPS)));
  const negMean = tf.div(tf.sum(tf.mul(negParts, mask), 1), tf.sum(mask, 1));
  const neg = tf.mul(tf.add(negMean, tf.neg(tf.log(tf.add(tf.sub(1, maxP), EPS)))), 0.5);
  const w = tf.add(tf.mul(y, classWeight[1]), tf.mul(tf.sub(1, y), classWeight[0]));
  const perBag = tf.add(tf.mul(y, pos), tf.mul(tf.sub(1, y), neg));
  return { loss: tf.div(tf.sum(tf.mul(w, perBag)), tf.sum(w)) as TfModule.Scalar, maxP };
}

export function defectProbs(tf: Tf, model: TfModule.LayersModel, x: TfModule.Tensor4D, bags: number, k: number, training: boolean): TfModule.Tensor2D {
  const out = model.apply(x, { training }) as TfModule.Tensor2D;
  return tf.reshape(tf.slice(out, [0, 1], [-1, 1]), [bags, k]) as TfModule.Tensor2D;
}

/** Loss and device-rule accuracy of the model on bags (inference mode). */
export function evaluateBags(tf: Tf, model: TfModule.LayersModel, bags: readonly LaundryBag[], spec: PreprocessSpec, classWeight: [number, number]): { loss: number; accuracy: number } {
  let lossSum = 0;
  let weight = 0;
  let correct = 0;
  for (let b = 0; b < bags.length; b += 32) {
    const chunk = bags.slice(b, b + 32);
    const t = batchTensors(tf, chunk, spec);
    const [loss, maxP] = tf.tidy(() => {
      const r = bagLoss(tf, defectProbs(tf, model, t.x, chunk.length, t.k, false), t.mask, t.y, classWeight);
      return [r.loss.dataSync()[0] as number, r.maxP.dataSync() as Float32Array];
    });
    const w = chunk.reduce((a, bag) => a + classWeight[bag.defect ? 1 : 0], 0);
    lossSum += loss * w;
    weight += w;
    chunk.forEach((bag, i) => {
      if ((maxP[i] as number) >= 0.5 === bag.defect) correct++;
    });
    tf.dispose([t.x, t.mask, t.y]);
  }
  return { loss: lossSum / Math.max(weight, EPS), accuracy: correct / Math.max(1, bags.length) };
}

