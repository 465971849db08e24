import type { Logger, TrainingProgress } from '@edgeloop/shared';
import type { Db } from '../../store/db.js';
import type { HubConfig } from '../../config/schema.js';
import type { HubEvents } from '../../events/hub-events.js';
import { facePipeline } from './face-pipeline.js';
import { laundryPipeline } from './laundry-pipeline.js';
import type { PipelineConfig, PipelineDeps } from './pipeline-deps.js';
import { RunStore, type StageName } from './run-store.js';
import { TrainingSaga } from './saga.js';
import { TrainingScheduler } from './scheduler.js';

/** The hub config's `training` section as the pipelines' settings. */
export function pipelineConfig(t: HubConfig['training']): PipelineConfig {
  const l = t.limits;
  return {
    maxPhotos: t.laundry.maxPhotos,
    minPerClass: t.laundry.minPerClass,
    holdoutFraction: t.holdoutFraction,
    valFraction: t.valFraction,
    variants: t.variants,
    stageTimeoutMs: t.stageTimeoutMs,
    training: { batchSize: t.batchSize, learningRate: t.learningRate, maxEpochs: t.maxEpochs, patience: t.patience, checkpointEvery: t.checkpointEvery },
    sandbox: { memoryBytes: t.sandbox.memoryMb * 1024 * 1024, timeoutMs: t.sandbox.timeoutMs, requests: t.sandbox.requests, concurrency: t.sandbox.concurrency },
    thresholds: {
      laundry: { minValAccuracy: l.minValAccuracy, minHoldoutAccuracy: l.minHoldoutAccuracy, minClassRecall: l.minClassRecall },
      face: { maxFar: l.maxFar, maxFrr: l.maxFrr, maxDrift: l.maxDrift, serviceTolerance: l.serviceTolerance },
      perf: { maxAvgLatencyMs: l.maxAvgLatencyMs, maxMemoryMb: t.sandbox.memoryMb, minThroughputRps: l.minThroughputRps },
    },
    face: { epochs: t.face.epochs, retrainDetector: t.face.retrainDetector, detectorBudget: t.face.detectorBudget, maxSamples: t.face.maxSamples },
  };
}

/**
 * The training saga, its run store and its trigger scheduler, wired from the hub config.
 * `failpoint` (crash tests only): the hub SIGKILLs itself inside that stage — at its start, or for
 * `train` once a checkpoint has been written, so that the resume from the checkpoint is exercised.
 */
export function buildTraining(
  config: HubConfig,
  deps: Omit<PipelineDeps, 'config' | 'store'>,
  o: { db: Db; dataDir: string; events: HubEvents; log: Logger; now?: () => Date; publish?: (p: TrainingProgress) => void },
): { store: RunStore; saga: TrainingSaga; scheduler: TrainingScheduler } {
  const t = config.training;
  const now = o.now ?? (() => new Date());
  const store = new RunStore(o.db, now);
  const full: PipelineDeps = { ...deps, config: pipelineConfig(t), store };
  const failpoint = config.testing.trainingFailpoint as StageName | '';
  const die = () => process.kill(process.pid, 'SIGKILL');
  const saga = new TrainingSaga({
    store,
    pipelines: { laundry: laundryPipeline(full), face: facePipeline(full) },
    events: o.events,
    dataDir: o.dataDir,
    log: o.log,
    maxAttempts: t.maxAttempts,
    backoffMs: t.backoffMs,
    failpoint: failpoint && failpoint !== 'train' ? (stage) => stage === failpoint && die() : undefined,
    onProgress: (run, p) => {
      o.publish?.({ runId: run.id, modelType: run.modelType, ...p });
      if (failpoint === 'train' && p.epoch > t.checkpointEvery) die();
    },
  });
  const scheduler = new TrainingScheduler({
    store,
    saga,
    now,
    config: { nightlyAt: t.nightlyAt, timeZone: t.timeZone, nightlyWindowMinutes: t.nightlyWindowMinutes, laundry: t.laundry, faceMinMembers: t.face.minMembers },
    correctionsSince: (iso) => deps.intake.correctionsSince(iso),
    members: () => deps.intake.listMembers().length,
    log: o.log,
    intervalMs: t.checkIntervalMs || 60_000,
  });
  return { store, saga, scheduler };
}
