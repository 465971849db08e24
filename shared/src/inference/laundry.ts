import type { PreprocessSpec } from '../contracts/manifest.js';
import { EdgeloopError } from '../errors.js';
import { type ImageTilesOptions, imageTiles } from '../image/tiles.js';

export interface TileBoxResult {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface LaundryClassification {
  /** 'defect' when defectScore ≥ 0.5, otherwise the other label ('good'). */
  label: string;
  /** defectScore for 'defect', 1 - defectScore otherwise. */
  confidence: number;
  /** The network's scores for the worst image (the tile or whole photo with the highest defect score). */
  scores: Record<string, number>;
  /** Highest defect probability over the whole photo and all its tiles. */
  defectScore: number;
  /** The tile that scored worst, in original-photo pixels; null when the whole photo scored highest or no tiles ran. */
  worstTile: TileBoxResult | null;
  /** Tiles evaluated besides the whole photo (0 when the photo fits in one tile). */
  tiles: number;
}

export interface TileClassifierNetwork {
  runTensor(data: Float32Array, batch: number): Promise<Float32Array>;
}

export const DEFECT_LABEL = 'defect';

/**
 * tile 0 = automatic: the larger of twice the network input side and a quarter of the photo's
 * shorter side (after downscaling to maxSide), grown further if more than maxTiles would be needed.
 */
export const DEFAULT_TILE_OPTIONS: Readonly<Required<ImageTilesOptions>> = Object.freeze({
  tile: 0,
  overlap: 0.25,
  maxTiles: 16,
  maxSide: 2048,
});

/**
 * Classifies a laundry photo as the worst of its parts: the whole photo and overlapping tiles of it
 * go through the network in one batched call, and the photo's defect score is the highest of all,
 * so a stain or tear too small to survive one resize of the whole photo is still found.
 * An undecodable image throws ValidationError; non-finite network output throws EdgeloopError.
 */
export async function classifyLaundry(
  model: TileClassifierNetwork,
  labels: readonly string[],
  image: Buffer | Uint8Array,
  spec: PreprocessSpec,
  opts: Partial<ImageTilesOptions> = {},
): Promise<LaundryClassification> {
  const defectIndex = labels.indexOf(DEFECT_LABEL);
  if (defectIndex < 0) throw new EdgeloopError('model-output', `classifier labels [${labels.join(', ')}] have no '${DEFECT_LABEL}'`);
  const okLabel = labels.find((l) => l !== DEFECT_LABEL) ?? 'good';

  const { plan, width, height, scale, batch, whole } = await imageTiles(image, spec, { ...DEFAULT_TILE_OPTIONS, ...opts });
  // A plan of one box covering the whole photo duplicates `whole`: skip it.
  const only = plan.boxes.length === 1 ? plan.boxes[0] : undefined;
  const boxes = only && only.w === width && only.h === height ? [] : plan.boxes;

  const per = whole.length;
  const input = new Float32Array(per * (boxes.length + 1));
  input.set(whole, 0);
  if (boxes.length > 0) input.set(batch.subarray(0, per * boxes.length), per);
  const images = boxes.length + 1;
  const out = await model.runTensor(input, images);

  const row = out.length / images;
  if (!Number.isInteger(row) || row < labels.length) {
    throw new EdgeloopError('model-output', `expected ${images}×${labels.length} scores, got ${out.length}`);
  }
  let worst = 0;
  for (let i = 0; i < images; i++) {
    for (let j = 0; j < labels.length; j++) {
      if (!Number.isFinite(out[i * row + j] as number)) throw new EdgeloopError('model-output', 'network produced a non-finite score');
    }
    if ((out[i * row + defectIndex] as number) > (out[worst * row + defectIndex] as number)) worst = i;
  }

  const defectScore = out[worst * row + defectIndex] as number;
  const scores: Record<string, number> = {};
  for (let j = 0; j < labels.length; j++) scores[labels[j] as string] = out[worst * row + j] as number;
  const box = worst > 0 ? boxes[worst - 1] : undefined;
  const defect = defectScore >= 0.5;
  return {
    label: defect ? DEFECT_LABEL : okLabel,
    confidence: defect ? defectScore : 1 - defectScore,
    scores,
    defectScore,
    worstTile: box ? toOriginal(box, scale) : null,
    tiles: boxes.length,
  };
}

function toOriginal(b: TileBoxResult, scale: number): TileBoxResult {
  if (scale === 1) return { ...b };
  return { x: Math.round(b.x * scale), y: Math.round(b.y * scale), w: Math.round(b.w * scale), h: Math.round(b.h * scale) };
}
