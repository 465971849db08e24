import { faceTensor, type GreyImage, normalizeEmbedding, OnnxModel, type PreprocessSpec, resample } from '@edgeloop/shared';
import { chooseThreshold, type ThresholdChoice } from '../training/faces/threshold.js';

export interface CalibrationInput {
  /** Enrolment crops per member (what the gallery will hold). */
  members: Map<string, GreyImage[]>;
  /** Faces of people who are not members (generated strangers): what an impostor scores. */
  strangers: GreyImage[];
  /**
   * Photos of members that the network never trained on (the run's validation split). When given,
   * they are the genuine scores (against their own member's crops): a crop the network trained on
   * scores its own member far higher than a new photo at the door does, so leave-one-out genuine
   * scores would put the threshold too high. Each probe against the other members is an impostor score.
   */
  probes?: { label: string; image: GreyImage }[];
}

/**
 * The match threshold for a new embedder, from enrolment data only: genuine scores are each unseen
 * probe against its own member's crops (or, without probes, each crop against its member's other
 * crops: leave one out); impostor scores are the best match of every stranger face, and of every
 * crop and probe against the other members. FAR is weighted above FRR.
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
    const best = (e: Float32Array, templates: Float32Array[]): number | null => (templates.length > 0 ? Math.max(...templates.map((t) => dot(e, t))) : null);
    const others = (id: string): Float32Array[] => [...byMember].filter(([m]) => m !== id).flatMap(([, l]) => l);
    const probes = (input.probes ?? []).filter((p) => byMember.has(p.label));
    for (const [id, list] of byMember) {
      list.forEach((e, i) => {
        const own = best(
          e,
          list.filter((_, j) => j !== i),
        );
        if (own !== null && probes.length === 0) genuine.push(own);
        const other = best(e, others(id));
        if (other !== null) impostor.push(other);
      });
    }
    for (const p of probes) {
      const e = await embed(p.image);
      const own = best(e, byMember.get(p.label) ?? []);
      if (own !== null) genuine.push(own);
      const other = best(e, others(p.label));
      if (other !== null) impostor.push(other);
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
