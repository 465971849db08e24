import type { Logger } from '@edgeloop/shared';
import type { HubBroker } from './broker/broker.js';
import type { FaceBundles } from './faces/face-bundles.js';
import type { Members } from './faces/members.js';
import type { EnrolmentService } from './fleet/enrolment-service.js';
import type { FleetService } from './fleet/fleet-service.js';
import type { IntakeService } from './intake/intake-service.js';
import type { ArtifactStore } from './registry/artifact-store.js';
import type { KeyStore } from './registry/key-store.js';
import type { ModelRegistry } from './registry/model-registry.js';
import type { HubEvents } from './events/hub-events.js';
import type { RolloutManager } from './rollout/rollout-manager.js';
import type { RolloutService } from './rollout/rollout-service.js';
import type { Db } from './store/db.js';
import type { RunStore } from './training/pipeline/run-store.js';
import type { TrainingSaga } from './training/pipeline/saga.js';
import type { TrainingScheduler } from './training/pipeline/scheduler.js';
import type { TrainingService } from './training/training-service.js';

/** Everything the hub's modules are wired with; built once in app.ts and passed down. */
export interface HubServices {
  log: Logger;
  db: Db;
  keys: KeyStore;
  artifacts: ArtifactStore;
  registry: ModelRegistry;
  fleet: FleetService;
  intake: IntakeService;
  enrolment: EnrolmentService;
  rollout: RolloutService;
  rollouts: RolloutManager;
  events: HubEvents;
  training: TrainingService;
  faces: FaceBundles;
  trainingRuns: RunStore;
  saga: TrainingSaga;
  scheduler: TrainingScheduler;
  members: Members;
  broker: HubBroker | null;
}
