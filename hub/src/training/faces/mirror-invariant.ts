/**
 * The mirror-averaging twin of a trained face backbone (see `mirrorInvariant`): one plain conv
 * network, exported and run on the device unchanged, whose embedding is the same for a face and its
 * mirror image.
 */
import type { PreprocessSpec } from '@edgeloop/shared';
import type * as TfModule from '@tensorflow/tfjs';
import type { TfRuntime } from '../tfjs/backend.js';
import { buildFaceBackbone, FaceTrainingError } from './face-backbone.js';

type Tf = TfRuntime['tf'];

/** The feature-map width after the poolings; throws unless every pooling halves an even width. */
export function checkMirrorWidth(width: number, blocks: number): number {
  const div = 2 ** (blocks - 1);
  if (width % div !== 0) throw new FaceTrainingError(`mirror averaging needs an input width divisible by ${div}, got ${width}`);
  return width / div;
}

/** Index helpers for a row-major tensor of the given shape. */
function strides(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) st[i] = (st[i + 1] as number) * (shape[i + 1] as number);
  return st;
}

/**
 * The mirror-averaging twin of a trained backbone g: a network of the same layers with doubled
 * channels whose output is g(x) + g(mirror(x)) (before the final L2 normalisation, which makes the
 * sum an average). Channel block 2 of every conv layer carries mirror(h(mirror(x))), computed with
 * horizontally flipped kernels (conv, 'same' padding, 2×2 pooling on even widths and ReLU all commute
 * with the mirror); the dense layer reads block 2 through mirrored weights, and the final batch norm
 * is rescaled for the sum. Exact, so the exported embedding is mirror-invariant.
 */
export function mirrorInvariant(tf: Tf, g: TfModule.Sequential, spec: PreprocessSpec, filters: readonly number[], dim: number, seed: number): TfModule.Sequential {
  const w = checkMirrorWidth(spec.width, filters.length);
  const twin = buildFaceBackbone(tf, spec, filters.map((f) => f * 2), dim, seed);
  const set = (name: string, weights: TfModule.Tensor[]): void => {
    twin.getLayer(name).setWeights(weights);
    tf.dispose(weights);
  };
  for (let i = 0; i < filters.length; i++) {
    const [kT] = g.getLayer(`conv${i + 1}`).getWeights();
    const k = (kT as TfModule.Tensor).dataSync();
    const [kh, kw, cin, cout] = (kT as TfModule.Tensor).shape as [number, number, number, number];
    const cin2 = i === 0 ? cin : cin * 2;
    const k2 = new Float32Array(kh * kw * cin2 * cout * 2);
    const st = strides([kh, kw, cin, cout]);
    const st2 = strides([kh, kw, cin2, cout * 2]);
    for (let a = 0; a < kh; a++) {
      for (let b = 0; b < kw; b++) {
        for (let c = 0; c < cin; c++) {
          for (let o = 0; o < cout; o++) {
            k2[a * (st2[0] as number) + b * (st2[1] as number) + c * (st2[2] as number) + o] = k[a * (st[0] as number) + b * (st[1] as number) + c * (st[2] as number) + o] as number;
            const cm = i === 0 ? c : c + cin;
            const v = k[a * (st[0] as number) + (kw - 1 - b) * (st[1] as number) + c * (st[2] as number) + o] as number;
            k2[a * (st2[0] as number) + b * (st2[1] as number) + cm * (st2[2] as number) + o + cout] = v;
          }
        }
      }
    }
    set(`conv${i + 1}`, [tf.tensor4d(k2, [kh, kw, cin2, cout * 2])]);
    set(
      `bn${i + 1}`,
      g.getLayer(`bn${i + 1}`).getWeights().map((p) => tf.concat([p, p])),
    );
  }
  const [dT] = g.getLayer('embedding').getWeights();
  const d = (dT as TfModule.Tensor).dataSync();
  const c = filters[filters.length - 1] as number;
  const h = Math.ceil(spec.height / 2 ** (filters.length - 1));
  const d2 = new Float32Array(h * w * c * 2 * dim);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let ch = 0; ch < c; ch++) {
        const src = ((y * w + x) * c + ch) * dim;
        const mir = ((y * w + (w - 1 - x)) * c + ch) * dim;
        const dst = ((y * w + x) * 2 * c + ch) * dim;
        d2.set(d.subarray(src, src + dim), dst);
        d2.set(d.subarray(mir, mir + dim), dst + c * dim);
      }
    }
  }
  set('embedding', [tf.tensor2d(d2, [h * w * c * 2, dim])]);
  const [gamma, beta, mean, variance] = g.getLayer('embedding_bn').getWeights() as TfModule.Tensor[];
  set('embedding_bn', [(gamma as TfModule.Tensor).clone(), tf.mul(beta as TfModule.Tensor, 2), tf.mul(mean as TfModule.Tensor, 2), (variance as TfModule.Tensor).clone()]);
  return twin;
}
