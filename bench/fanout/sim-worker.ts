// One worker process of `pnpm bench fanout`: runs its share of simulated devices. Each device is a
// real MQTT client (the agent's own DeviceMqtt: persistent session, QoS 1, retained `offline` will)
// that checks every desired state as the agent does (Ed25519 signature of the desired state and of
// the manifest, device id, expiry, revision, then the agent's planner), downloads each new file in
// full over HTTP from the hub (authenticated with its id and password, as the agent), checks its
// size and sha256, and reports `active` on its retained state topic. Unlike the agent it keeps no
// bytes (hashes while receiving, then discards: 1,000 devices x 5 MB would not fit on disk), loads
// no ONNX runtime, reports only `downloading` and `active` (the agent also reports
// verifying/loading/warming/ready), sends no events or telemetry, and keeps its trust store fixed
// (fleet key-set messages are ignored).
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import {
  createLogger,
  type DesiredState,
  type DeviceRole,
  errorMessage,
  IntegrityError,
  type LifecycleState,
  type Manifest,
  type ManifestFile,
  type ModelType,
  TrustStore,
} from '@edgeloop/shared';
import { DeviceMqtt, type DeviceMqttOptions } from '../../edge-agent/src/mqtt/device-mqtt.js';
import { basicAuthorization } from '../../edge-agent/src/updates/downloader.js';
import { checkDesiredState, planModelUpdate } from '../../edge-agent/src/updates/planner.js';
import type { FromWorker, SimDeviceCredentials, ToWorker, WorkerReport } from './protocol.js';

const MODEL: ModelType = 'laundry';
const ROLE: DeviceRole = 'laundry';
const AGENT_VERSION = 'sim-0.2.0';
const DOWNLOAD_ATTEMPTS = 5;
const DOWNLOAD_TIMEOUT_MS = 60_000;
const MAX_CONVERGE_ROUNDS = 10;

/** Whatever the agent's MQTT client hands over (device topics, and fleet topics where it has them). */
type HubMessage = Parameters<DeviceMqttOptions['onMessage']>[0];

const log = createLogger({ name: 'sim', level: 'silent' });

function send(msg: FromWorker): void {
  process.send?.(msg);
}

class RetryableError extends Error {}

/** Counting semaphore: at most `limit` tasks run at once, the rest wait in order. */
class Limiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    else this.running++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

/**
 * GETs one artifact on a fresh connection (as a separate device would), hashing as it arrives.
 * Refuses a declared length other than the manifest's, cuts the transfer off past the declared
 * size, and checks size and sha256 at the end. Resolves with the number of bytes received.
 */
function fetchAndCheck(baseUrl: string, creds: SimDeviceCredentials, file: ManifestFile): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let settled = false;
    const settle = (err: Error | null, n = 0) => {
      if (settled) return;
      settled = true;
      if (err) reject(err);
      else resolve(n);
    };
    const url = new URL(`/api/v1/artifacts/${file.sha256}`, baseUrl);
    const headers = { authorization: basicAuthorization({ deviceId: creds.id, password: creds.password }) };
    const req = request(url, { method: 'GET', headers, agent: false, timeout: DOWNLOAD_TIMEOUT_MS }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        const status = res.statusCode ?? 0;
        const err = new Error(`download of ${file.name} answered HTTP ${status}`);
        settle(status >= 500 || status === 429 ? new RetryableError(err.message) : err);
        return;
      }
      const declared = res.headers['content-length'];
      if (declared !== undefined && Number(declared) !== file.size) {
        res.destroy();
        settle(new IntegrityError(`${file.name}: server declares ${declared} bytes, manifest ${file.size}`));
        return;
      }
      const hash = createHash('sha256');
      let have = 0;
      res.on('data', (chunk: Buffer) => {
        have += chunk.length;
        if (have > file.size) {
          res.destroy();
          settle(new IntegrityError(`${file.name} is larger than its declared ${file.size} bytes; cut off`));
          return;
        }
        hash.update(chunk);
      });
      res.on('end', () => {
        if (have !== file.size) return settle(new RetryableError(`${file.name} broke off at ${have} of ${file.size} bytes`));
        const digest = hash.digest('hex');
        if (digest !== file.sha256) return settle(new IntegrityError(`${file.name} does not match its sha256 (got ${digest})`));
        settle(null, have);
      });
      res.on('error', (err) => settle(new RetryableError(`download of ${file.name} broke off: ${err.message}`)));
      res.on('aborted', () => settle(new RetryableError(`download of ${file.name} aborted at ${have} bytes`)));
    });
    req.on('timeout', () => req.destroy(new Error('download timed out')));
    req.on('error', (err) => settle(new RetryableError(`download of ${file.name} failed: ${err.message}`)));
    req.end();
  });
}

