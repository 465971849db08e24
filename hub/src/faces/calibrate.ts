import { faceTensor, type GreyImage, normalizeEmbedding, OnnxModel, type PreprocessSpec, resample } from '@edgeloop/shared';
import { chooseThreshold, type ThresholdChoice } from '../training/faces/threshold.js';

export interface CalibrationInput {
  /** Enrolment crops per member (what the gallery will hold). */
  members: Map<string, GreyImage[]>;
  /** Faces of people who are not members (generated strangers): what an impostor scores. */
  strangers: GreyImage[];
}

/**
 * The match threshold for a new embedder, from enrolment data only: genuine scores are each crop
 * against its own member's other crops (leave one out), impostor scores are the best match of
 * every stranger face and of every crop against the other members. FAR is weighted above FRR.
 */
export async function calibrateThreshold(onnx: Uint8Array, spec: PreprocessSpec, input: CalibrationInput): Promise<ThresholdChoice> {
  const model = await OnnxModel.load(onnx, spec);
  const fit = (img: GreyImage) => (img.width === spec.width && img.height === spec.height ? img : resample(img, 0, 0, img.width, img.height, spec.width, spec.height));
  const embed = async (img: GreyImage) => normalizeEmbedding(await model.runTensor(faceTensor(fit(img), spec)));
  try {
    const byMember = new Map<string, Float32Array[]>();
    for (const [id, crops] of input.members) {
      const list: Float32Array[] = [];
      for (const c of crops) list.push(await embed(c));
      byMember.set(id, list);
    }
    const genuine: number[] = [];
    const impostor: number[] = [];
    for (const [id, list] of byMember) {
      list.forEach((e, i) => {
        const own = list.filter((_, j) => j !== i);
        if (own.length > 0) genuine.push(Math.max(...own.map((t) => dot(e, t))));
        const other = [...byMember].filter(([m]) => m !== id).flatMap(([, l]) => l);
        if (other.length > 0) impostor.push(Math.max(...other.map((t) => dot(e, t))));
      });
    }
    const all = [...byMember.values()].flat();
    for (const s of input.strangers) {
      const e = await embed(s);
      if (all.length > 0) impostor.push(Math.max(...all.map((t) => dot(e, t))));
    }
    return chooseThreshold({ genuine, impostor });
  } finally {
    await model.release();
  }
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}
