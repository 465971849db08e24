import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import { join, resolve } from 'node:path';
import { createLogger, type DecodedMessage, errorMessage, type Logger, writeFileAtomic } from '@edgeloop/shared';
import { buildHttpApp, listen, portOf } from './api/http-server.js';
import { HubBroker } from './broker/broker.js';
import type { HubConfig } from './config/schema.js';
import { newSecret } from './fleet/credentials.js';
import { EnrolmentService } from './fleet/enrolment-service.js';
import { FleetService } from './fleet/fleet-service.js';
import { galleryDeployer } from './faces/gallery-deploy.js';
import { FaceBundles } from './faces/face-bundles.js';
import { Members } from './faces/members.js';
import { IntakeService } from './intake/intake-service.js';
import { ArtifactStore } from './registry/artifact-store.js';
import { KeyStore } from './registry/key-store.js';
import { ModelRegistry } from './registry/model-registry.js';
import { HubEvents } from './events/hub-events.js';
import { RolloutManager } from './rollout/rollout-manager.js';
import { RolloutService } from './rollout/rollout-service.js';
import type { HubServices } from './services.js';
import { openDatabase } from './store/db.js';
import { buildTraining } from './training/pipeline/wire.js';
import { TrainingService } from './training/training-service.js';

export interface RunningHub {
  services: HubServices;
  httpPort: number;
  mqttPort: number;
  httpUrl: string;
  mqttUrl: string;
  adminTokenFile: string;
  adminToken: string;
  stop(): Promise<void>;
}

/** Wires the hub: store, keys, registry, broker, fleet, rollout, training, HTTP. */
export async function startHub(config: HubConfig, log: Logger = createLogger({ name: 'hub', level: config.logLevel })): Promise<RunningHub> {
  const dataDir = resolve(config.dataDir);
  await mkdir(dataDir, { recursive: true });
  const db = openDatabase(join(dataDir, 'hub.sqlite'));
  const keys = await KeyStore.open(dataDir, db);
  const artifacts = new ArtifactStore(dataDir, db);
  await artifacts.init();
  const fleet = new FleetService({
    db,
    keys,
    log: log.child({ module: 'fleet' }),
    desiredTtlMs: config.signing.desiredTtlHours * 3_600_000,
    healthHistory: config.fleet.healthHistoryPerDevice,
  });
  const registry = new ModelRegistry(db, artifacts, keys, config.signing.manifestTtlDays * 86_400_000, {
    keepVersions: config.registry.keepVersions,
    inUse: (type) => fleet.versionsInUse(type),
  });
  const enrolment = new EnrolmentService(db, fleet, log.child({ module: 'enrolment' }));
  const intake = new IntakeService({ db, artifacts, log: log.child({ module: 'intake' }), faceSampleRetentionDays: config.intake.faceSampleRetentionDays });
  const pruneTimer = setInterval(() => intake.pruneFaceSamples(), 3_600_000);
  pruneTimer.unref();
  const rollout = new RolloutService(fleet, registry, log.child({ module: 'rollout' }));
  const training = new TrainingService(registry, log.child({ module: 'training' }));
  const events = new HubEvents(db, log.child({ module: 'events' }));
  const { canaryFraction, checkIntervalMs, ...defaults } = config.rollout;
  const rollouts = new RolloutManager({ db, fleet, registry, rollout, events, log: log.child({ module: 'rollouts' }), defaults, canaryFraction, checkIntervalMs });
  const faces = new FaceBundles({
    registry,
    artifacts,
    intake,
    log: log.child({ module: 'faces' }),
    canaryVersion: () => rollouts.runningFor('face')?.version ?? null,
    // A member change ships at once: the canary doors get the rebuilt candidate, every other door the rebuilt version in service.
    onGalleryVersion: galleryDeployer({ rollouts, registry, rollout, fleet, log: log.child({ module: 'faces' }) }),
  });
  const members = new Members({ intake, artifacts, faces, log: log.child({ module: 'members' }) });
  const trainingLog = log.child({ module: 'training' });
  const pipelines = buildTraining(
    config,
    { intake, artifacts, registry, fleet, rollout, rollouts, faces, log: trainingLog },
    {
      db,
      dataDir,
      events,
      log: trainingLog,
      publish: (p) => services.broker?.publishFleet('training', p).catch((err) => trainingLog.debug({ err: errorMessage(err) }, 'progress not published')),
    },
  );
  const services: HubServices = {
    log,
    db,
    keys,
    artifacts,
    registry,
    fleet,
    enrolment,
    intake,
    rollout,
    rollouts,
    events,
    training,
    faces,
    members,
    trainingRuns: pipelines.store,
    saga: pipelines.saga,
    scheduler: pipelines.scheduler,
    broker: null,
  };

  if (config.training.bootstrapOnStart) await training.bootstrapMissing();

  const { token: adminToken, file: adminTokenFile } = await adminTokenOf(config, dataDir);
  const brokerLog = log.child({ module: 'broker' });
  const tls = config.tls.certFile && config.tls.keyFile ? { cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) } : null;
  const broker = await HubBroker.start({
    tls,
    host: config.mqtt.host,
    port: config.mqtt.port,
    log: brokerLog,
    devices: fleet,
    adminToken,
    onDeviceMessages: db.transaction((batch: DecodedMessage[]) => {
      for (const msg of batch) {
        if (msg.name === 'state') fleet.onState(msg.deviceId, msg.payload);
        else if (msg.name === 'telemetry') fleet.onTelemetry(msg.deviceId, msg.payload);
        else if (msg.name === 'events') fleet.onEvent(msg.deviceId, msg.payload);
      }
    }),
  });
  services.broker = broker;
  fleet.attachBroker(broker);
  events.attachBroker(broker);
  rollouts.start();
  // Runs a crash interrupted continue where they stopped; then the triggers are checked.
  pipelines.saga.resumeUnfinished();
  if (config.training.checkIntervalMs > 0) pipelines.scheduler.start();
  await broker.publishFleet('keys', keys.keySet());
  await fleet.republishAll();

  const urls = { mqttUrl: `${tls ? 'mqtts' : 'mqtt'}://${config.mqtt.host}:${broker.port}`, httpUrl: '' };
  const server: Server = await listen(buildHttpApp(services, adminToken, urls, { maxEpochs: { laundry: config.training.maxEpochs, face: config.training.face.epochs } }), config.http.host, config.http.port, tls);
  const httpPort = portOf(server);
  urls.httpUrl = config.http.publicUrl || `${tls ? 'https' : 'http'}://${config.http.host}:${httpPort}`;
  const { httpUrl, mqttUrl } = urls;
  log.info({ httpUrl, mqttUrl, dataDir }, 'hub ready');

  let stopped = false;
  return {
    services,
    httpPort,
    mqttPort: broker.port,
    httpUrl,
    mqttUrl,
    adminToken,
    adminTokenFile,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(pruneTimer);
      pipelines.scheduler.stop();
      pipelines.saga.stop();
      await pipelines.saga.idle();
      rollouts.stop();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await broker.close();
      db.close();
      log.info('hub stopped');
    },
  };
}

async function adminTokenOf(config: HubConfig, dataDir: string): Promise<{ token: string; file: string }> {
  const file = join(dataDir, 'admin-token');
  if (config.admin.token) return { token: config.admin.token, file: '' };
  if (!existsSync(file)) {
    await writeFileAtomic(file, `${newSecret()}\n`);
    await chmod(file, 0o600);
  }
  return { token: readFileSync(file, 'utf8').trim(), file };
}
