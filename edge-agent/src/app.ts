import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import { join, resolve } from 'node:path';
import { createLogger, type DeviceEvent, errorMessage, KeyRing, type Logger, MODEL_TYPE_OF_ROLE, type ModelType } from '@edgeloop/shared';
import { apiPort, buildAgentApi, listenApi } from './api/http-api.js';
import { makeFailpoint } from './config/failpoint.js';
import type { AgentConfig } from './config/schema.js';
import { buildDeviceState } from './device-state.js';
import { InferenceEventRecorder } from './inference/inference-events.js';
import { buildDoorActuator } from './door/door-actuator.js';
import { DoorController } from './door/door-controller.js';
import { SampleSpool } from './door/sample-spool.js';
import { InferenceService } from './inference/inference-service.js';
import { bootSlot } from './model/boot.js';
import { ContentStore } from './model/content-store.js';
import { InstalledStateFile } from './model/installed-state.js';
import { ServingSlot } from './model/serving-slot.js';
import { SlotController } from './model/slot-controller.js';
import { DeviceMqtt } from './mqtt/device-mqtt.js';
import { resolveCredentials } from './mqtt/credentials.js';
import { hubMessageHandler } from './mqtt/hub-messages.js';
import { KeySetFile } from './mqtt/key-set-file.js';
import { Outbox } from './mqtt/outbox.js';
import { OutboxSender } from './mqtt/outbox-sender.js';
import { availableMemoryBytes, freeDiskBytes } from './telemetry/health.js';
import { InferenceStats } from './telemetry/inference-stats.js';
import { renderMetrics } from './telemetry/prometheus.js';
import { TelemetryPublisher } from './telemetry/telemetry-publisher.js';
import { SideloadWatcher } from './updates/sideload-watcher.js';
import { UpdateRunner } from './updates/update-runner.js';

export { AGENT_VERSION } from './device-state.js';

export interface RunningAgent {
  apiPort: number;
  apiUrl: string;
  slot: ServingSlot;
  runner: UpdateRunner;
  controller: SlotController;
  outbox: Outbox;
  sideload: SideloadWatcher;
  stop(): Promise<void>;
}

type EventType = DeviceEvent['type'];

