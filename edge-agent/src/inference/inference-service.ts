import {
  type Classification,
  classifyLaundry,
  type GreyImage,
  type ModelType,
  normalizeEmbedding,
  preprocessImage,
  ValidationError,
} from '@edgeloop/shared';
import type { LoadedModel } from '../model/loaded-model.js';
import { decideFace, type FaceDecision } from './face-pipeline.js';

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
  | { modelType: 'face'; version: number; result: FaceDecision; latencyMs: number; servedBySpare?: true }
  /** A face network shipped without a face pipeline (detector and gallery): the raw embedding. */
  | { modelType: 'face'; version: number; result: { embedding: number[] }; latencyMs: number; servedBySpare?: true };

/** A face decision's aligned crop, handed to the observer of answered requests (training samples). */
export interface AnswerExtras {
  faceCrop?: GreyImage | null;
}

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
    private readonly onResult?: (res: InferenceResult, extras: AnswerExtras) => void,
  ) {}

  async infer(image: Buffer): Promise<InferenceResult> {
    return (await this.inferWithExtras(image)).res;
  }

  /** Like `infer`, plus what the pipeline produced on the way (a face decision's aligned crop). */
  async inferWithExtras(image: Buffer): Promise<{ res: InferenceResult; extras: AnswerExtras }> {
    const extras: AnswerExtras = {};
    const res = await this.answer(image, extras);
    this.onResult?.(res, extras);
    return { res, extras };
  }

  private async answer(image: Buffer, extras: AnswerExtras): Promise<InferenceResult> {
    const lease = await this.slot.acquire();
    try {
      return await this.runOn(lease, image, extras);
    } catch (err) {
      if (err instanceof ValidationError) throw err;
      const spare = this.slot.acquireFallback(lease.model);
      if (!spare) throw err;
      try {
        return { ...(await this.runOn(spare, image, extras)), servedBySpare: true };
      } catch {
        throw err;
      }
    }
  }

  private async runOn(lease: Lease, image: Buffer, extras: AnswerExtras): Promise<InferenceResult> {
    if (this.modelType === 'laundry') return this.runLaundry(lease, image);
    if (lease.model.face) return this.runFace(lease, image, extras);
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

  /** Frame → face decision on one bundle: its detector, embedder, threshold and gallery together. */
  private async runFace(lease: Lease, image: Buffer, extras: AnswerExtras): Promise<InferenceResult> {
    const { model } = lease;
    const face = model.face as NonNullable<LoadedModel['face']>;
    const t0 = performance.now();
    let outcome: 'ok' | 'failed' | 'bad-image' = 'failed';
    try {
      const out = await decideFace(model.network, face, image);
      outcome = 'ok';
      extras.faceCrop = out.crop;
      return { modelType: 'face', version: model.version, result: out.decision, latencyMs: performance.now() - t0 };
    } catch (err) {
      if (err instanceof ValidationError) outcome = 'bad-image';
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
