import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AgentConfig, agentConfigSchema, type RunningAgent, startAgent } from '@edgeloop/edge-agent';
import { hubConfigSchema, type RunningHub, startHub } from '@edgeloop/hub';
import { createLogger, type DeviceRole, MODEL_TYPE_OF_ROLE, type ModelType, waitFor } from '@edgeloop/shared';
import { type MemoryLogger, memoryLogger } from '@edgeloop/shared/testing';
import sharp from 'sharp';
import type { BootstrapModel } from '../../../hub/src/training/bootstrap-models.js';
import type { VersionRecord } from '../../../hub/src/registry/model-registry.js';

export interface DeviceEventRow {
  type: string;
  version: number | null;
  data: Record<string, unknown>;
}

/**
 * A real hub (aedes on 127.0.0.1:0, SQLite, HTTP) and one real agent, in-process, for integration
 * tests. The agent's log is kept in memory; its config can be overridden per test.
 */
export class Fleet {
  agent!: RunningAgent;
  agentLog!: MemoryLogger;
  readonly modelType: ModelType;
  private password = '';

  private constructor(
    public hub: RunningHub,
    readonly dir: string,
    readonly deviceId: string,
    readonly role: DeviceRole,
  ) {
    this.modelType = MODEL_TYPE_OF_ROLE[role];
  }

  static async start(opts: { role?: DeviceRole; deviceId?: string; agent?: Record<string, unknown> } = {}): Promise<Fleet> {
    const dir = mkdtempSync(join(tmpdir(), 'edgeloop-fleet-'));
    const hub = await startFleetHub(dir, 0, 0);
    const fleet = new Fleet(hub, dir, opts.deviceId ?? 'dev-1', opts.role ?? 'laundry');
    fleet.password = hub.services.fleet.issueCredentials({ id: fleet.deviceId, role: fleet.role, branch: 'test' }).password;
    await hub.services.rollout.assignDefault(fleet.deviceId);
    await fleet.startAgent(opts.agent);
    await fleet.waitActive(1);
    return fleet;
  }

  agentConfig(overrides: Record<string, unknown> = {}): AgentConfig {
    return agentConfigSchema.parse({
      deviceId: this.deviceId,
      role: this.role,
      dataDir: join(this.dir, 'agent'),
      hub: { mqttUrl: this.hub.mqttUrl, httpUrl: this.hub.httpUrl },
      mqtt: { password: this.password, reconnectMs: 200 },
      trust: { rootKeysPem: [this.hub.services.keys.root.publicKeyPem] },
      api: { port: 0 },
      updates: { retryDelayMs: 50 },
      ...overrides,
    });
  }

  async startAgent(overrides: Record<string, unknown> = {}): Promise<RunningAgent> {
    this.agentLog = memoryLogger('agent');
    this.agent = await startAgent(this.agentConfig(overrides), this.agentLog.log);
    return this.agent;
  }

  async waitActive(version: number, timeoutMs = 30_000): Promise<void> {
    await waitFor(() => this.agent.slot.active?.version === version, `v${version} active`, { timeoutMs });
  }

  /** Registers a network as the next version of this fleet's model type. */
  async register(model: BootstrapModel, label = 'test'): Promise<VersionRecord> {
    return this.hub.services.registry.registerNetwork({ ...model, modelType: this.modelType }, { label, status: 'verified' });
  }

  deploy(version: number, rollback = false): Promise<unknown> {
    const rec = this.hub.services.registry.get(this.modelType, version);
    return this.hub.services.fleet.setDesiredModel(this.deviceId, this.modelType, rec.signed, rollback);
  }

  /** Events the hub has received from the device, oldest first. */
  events(type?: string): DeviceEventRow[] {
    const rows = this.hub.services.db
      .prepare(`SELECT type, version, data_json FROM device_events WHERE device_id = ? ${type ? 'AND type = ?' : ''} ORDER BY at, received_at`)
      .all(...(type ? [this.deviceId, type] : [this.deviceId])) as { type: string; version: number | null; data_json: string }[];
    return rows.map((r) => ({ type: r.type, version: r.version, data: JSON.parse(r.data_json) as Record<string, unknown> }));
  }

  async infer(image: Buffer): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${this.agent.apiUrl}/v1/infer`, { method: 'POST', body: image });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  /** Stops the hub (broker included); the agent keeps running on its own. */
  async stopHub(): Promise<void> {
    await this.hub.stop();
  }

  /** Starts the hub again on the same data and the same ports, so the agent finds it. */
  async restartHub(): Promise<void> {
    this.hub = await startFleetHub(this.dir, this.hub.httpPort, this.hub.mqttPort);
  }

  async close(): Promise<void> {
    await this.agent?.stop().catch(() => {});
    await this.hub.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function startFleetHub(dir: string, httpPort: number, mqttPort: number): Promise<RunningHub> {
  return startHub(
    hubConfigSchema.parse({ dataDir: join(dir, 'hub'), logLevel: 'silent', http: { port: httpPort }, mqtt: { port: mqttPort }, admin: { token: 'fleet-admin-token-0123' }, training: { checkIntervalMs: 0 } }),
    createLogger({ name: 'hub', level: 'silent' }),
  );
}

/** A small textured test photo (JPEG) of the given size. */
export async function testPhoto(width = 96, height = 96, seed = 1): Promise<Buffer> {
  const px = Buffer.alloc(width * height * 3);
  let s = seed;
  for (let i = 0; i < px.length; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    px[i] = 120 + (s % 80);
  }
  return sharp(px, { raw: { width, height, channels: 3 } }).jpeg().toBuffer();
}
