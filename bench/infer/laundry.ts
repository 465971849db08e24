/**
 * The laundry half of `pnpm bench infer`: the network shape that ships (buildLaundryNetwork +
 * exportLaundryNetwork, untrained weights: speed does not depend on them) in onnxruntime with
 * intraOpThreads 1 like the agent, fed encoded 224×224 synthetic fabric photos through classifyLaundry.
 */
import { classifyLaundry, imageTiles, OnnxModel, type PreprocessSpec } from '@edgeloop/shared';
import { buildLaundryNetwork, exportLaundryNetwork, LAUNDRY_LABELS, LAUNDRY_TILE_OPTIONS, laundryPreprocessSpec } from '../../hub/src/training/laundry/laundry-training.js';
import { encodeImage, type SyntheticImageFormat } from '../../hub/src/training/synthetic/encode.js';
import { DEFECT_KINDS, laundryImage } from '../../hub/src/training/synthetic/laundry.js';
import type { TfRuntime } from '../../hub/src/training/tfjs/backend.js';

export interface LaundryBench {
  model: OnnxModel;
  spec: PreprocessSpec;
  photos: Buffer[];
  release(): Promise<void>;
}

export async function setupLaundry(o: { tf: TfRuntime; photos: number; format: SyntheticImageFormat }): Promise<LaundryBench> {
  const spec = laundryPreprocessSpec();
  const net = buildLaundryNetwork(o.tf.tf, spec, 1);
  const onnx = exportLaundryNetwork(net, spec);
  net.dispose();
  const model = await OnnxModel.load(onnx, spec, { intraOpThreads: 1 });
  const photos: Buffer[] = [];
  for (let i = 0; i < o.photos; i++) {
    const img = laundryImage({ seed: 4000 + i, defect: i % 2 === 0 ? 'none' : (DEFECT_KINDS[(i >> 1) % DEFECT_KINDS.length] ?? 'stain') });
    photos.push(await encodeImage(img.pixels, img.width, img.height, o.format, { quality: 90 }));
  }
  return { model, spec, photos, release: () => model.release() };
}

/** Closed loop: `inFlight` requests always running, `count` in all after `warmup` unmeasured ones. */
export async function laundryThroughput(b: LaundryBench, inFlight: number, count: number, warmup: number): Promise<{ imagesPerSec: number; latencies: number[]; tiles: number }> {
  let next = 0;
  let measuredFrom = 0;
  let tiles = 0;
  const latencies: number[] = [];
  const total = warmup + count;
  const worker = async () => {
    for (let i = next++; i < total; i = next++) {
      if (i === warmup) measuredFrom = performance.now();
      const t0 = performance.now();
      const r = await classifyLaundry(b.model, LAUNDRY_LABELS, b.photos[i % b.photos.length] as Buffer, b.spec);
      if (i >= warmup) {
        latencies.push(performance.now() - t0);
        tiles = r.tiles;
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const seconds = (performance.now() - measuredFrom) / 1000;
  return { imagesPerSec: latencies.length / seconds, latencies, tiles };
}

/** One request's two halves, sequentially: decode + tiles (sharp and TS) and the batched network run. */
export async function laundryParts(b: LaundryBench, photo: Buffer): Promise<{ tilesMs: number; runMs: number; inputs: number }> {
  const t0 = performance.now();
  const t = await imageTiles(photo, b.spec, LAUNDRY_TILE_OPTIONS);
  const per = t.whole.length;
  const only = t.plan.boxes.length === 1 ? t.plan.boxes[0] : undefined;
  const boxes = only && only.w === t.width && only.h === t.height ? 0 : t.plan.boxes.length;
  const input = new Float32Array(per * (boxes + 1));
  input.set(t.whole, 0);
  if (boxes > 0) input.set(t.batch.subarray(0, per * boxes), per);
  const t1 = performance.now();
  await b.model.runTensor(input, boxes + 1);
  return { tilesMs: t1 - t0, runMs: performance.now() - t1, inputs: boxes + 1 };
}