interface WorkerCtx {
  mqttUrl: string;
  httpUrl: string;
  trust: TrustStore;
  limiter: Limiter;
  stats: Omit<WorkerReport, 'cpuSeconds'>;
  marked: boolean;
  downloading: number;
  active: number;
}

/** A simulated laundry device that starts with v1 installed and active. */
class SimDevice {
  readonly mqtt: DeviceMqtt;
  private activeVersion: number | null = 1;
  private lastKnownGood: number | null = 1;
  private desiredRevision: number | null = null;
  private busy: { version: number; state: LifecycleState; reason: string } | null = null;
  private reason = 'v1 preinstalled';
  /** sha256 of the files this device has received and checked (the bytes themselves are discarded). */
  private readonly installed = new Set<string>();
  private offer: { manifest: Manifest; rollback: boolean } | null = null;
  private converging = false;
  private connectedOnce = false;

  constructor(
    private readonly creds: SimDeviceCredentials,
    private readonly ctx: WorkerCtx,
    onFirstConnect: () => void,
  ) {
    this.mqtt = new DeviceMqtt({
      url: ctx.mqttUrl,
      deviceId: creds.id,
      password: creds.password,
      keepaliveSeconds: 60,
      reconnectMs: 1_000,
      log,
      onMessage: (msg) => this.onMessage(msg),
      onConnect: () => {
        void this.reportState();
        if (this.connectedOnce) this.ctx.stats.reconnects++;
        if (!this.connectedOnce) {
          this.connectedOnce = true;
          onFirstConnect();
        }
      },
    });
  }

  private reportState(): Promise<void> {
    const busy = this.busy;
    return this.mqtt
      .publish('state', {
        status: 'online',
        deviceId: this.creds.id,
        role: ROLE,
        branch: this.creds.branch,
        at: new Date().toISOString(),
        agentVersion: AGENT_VERSION,
        desiredRevision: this.desiredRevision,
        models: {
          [MODEL]: {
            version: this.activeVersion,
            state: busy ? busy.state : this.activeVersion === null ? 'idle' : 'active',
            reason: (busy ? `v${busy.version}: ${busy.reason}` : this.reason).slice(0, 500),
            lastKnownGood: this.lastKnownGood,
          },
        },
      })
      .catch(() => {
        // Not connected: the report is repeated on reconnect (onConnect), as the agent does.
      });
  }

  private refuse(reason: string): void {
    this.ctx.stats.refused++;
    this.reason = `refused: ${reason}`;
    void this.reportState();
  }

  private onMessage(msg: HubMessage): void {
    if (msg.name === 'cmd') {
      if (msg.payload.type === 'report-state') void this.reportState();
      return;
    }
    if (msg.name !== 'desired') return;
    const { trust } = this.ctx;
    let desired: DesiredState;
    try {
      desired = trust.verify(msg.payload);
    } catch (err) {
      this.refuse(`desired state signature: ${errorMessage(err)}`);
      return;
    }
    const check = checkDesiredState(desired, { deviceId: this.creds.id, lastRevision: this.desiredRevision ?? 0, now: new Date() });
    if (!check.ok) {
      this.refuse(check.reason);
      return;
    }
    this.desiredRevision = desired.revision;
    const model = desired.models[MODEL];
    if (!model) {
      void this.reportState();
      return;
    }
    let manifest: Manifest;
    try {
      manifest = trust.verify(model.manifest);
    } catch (err) {
      this.refuse(`manifest signature: ${errorMessage(err)}`);
      return;
    }
    if (manifest.modelType !== MODEL) {
      this.refuse(`manifest is for ${manifest.modelType}`);
      return;
    }
    this.offer = { manifest, rollback: model.rollback };
    void this.converge();
  }

