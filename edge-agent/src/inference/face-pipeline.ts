import { cropFace, decodeGrey, type FaceBox, faceTensor, type GreyImage, normalizeEmbedding, type OnnxModel } from '@edgeloop/shared';
import type { FaceAssets } from '../model/loaded-model.js';

export type FaceDecisionKind = 'member' | 'stranger' | 'no-face';

export interface FaceCandidate {
  box: FaceBox;
  /** Closest gallery member, null for an empty gallery. */
  memberId: string | null;
  /** Cosine similarity with that member, null for an empty gallery. */
  score: number | null;
  accepted: boolean;
}

/**
 * One frame's decision: the largest face (the person at the door) decides; the others are listed.
 * A stranger or no face never carries a member id.
 */
export interface FaceDecision {
  decision: FaceDecisionKind;
  memberId: string | null;
  score: number | null;
  threshold: number;
  box: FaceBox | null;
  faces: FaceCandidate[];
}

export interface FaceDecisionOutput {
  decision: FaceDecision;
  /** The aligned crop of the deciding face (what the embedder saw), for training samples. */
  crop: GreyImage | null;
}

/**
 * Frame → decision: detect → crop and align → embed (one batch for all faces) → match against the
 * gallery → threshold. The detector, crop, threshold and gallery all come from the same signed
 * bundle as the embedder.
 */
export async function decideFace(network: OnnxModel, face: FaceAssets, image: Buffer): Promise<FaceDecisionOutput> {
  const frame = await decodeGrey(image);
  const threshold = face.spec.threshold;
  const boxes = (await face.detector.detect(frame))
    .slice()
    .sort((a, b) => b.width * b.height - a.width * a.height)
    .slice(0, face.spec.maxFaces);
  if (boxes.length === 0) return { decision: { decision: 'no-face', memberId: null, score: null, threshold, box: null, faces: [] }, crop: null };

  const spec = network.spec;
  const per = spec.channels * spec.width * spec.height;
  const batch = new Float32Array(per * boxes.length);
  const crops = boxes.map((box, i) => {
    const crop = cropFace(frame, box, face.spec.crop, { width: spec.width, height: spec.height });
    batch.set(faceTensor(crop, spec), i * per);
    return crop;
  });
  const out = await network.runTensor(batch, boxes.length);
  const dim = out.length / boxes.length;
  const faces = boxes.map((box, i): FaceCandidate => {
    const emb = normalizeEmbedding(out.subarray(i * dim, (i + 1) * dim));
    const m = face.gallery.match(emb);
    return { box, memberId: m?.memberId ?? null, score: m?.score ?? null, accepted: m !== null && m.score >= threshold };
  });
  const top = faces[0] as FaceCandidate;
  return {
    decision: {
      decision: top.accepted ? 'member' : 'stranger',
      memberId: top.accepted ? top.memberId : null,
      score: top.score,
      threshold,
      box: top.box,
      faces,
    },
    crop: crops[0] ?? null,
  };
}

