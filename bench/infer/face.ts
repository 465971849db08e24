/**
 * The face half of `pnpm bench infer`: a bundle made by the hub's own trainers (detector, embedder as
 * it ships: default architecture, mirror-averaged), a gallery of real members (embedded from their
 * enrolment photos, as FaceBundles.buildGallery does) padded to N members with random unit vectors,
 * and encoded 320×240 camera frames of one real member each.
 */
import {
  cropFace,
  DEFAULT_CROP,
  decodeGrey,
  FaceDetector,
  FaceGallery,
  type FaceSpec,
  faceTensor,
  type GalleryEntry,
  type GreyImage,
  normalizeEmbedding,
  OnnxModel,
  pyramid,
  pyramidScales,
} from '@edgeloop/shared';
import type { FaceAssets } from '../../edge-agent/src/model/loaded-model.js';
import { calibrateThreshold } from '../../hub/src/faces/calibrate.js';
import { enrolmentCrop } from '../../hub/src/faces/enrolment-crop.js';
import { trainFaceDetector } from '../../hub/src/training/faces/detector-training.js';
import { trainFaceEmbedder } from '../../hub/src/training/faces/embedder-training.js';
import { FACE_EVAL_TRAINING } from '../../hub/src/training/faces/face-eval.js';
import { encodeImage, type SyntheticImageFormat } from '../../hub/src/training/synthetic/encode.js';
import { faceIdentity, faceVariation, renderScene } from '../../hub/src/training/synthetic/faces.js';
import { rng } from '../../hub/src/training/synthetic/raster.js';
import type { TfRuntime } from '../../hub/src/training/tfjs/backend.js';

export interface Frame {
  bytes: Buffer;
  memberId: string;
}

export interface FaceBench {
  network: OnnxModel;
  assets: FaceAssets;
  frames: Frame[];
  info: Record<string, unknown>;
  release(): Promise<void>;
}

const memberSeed = (i: number) => 810_000 + i * 7;
const ENROL_PHOTOS = 6;

/** A door-camera photo: one face of identity `seed` in a cluttered 320×240 frame. */
function cameraFrame(seed: number, sceneSeed: number, variation: number, strength: number, format: SyntheticImageFormat): Promise<Buffer> {
  const r = rng(sceneSeed, 0xbe);
  const width = Math.round(r.range(70, 110));
  const height = Math.round((width * 112) / 92);
  const s = renderScene({
    seed: sceneSeed,
    faces: [{ identity: faceIdentity(seed), x: r.int(0, 320 - width), y: r.int(0, 240 - height), width, variation: faceVariation(variation, strength) }],
  });
  return encodeImage(s.pixels, s.width, s.height, format, { quality: 90 });
}

function randomUnit(dim: number, seed: number): Float32Array {
  const r = rng(seed, 0x9a11);
  const v = new Float32Array(dim);
  for (let j = 0; j < dim; j++) v[j] = r.gauss();
  return normalizeEmbedding(v);
}

