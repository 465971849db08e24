import type { Logger } from '@edgeloop/shared';
import type { FaceBundles } from '../../faces/face-bundles.js';
import type { FleetService } from '../../fleet/fleet-service.js';
import type { IntakeService } from '../../intake/intake-service.js';
import type { ArtifactStore } from '../../registry/artifact-store.js';
import type { ModelRegistry } from '../../registry/model-registry.js';
import type { RolloutManager } from '../../rollout/rollout-manager.js';
import type { RolloutService } from '../../rollout/rollout-service.js';
import type { VerifyThresholds } from '../sandbox/verdict.js';
import type { RunStore } from './run-store.js';

/** The training defaults of the design notes, all configurable. */
export interface TrainingSettings {
  batchSize: number;
  learningRate: number;
  maxEpochs: number;
  patience: number;
  checkpointEvery: number;
}

export interface PipelineConfig {
  /** Newest confirmed photos a laundry run takes. */
  maxPhotos: number;
  minPerClass: number;
  /** Fixed holdout: photos whose content hash falls below this fraction. */
  holdoutFraction: number;
  valFraction: number;
  /** Training images per photo after augmentation (the photo itself + variants - 1 augmented). */
  variants: number;
  stageTimeoutMs: number;
  training: TrainingSettings;
  sandbox: { memoryBytes: number; timeoutMs: number; requests: number; concurrency: number };
  thresholds: VerifyThresholds;
  face: {
    /** Embedder training epochs (the face trainer's own schedule). */
    epochs: number;
    /** Train a new detector instead of keeping the one in service. */
    retrainDetector: boolean;
    detectorBudget: 'test' | 'full';
    /** Nightly face samples a run takes at most. */
    maxSamples: number;
  };
}

export interface PipelineDeps {
  config: PipelineConfig;
  intake: IntakeService;
  artifacts: ArtifactStore;
  registry: ModelRegistry;
  fleet: FleetService;
  rollout: RolloutService;
  rollouts: RolloutManager;
  faces: FaceBundles;
  store: RunStore;
  log: Logger;
}
