import { type Classification, interpretClassifier, type ModelType, normalizeEmbedding, preprocessImage } from '@edgeloop/shared';
import type { ServingSlot } from '../model/serving-slot.js';

export type InferenceResult =
  | { modelType: 'laundry'; version: number; result: Classification; latencyMs: number }
  | { modelType: 'face'; version: number; result: { embedding: number[] }; latencyMs: number };

export interface InferenceObserver {
  record(modelType: ModelType, version: number, latencyMs: number, ok: boolean): void;
}

/** Image in, result out, on whichever model the slot serves at the moment the request starts. */
export class InferenceService {
  constructor(
    private readonly modelType: ModelType,
    private readonly slot: ServingSlot,
    private readonly observer?: InferenceObserver,
  ) {}

  async infer(image: Buffer): Promise<InferenceResult> {
    const lease = this.slot.acquire();
    const t0 = performance.now();
    const { model } = lease;
    let ok = false;
    try {
      const input = await preprocessImage(image, model.manifest.preprocess);
      const out = await model.network.runTensor(input);
      const latencyMs = performance.now() - t0;
      let res: InferenceResult;
      if (this.modelType === 'laundry') {
        res = { modelType: 'laundry', version: model.version, result: interpretClassifier(out, model.manifest.labels), latencyMs };
      } else {
        res = { modelType: 'face', version: model.version, result: { embedding: Array.from(normalizeEmbedding(out)) }, latencyMs };
      }
      ok = true;
      return res;
    } finally {
      lease.release();
      this.observer?.record(this.modelType, model.version, performance.now() - t0, ok);
    }
  }
}