export async function setupFace(o: {
  tf: TfRuntime;
  galleryMembers: number;
  realMembers: number;
  frames: number;
  epochs: number;
  format: SyntheticImageFormat;
  note: (s: string) => void;
}): Promise<FaceBench> {
  const started = performance.now();
  const ids = Array.from({ length: o.realMembers }, (_, i) => `member-${i}`);
  const enrolment = new Map<string, Buffer[]>();
  for (const [i, id] of ids.entries()) {
    enrolment.set(id, await Promise.all(Array.from({ length: ENROL_PHOTOS }, (_, k) => cameraFrame(memberSeed(i), 5000 + i * 10 + k, 100 + k, 0.4, 'png'))));
  }
  o.note('training the face detector (budget full)');
  const detector = await trainFaceDetector({ seed: 7, budget: 'full', tf: o.tf });
  o.note(`detector trained in ${detector.seconds.toFixed(0)} s, recall ${detector.metrics.recall.toFixed(2)}, precision ${detector.metrics.precision.toFixed(2)}`);
  const det = await FaceDetector.load(detector.onnx, detector.spec, { intraOpThreads: 1 });
  // Training crops exactly as the hub makes them (the bundle's detector on the enrolment photos).
  const crop = async (photo: Buffer) => (await enrolmentCrop(photo, det, { crop: DEFAULT_CROP }, { width: 92, height: 112 })).crop;
  const crops = new Map<string, GreyImage[]>();
  for (const [id, photos] of enrolment) crops.set(id, await Promise.all(photos.map(crop)));
  const strangers = await Promise.all(Array.from({ length: 12 }, (_, k) => cameraFrame(700_000 + k * 13, 9000 + k, 200 + k, 0.4, 'png').then(crop)));
  o.note(`training the face embedder (${o.epochs} epochs, mirror-averaged)`);
  const embedder = await trainFaceEmbedder({
    ...FACE_EVAL_TRAINING,
    samples: [...crops].flatMap(([identity, imgs]) => imgs.map((image) => ({ identity, image }))),
    seed: 3,
    tf: o.tf,
    epochs: o.epochs,
  });
  const { threshold } = await calibrateThreshold(embedder.onnx, embedder.preprocess, { members: crops, strangers });
  o.note(`embedder trained in ${embedder.seconds.toFixed(0)} s, threshold ${threshold}`);

  // The agent's runtime objects: one session each, intraOpThreads 1.
  const network = await OnnxModel.load(embedder.onnx, embedder.preprocess, { intraOpThreads: 1 });
  const spec = embedder.preprocess;
  const entries: GalleryEntry[] = [];
  for (const [id, photos] of enrolment) {
    const embeddings: Float32Array[] = [];
    for (const p of photos) {
      const c = (await enrolmentCrop(p, det, { crop: DEFAULT_CROP }, spec)).crop;
      embeddings.push(normalizeEmbedding(await network.runTensor(faceTensor(c, spec))));
    }
    entries.push({ memberId: id, embeddings });
  }
  const dim = entries[0]?.embeddings[0]?.length ?? 0;
  for (let k = entries.length; k < o.galleryMembers; k++) entries.push({ memberId: `random-${k}`, embeddings: [randomUnit(dim, k)] });
  // Through the gallery file format, as the agent loads it.
  const gallery = FaceGallery.decode(FaceGallery.fromEntries(entries, dim).encode());
  const faceSpec: FaceSpec = { detector: detector.spec, crop: DEFAULT_CROP, threshold, maxFaces: 3, members: gallery.size };

  // Frames: new scenes and poses (not the enrolment ones) of the real members.
  const frames: Frame[] = [];
  for (let i = 0; i < o.frames; i++) {
    const m = i % o.realMembers;
    frames.push({ bytes: await cameraFrame(memberSeed(m), 20_000 + i, 3000 + i, 0.4, o.format), memberId: ids[m] as string });
  }
  return {
    network,
    assets: { detector: det, gallery, spec: faceSpec },
    frames,
    info: {
      members: gallery.size,
      realMembers: o.realMembers,
      templates: entries.reduce((a, e) => a + e.embeddings.length, 0),
      embeddingDim: dim,
      embedderInput: `${spec.width}x${spec.height}`,
      embedderEpochs: embedder.epochs,
      mirrorAverage: true,
      threshold,
      detector: { recall: detector.metrics.recall, precision: detector.metrics.precision, threshold: detector.spec.threshold, window: detector.spec.window, stride: detector.spec.stride },
      pyramidLevels: pyramidScales(detector.spec, 320, 240).map((s) => `${Math.round(320 * s)}x${Math.round(240 * s)}`),
      frameFormat: o.format,
      frameBytesMean: Math.round(frames.reduce((a, f) => a + f.bytes.length, 0) / Math.max(1, frames.length)),
      setupSeconds: Math.round((performance.now() - started) / 1000),
      trainSeconds: { detector: Math.round(detector.seconds), embedder: Math.round(embedder.seconds) },
    },
    release: async () => {
      await network.release();
      await det.release();
    },
  };
}

/** One frame's decision path timed part by part (same steps as decideFace, in order). */
export async function decisionParts(b: FaceBench, bytes: Buffer): Promise<{ decodeMs: number; pyramidMs: number; detectMs: number; embedMs: number; matchMs: number }> {
  const { assets, network } = b;
  const t0 = performance.now();
  const frame = await decodeGrey(bytes);
  const t1 = performance.now();
  const dspec = assets.detector.spec;
  pyramid(frame, pyramidScales(dspec, frame.width, frame.height), dspec.mean, dspec.std);
  const t2 = performance.now();
  const boxes = (await assets.detector.detect(frame)).sort((a, c) => c.width * c.height - a.width * a.height).slice(0, assets.spec.maxFaces);
  const t3 = performance.now();
  const spec = network.spec;
  const per = spec.channels * spec.width * spec.height;
  const batch = new Float32Array(per * boxes.length);
  boxes.forEach((box, i) => {
    batch.set(faceTensor(cropFace(frame, box, assets.spec.crop, { width: spec.width, height: spec.height }), spec), i * per);
  });
  const out = boxes.length > 0 ? await network.runTensor(batch, boxes.length) : new Float32Array(0);
  const t4 = performance.now();
  const dim = boxes.length > 0 ? out.length / boxes.length : 0;
  for (let i = 0; i < boxes.length; i++) assets.gallery.match(normalizeEmbedding(out.subarray(i * dim, (i + 1) * dim)));
  const t5 = performance.now();
  // pyramidMs is the detector's plain-TS resampling alone; detectMs includes it again (pyramid + onnx + boxes + NMS).
  return { decodeMs: t1 - t0, pyramidMs: t2 - t1, detectMs: t3 - t2, embedMs: t4 - t3, matchMs: t5 - t4 };
}
