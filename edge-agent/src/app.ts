import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import {
  createLogger,
  type DecodedMessage,
  type DesiredState,
  type DeviceState,
  errorMessage,
  type Logger,
  MODEL_TYPE_OF_ROLE,
  type ModelType,
  SignatureError,
  TrustStore,
} from '@edgeloop/shared';
import { apiPort, buildAgentApi, listenApi } from './api/http-api.js';
import type { AgentConfig } from './config/schema.js';
import { InferenceService } from './inference/inference-service.js';
import { bootSlot } from './model/boot.js';
import { ContentStore } from './model/content-store.js';
import { InstalledStateFile } from './model/installed-state.js';
import { ServingSlot } from './model/serving-slot.js';
import { DeviceMqtt } from './mqtt/device-mqtt.js';
import { checkDesiredState } from './updates/planner.js';
import { UpdateRunner } from './updates/update-runner.js';

export const AGENT_VERSION = '0.1.0';

export interface RunningAgent {
  apiPort: number;
  apiUrl: string;
  slot: ServingSlot;
  runner: UpdateRunner;
  stop(): Promise<void>;
}

/** Wires the agent: trust, stores, serving slot, boot, update runner, MQTT and the local API. */
export async function startAgent(config: AgentConfig, log: Logger = createLogger({ name: 'agent', level: config.logLevel })): Promise<RunningAgent> {
  const dataDir = resolve(config.dataDir);
  await mkdir(dataDir, { recursive: true });
  const modelType: ModelType = MODEL_TYPE_OF_ROLE[config.role];
  const trust = new TrustStore([...config.trust.keysPem, ...config.trust.keyFiles.map((f) => readFileSync(f, 'utf8'))]);
  const store = new ContentStore(dataDir);
  await store.init();
  const installed = new InstalledStateFile(dataDir, log);
  const slot = new ServingSlot(log.child({ module: 'serving' }));

  let mqttClient: DeviceMqtt | null = null;
  const publishState = () => {
    if (!mqttClient?.connected) return;
    mqttClient.publish('state', deviceState()).catch((err) => log.warn({ err: errorMessage(err) }, 'state publish failed'));
  };
  const emit = (type: 'deployed' | 'refused' | 'rolled-back' | 'boot', mt: ModelType, version: number | null, data: Record<string, unknown>) => {
    if (!mqttClient) return;
    mqttClient
      .publish('events', { id: randomUUID(), deviceId: config.deviceId, type, at: new Date().toISOString(), modelType: mt, version, data })
      .catch((err) => log.warn({ err: errorMessage(err) }, 'event publish failed'));
  };

  const runner = new UpdateRunner({
    modelType,
    slot,
    store,
    installed,
    trust,
    hubHttpUrl: config.hub.httpUrl,
    log: log.child({ module: 'updates' }),
    reporter: { stateChanged: publishState, event: emit },
    intraOpThreads: config.inference.intraOpThreads,
    downloadTimeoutMs: config.updates.downloadTimeoutMs,
    retryDelayMs: config.updates.retryDelayMs,
  });

  const deviceState = (): DeviceState => {
    const active = slot.active;
    const progress = runner.progress;
    const refusal = runner.lastRefusal;
    const slotState = installed.slot(modelType);
    const busy = progress && progress.lifecycle.state !== 'failed' ? progress : null;
    return {
      status: 'online',
      deviceId: config.deviceId,
      role: config.role,
      branch: config.branch,
      at: new Date().toISOString(),
      agentVersion: AGENT_VERSION,
      desiredRevision: installed.get().desiredRevision,
      models: {
        [modelType]: {
          version: active?.version ?? null,
          state: busy ? busy.lifecycle.state : (active?.lifecycle.state ?? (progress?.lifecycle.state ?? 'idle')),
          reason: (busy ? `v${busy.version}: ${busy.lifecycle.reason}` : refusal ? `refused v${refusal.version}: ${refusal.reason}` : (active?.lifecycle.reason ?? 'no model')).slice(0, 500),
          lastKnownGood: slotState.lastKnownGood?.signed.version ?? null,
        },
      },
    };
  };

  const boot = await bootSlot({ modelType, slot, store, installed, trust, log, intraOpThreads: config.inference.intraOpThreads });
  log.info(boot, 'boot finished');

  const onMessage = (msg: DecodedMessage) => {
    if (msg.name === 'desired') {
      let desired: DesiredState;
      try {
        desired = trust.verify(msg.payload);
      } catch (err) {
        const reason = err instanceof SignatureError ? err.message : errorMessage(err);
        log.warn({ reason }, 'desired state refused: signature');
        emit('refused', modelType, msg.payload.signed.models[modelType]?.manifest.signed.version ?? null, { code: 'signature', reason });
        return;
      }
      const check = checkDesiredState(desired, { deviceId: config.deviceId, lastRevision: installed.get().desiredRevision, now: new Date() });
      if (!check.ok) {
        log.warn(check, 'desired state refused');
        emit('refused', modelType, null, { code: check.code, reason: check.reason });
        return;
      }
      installed
        .update((s) => ({ ...s, desiredRevision: desired.revision }))
        .then(() => runner.offer(desired))
        .catch((err) => log.error({ err: errorMessage(err) }, 'could not take desired state'));
    } else if (msg.name === 'cmd') {
      if (msg.payload.type === 'report-state') publishState();
    }
  };

  mqttClient = new DeviceMqtt({
    url: config.hub.mqttUrl,
    deviceId: config.deviceId,
    password: config.mqtt.password,
    keepaliveSeconds: config.mqtt.keepaliveSeconds,
    reconnectMs: config.mqtt.reconnectMs,
    log: log.child({ module: 'mqtt' }),
    onMessage,
    onConnect: () => {
      publishState();
      if (boot.fellBack) emit('boot', modelType, boot.version, { fellBack: true, reason: boot.reason });
    },
  });

  const inference = new InferenceService(modelType, slot);
  const api = buildAgentApi({
    inference,
    log: log.child({ module: 'api' }),
    maxImageBytes: config.api.maxImageBytes,
    status: { status: () => ({ mqttConnected: mqttClient?.connected ?? false, ...deviceState() }) },
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
    async stop() {
      if (stopped) return;
      stopped = true;
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await mqttClient?.close();
      await runner.idle().catch(() => {});
      await slot.close();
      log.info('agent stopped');
    },
  };
}
