import {
  type Classification,
  type ModelType,
  normalizeEmbedding,
  preprocessImage,
  ValidationError,
} from '@edgeloop/shared';
import type { LoadedModel } from '../model/loaded-model.js';
import { classifyLaundry } from './laundry-tiles.js';
import type { Lease, ServingSlot } from '../model/serving-slot.js';

export type InferenceResult =
  | {
      modelType: 'laundry';
      version: number;
      /** `worstTile`: where in the photo the defect score was highest (null: the whole photo). */
      result: Classification & { defectScore: number; worstTile: { x: number; y: number; w: number; h: number } | null; tiles: number };
      latencyMs: number;
      servedBySpare?: true;
    }
  | { modelType: 'face'; version: number; result: { embedding: number[] }; latencyMs: number; servedBySpare?: true };

export interface InferenceObserver {
  record(modelType: ModelType, version: number, latencyMs: number, ok: boolean): void;
}

/**
 * Image in, result out, on whichever model the slot serves when the request starts. When the
 * serving model fails on a valid image (throws, NaN) and a warm spare is loaded, the request is
 * answered by the spare: the client gets an answer, the failure still counts against the new
 * version and drives the automatic rollback.
 */
export class InferenceService {
  constructor(
    private readonly modelType: ModelType,
    private readonly slot: ServingSlot,
    private readonly observer?: InferenceObserver,
    private readonly onResult?: (res: InferenceResult) => void,
  ) {}

  async infer(image: Buffer): Promise<InferenceResult> {
    const res = await this.answer(image);
    this.onResult?.(res);
    return res;
  }

  private async answer(image: Buffer): Promise<InferenceResult> {
    const lease = await this.slot.acquire();
    try {
      return await this.runOn(lease, image);
    } catch (err) {
      if (err instanceof ValidationError) throw err;
      const spare = this.slot.acquireFallback(lease.model);
      if (!spare) throw err;
      try {
        return { ...(await this.runOn(spare, image)), servedBySpare: true };
      } catch {
        throw err;
      }
    }
  }

  private async runOn(lease: Lease, image: Buffer): Promise<InferenceResult> {
    if (this.modelType === 'laundry') return this.runLaundry(lease, image);
    const { model } = lease;
    const t0 = performance.now();
    let ok = false;
    let input: Float32Array;
    try {
      input = await preprocessImage(image, model.manifest.preprocess);
    } catch (err) {
      lease.release();
      throw err; // a bad image says nothing about the model: not recorded
    }
    try {
      const res = this.interpret(model, await model.network.runTensor(input), performance.now() - t0);
      ok = true;
      return res;
    } finally {
      lease.release();
      this.observer?.record(this.modelType, model.version, performance.now() - t0, ok);
    }
  }

  /** Laundry photos are classified whole and in overlapping tiles; the worst tile decides. */
  private async runLaundry(lease: Lease, image: Buffer): Promise<InferenceResult> {
    const { model } = lease;
    const t0 = performance.now();
    let outcome: 'ok' | 'failed' | 'bad-image' = 'failed';
    try {
      const r = await classifyLaundry(model.network, model.manifest.labels, image, model.manifest.preprocess);
      outcome = 'ok';
      return {
        modelType: 'laundry',
        version: model.version,
        result: { label: r.label, confidence: r.confidence, scores: r.scores, defectScore: r.defectScore, worstTile: r.worstTile, tiles: r.tiles },
        latencyMs: performance.now() - t0,
      };
    } catch (err) {
      if (err instanceof ValidationError) outcome = 'bad-image'; // a bad image says nothing about the model
      throw err;
    } finally {
      lease.release();
      if (outcome !== 'bad-image') this.observer?.record(this.modelType, model.version, performance.now() - t0, outcome === 'ok');
    }
  }

  private interpret(model: LoadedModel, out: Float32Array, latencyMs: number): InferenceResult {
    return { modelType: 'face', version: model.version, result: { embedding: Array.from(normalizeEmbedding(out)) }, latencyMs };
  }
}