  /** Works through the agent's planner steps for the latest offer; a newer offer re-plans. */
  private async converge(): Promise<void> {
    if (this.converging) return;
    this.converging = true;
    try {
      for (let round = 0; round < MAX_CONVERGE_ROUNDS && this.offer; round++) {
        const offer = this.offer;
        const version = offer.manifest.version;
        const steps = planModelUpdate({
          activeVersion: this.activeVersion,
          desired: offer,
          installed: this.installed,
          candidateReady: false,
          refusedVersions: [],
          now: new Date(),
        });
        if (steps.length === 0) await this.reportState();
        for (const step of steps) {
          if (this.offer !== offer) break;
          if (step.kind === 'refuse') {
            this.busy = null;
            this.refuse(step.reason);
            break;
          }
          if (step.kind === 'download') {
            if (this.busy?.version !== version) {
              if (!this.busy) this.ctx.downloading++;
              this.busy = { version, state: 'downloading', reason: `fetching ${step.file.name}` };
              void this.reportState();
            }
            await this.download(step.file);
            this.installed.add(step.file.sha256);
          } else if (step.kind === 'activate') {
            if (this.busy) this.ctx.downloading--;
            this.busy = null;
            this.activeVersion = version;
            this.lastKnownGood = version;
            this.reason = `v${version} active`;
            await this.reportState();
            this.ctx.active++;
            if (this.ctx.marked) this.ctx.stats.activatedAt.push(Date.now());
          }
          // 'load': nothing to load in a simulation; the bytes were checked and discarded.
        }
        if (this.offer === offer) this.offer = null;
      }
    } catch (err) {
      this.ctx.stats.failed++;
      if (this.busy) {
        this.ctx.downloading--;
        this.busy = { ...this.busy, state: 'failed', reason: errorMessage(err) };
      }
      this.offer = null;
      await this.reportState();
    } finally {
      this.converging = false;
    }
  }

  private download(file: ManifestFile): Promise<void> {
    const { ctx } = this;
    return ctx.limiter.run(async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          const bytes = await fetchAndCheck(ctx.httpUrl, this.creds, file);
          ctx.stats.downloadedBytes += bytes;
          ctx.stats.downloads++;
          return;
        } catch (err) {
          if (!(err instanceof RetryableError) || attempt >= DOWNLOAD_ATTEMPTS) throw err;
          ctx.stats.downloadRetries++;
          await new Promise((r) => setTimeout(r, 200 * attempt));
        }
      }
    });
  }

  close(): Promise<void> {
    return this.mqtt.close();
  }
}

let devices: SimDevice[] = [];
let ctx: WorkerCtx | null = null;
let cpuBase = process.cpuUsage();
let progressTimer: NodeJS.Timeout | null = null;

function start(msg: Extract<ToWorker, { type: 'start' }>): void {
  const c: WorkerCtx = {
    mqttUrl: msg.mqttUrl,
    httpUrl: msg.httpUrl,
    trust: new TrustStore(msg.trustPem),
    limiter: new Limiter(msg.downloadConcurrency),
    stats: { downloadedBytes: 0, downloads: 0, downloadRetries: 0, refused: 0, failed: 0, reconnects: 0, activatedAt: [] },
    marked: false,
    downloading: 0,
    active: 0,
  };
  ctx = c;
  const t0 = performance.now();
  let connected = 0;
  const onFirstConnect = () => {
    connected++;
    if (connected === msg.devices.length) send({ type: 'connected', devices: connected, seconds: (performance.now() - t0) / 1000 });
  };
  devices = msg.devices.map((d) => new SimDevice(d, c, onFirstConnect));
  let last = '';
  progressTimer = setInterval(() => {
    const p = { active: c.active, downloading: c.downloading, downloadedBytes: c.stats.downloadedBytes };
    const key = JSON.stringify(p);
    if (key !== last) send({ type: 'progress', ...p });
    last = key;
  }, 500);
}

async function stop(): Promise<void> {
  if (progressTimer) clearInterval(progressTimer);
  const closing = Promise.allSettled(devices.map((d) => d.close()));
  await Promise.race([closing, new Promise((r) => setTimeout(r, 10_000))]);
  process.exit(0);
}

process.on('message', (raw) => {
  const msg = raw as ToWorker;
  try {
    if (msg.type === 'start') start(msg);
    else if (msg.type === 'mark') {
      cpuBase = process.cpuUsage();
      if (ctx) {
        ctx.marked = true;
        ctx.active = 0;
      }
      send({ type: 'marked' });
    } else if (msg.type === 'report') {
      const cpu = process.cpuUsage(cpuBase);
      const stats = ctx?.stats ?? { downloadedBytes: 0, downloads: 0, downloadRetries: 0, refused: 0, failed: 0, reconnects: 0, activatedAt: [] };
      send({ type: 'report', cpuSeconds: (cpu.user + cpu.system) / 1e6, ...stats });
    } else if (msg.type === 'stop') void stop();
  } catch (err) {
    send({ type: 'error', message: errorMessage(err) });
  }
});
// The bench went away (crashed or killed): never linger.
process.on('disconnect', () => process.exit(1));
process.on('uncaughtException', (err) => {
  send({ type: 'error', message: `uncaught: ${errorMessage(err)}` });
  process.exit(1);
});
send({ type: 'up' });