/** Wires the agent: trust, stores, serving slot, boot, update runner, outbox, MQTT, telemetry and the local API. */
export async function startAgent(config: AgentConfig, log: Logger = createLogger({ name: 'agent', level: config.logLevel })): Promise<RunningAgent> {
  const dataDir = resolve(config.dataDir);
  await mkdir(dataDir, { recursive: true });
  const modelType: ModelType = MODEL_TYPE_OF_ROLE[config.role];
  const pems = (text: string[], files: string[]) => [...text, ...files.map((f) => readFileSync(f, 'utf8'))];
  const trust = new KeyRing({
    rootKeysPem: pems(config.trust.rootKeysPem, config.trust.rootKeyFiles),
    directKeysPem: pems(config.trust.keysPem, config.trust.keyFiles),
  });
  const keySets = new KeySetFile(trust, dataDir, log.child({ module: 'trust' }));
  keySets.loadPersisted();
  await keySets.fetchFromHub(config.hub.httpUrl, 3_000);
  const store = new ContentStore(dataDir);
  await store.init();
  const installed = new InstalledStateFile(dataDir, log);
  const slot = new ServingSlot(log.child({ module: 'serving' }));
  const stats = new InferenceStats();
  const failpoint = makeFailpoint(config.testing.failpoint, log);

  let mqttClient: DeviceMqtt | null = null;
  const outbox = new Outbox({ path: join(dataDir, 'outbox.sqlite'), log: log.child({ module: 'outbox' }) });
  const sender = new OutboxSender({
    outbox,
    publish: (e) => (mqttClient ? mqttClient.publish('events', e) : Promise.reject(new Error('mqtt not started'))),
    isConnected: () => mqttClient?.connected ?? false,
    log: log.child({ module: 'outbox' }),
  });
  const emit = (type: EventType, version: number | null, data: Record<string, unknown>) => {
    outbox.enqueue({ id: randomUUID(), deviceId: config.deviceId, type, at: new Date().toISOString(), modelType, version, data });
    sender.kick();
  };
  let publishState = () => {};

  const controller = new SlotController({
    modelType,
    slot,
    store,
    installed,
    trust,
    stats,
    memory: { availableMemoryBytes: () => availableMemoryBytes() },
    log: log.child({ module: 'lifecycle' }),
    events: { stateChanged: () => publishState(), event: (type, _mt, version, data) => emit(type, version, data) },
    intraOpThreads: config.inference.intraOpThreads,
    memoryFactor: config.memory.modelFactor,
    minFreeMemoryBytes: config.memory.minFreeBytes,
    watch: config.watch,
    failpoint,
  });
  const runner = new UpdateRunner({
    modelType,
    slot,
    controller,
    store,
    installed,
    trust,
    disk: { freeDiskBytes },
    hubHttpUrl: config.hub.httpUrl,
    // Read at download time: offers arrive over MQTT or sideload, both started once `password` is resolved.
    hubCredentials: () => ({ deviceId: config.deviceId, password }),
    log: log.child({ module: 'updates' }),
    reporter: { stateChanged: () => publishState(), event: (type, _mt, version, data) => emit(type, version, data) },
    downloadTimeoutMs: config.updates.downloadTimeoutMs,
    retryDelayMs: config.updates.retryDelayMs,
    minFreeDiskBytes: config.updates.minFreeDiskBytes,
    failpoint,
  });
  const deviceState = () => buildDeviceState(config, modelType, { slot, runner, installed });
  publishState = () => {
    if (!mqttClient?.connected) return;
    mqttClient.publish('state', deviceState()).catch((err) => log.warn({ err: errorMessage(err) }, 'state publish failed'));
  };

  const boot = await bootSlot({ modelType, slot, store, installed, trust, log, intraOpThreads: config.inference.intraOpThreads });
  log.info(boot, 'boot finished');
  if (boot.fellBack) emit('boot', boot.version, { fellBack: true, reason: boot.reason });

  const password = await resolveCredentials({
    deviceId: config.deviceId,
    configured: config.mqtt.password,
    enrolmentToken: config.enrolment.token,
    hubHttpUrl: config.hub.httpUrl,
    dataDir,
    log,
  });
  mqttClient = new DeviceMqtt({
    url: config.hub.mqttUrl,
    ca: config.hub.caFile ? readFileSync(config.hub.caFile) : undefined,
    deviceId: config.deviceId,
    password,
    keepaliveSeconds: config.mqtt.keepaliveSeconds,
    reconnectMs: config.mqtt.reconnectMs,
    log: log.child({ module: 'mqtt' }),
    onMessage: hubMessageHandler({
      deviceId: config.deviceId,
      modelType,
      trust,
      installed,
      runner,
      log: log.child({ module: 'updates' }),
      refused: (version, code, reason) => emit('refused', version, { code, reason }),
      reportState: () => publishState(),
      applyKeySet: (set) => keySets.apply(set, 'mqtt'),
    }),
    onConnect: () => {
      publishState();
      sender.kick();
    },
  });

  const telemetry = new TelemetryPublisher({
    deviceId: config.deviceId,
    dataDir,
    intervalMs: config.telemetry.intervalMs,
    stats,
    publish: (t) => (mqttClient?.connected ? mqttClient.publish('telemetry', t) : Promise.reject(new Error('offline'))),
    log: log.child({ module: 'telemetry' }),
  });
  telemetry.start();

  const sideload = new SideloadWatcher({
    dir: config.sideload.dir || join(dataDir, 'sideload'),
    modelType,
    trust,
    store,
    maxBundleBytes: config.sideload.maxBundleBytes,
    log: log.child({ module: 'sideload' }),
    install: (signed) => runner.offerManifest(signed, { rollback: false, source: 'sideload' }),
  });
  await sideload.start();

  const recorder = config.events.inference
    ? new InferenceEventRecorder({ deviceId: config.deviceId, modelType, sink: { enqueueMany: (e) => outbox.enqueueMany(e), kick: () => sender.kick() }, flushMs: config.events.flushMs, log })
    : null;
  const inference = new InferenceService(modelType, slot, stats, recorder ? (r) => recorder.record(r) : undefined);
  const door =
    modelType === 'face'
      ? new DoorController({
          deviceId: config.deviceId,
          actuator: buildDoorActuator(config.door, log.child({ module: 'door' })),
          holdOffMs: config.door.holdOffMs,
          record: (version, access) => emit('access', version, { ...access }),
          log: log.child({ module: 'door' }),
        })
      : null;
  const spool =
    door && config.door.uploadSamples
      ? new SampleSpool({ dataDir, hubHttpUrl: config.hub.httpUrl, deviceId: config.deviceId, password: () => password, log: log.child({ module: 'samples' }) })
      : null;
  const answer = async (image: Buffer) => {
    const { res, extras } = await inference.inferWithExtras(image);
    if (!door || res.modelType !== 'face' || !('decision' in res.result)) return res;
    const decision = res.result;
    const opened = await door.onDecision(res.version, decision);
    if (opened && spool && extras.faceCrop && decision.memberId && decision.score !== null) {
      spool.add(extras.faceCrop, decision.memberId, decision.score, res.version).catch((err) => log.warn({ err: errorMessage(err) }, 'face sample not spooled'));
    }
    return { ...res, door: { opened } };
  };
  spool?.kick();
  const api = buildAgentApi({
    inference: { infer: answer },
    log: log.child({ module: 'api' }),
    maxImageBytes: config.api.maxImageBytes,
    status: { status: () => ({ mqttConnected: mqttClient?.connected ?? false, outboxPending: outbox.count(), spare: slot.spare?.version ?? null, ...deviceState() }) },
    metrics: () =>
      renderMetrics({
        deviceId: config.deviceId,
        role: config.role,
        health: telemetry.lastHealth(),
        stats: stats.snapshot(),
        activeVersions: { [modelType]: slot.active?.version ?? null },
        mqttConnected: mqttClient?.connected ?? false,
        outboxPending: outbox.count(),
      }),
  });
  const server: Server = await listenApi(api, config.api.host, config.api.port);
  const port = apiPort(server);
  log.info({ apiUrl: `http://${config.api.host}:${port}`, modelType }, 'agent ready');

  let stopped = false;
  return {
    apiPort: port,
    apiUrl: `http://${config.api.host}:${port}`,
    slot,
    runner,
    controller,
    outbox,
    sideload,
    async stop() {
      if (stopped) return;
      stopped = true;
      telemetry.stop();
      controller.stop();
      recorder?.stop();
      spool?.stop();
      await door?.close();
      await sideload.stop();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await sender.stop();
      await mqttClient?.close();
      await runner.idle().catch(() => {});
      await slot.close();
      outbox.close();
      log.info('agent stopped');
    },
  };
}
