import { type ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

export interface Proc {
  child: ChildProcess;
  ready: Record<string, string>;
  /** Every JSON log line the process wrote so far. */
  logs: Record<string, unknown>[];
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `node --import tsx <main>` and resolves once it prints its `{event: <readyEvent>}` line. */
export async function startProcess(main: string, env: Record<string, string>, readyEvent: string, timeoutMs = 60_000): Promise<Proc> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, main)], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Never outlive the test or bench that started us, whatever way it ends.
  const killChild = () => child.kill('SIGKILL');
  process.once('exit', killChild);
  child.once('exit', () => process.removeListener('exit', killChild));
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const ready = await new Promise<Record<string, string>>((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`${main} not ready in ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      let obj: Record<string, unknown>;
      try {
        obj = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      logs.push(obj);
      if (obj.event === readyEvent) {
        clearTimeout(timer);
        resolveReady(obj as Record<string, string>);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${main} exited with ${code} before it was ready; stderr: ${stderr}`));
    });
  });
  return {
    child,
    ready,
    logs,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}

export async function startHubProcess(dataDir: string, adminToken: string, env: Record<string, string> = {}): Promise<Proc> {
  return startProcess(
    'hub/src/main.ts',
    {
      EDGELOOP_HUB_DATA_DIR: dataDir,
      EDGELOOP_HUB_HTTP__PORT: '0',
      EDGELOOP_HUB_MQTT__PORT: '0',
      EDGELOOP_HUB_ADMIN__TOKEN: adminToken,
      EDGELOOP_HUB_LOG_LEVEL: 'info',
      // Training runs only when a test asks for one, never because the wall clock passed 03:00.
      EDGELOOP_HUB_TRAINING__CHECK_INTERVAL_MS: '0',
      ...env,
    },
    'hub-ready',
  );
}

export interface AgentProcessOptions {
  deviceId: string;
  role: 'gym-door' | 'laundry';
  dataDir: string;
  mqttUrl: string;
  httpUrl: string;
  /** Root public keys the device image carries. */
  rootPem: string[];
  password: string;
  env?: Record<string, string>;
}

export async function startAgentProcess(o: AgentProcessOptions): Promise<Proc> {
  return startProcess(
    'edge-agent/src/main.ts',
    {
      EDGELOOP_AGENT_DEVICE_ID: o.deviceId,
      EDGELOOP_AGENT_ROLE: o.role,
      EDGELOOP_AGENT_DATA_DIR: o.dataDir,
      EDGELOOP_AGENT_HUB__MQTT_URL: o.mqttUrl,
      EDGELOOP_AGENT_HUB__HTTP_URL: o.httpUrl,
      EDGELOOP_AGENT_MQTT__PASSWORD: o.password,
      EDGELOOP_AGENT_MQTT__RECONNECT_MS: '200',
      EDGELOOP_AGENT_TRUST__ROOT_KEYS_PEM: JSON.stringify(o.rootPem),
      EDGELOOP_AGENT_API__PORT: '0',
      EDGELOOP_AGENT_UPDATES__RETRY_DELAY_MS: '100',
      ...o.env,
    },
    'agent-ready',
  );
}

/** Resolves with the exit signal (or code) once the process ends by itself. */
export function exited(p: Proc): Promise<NodeJS.Signals | number | null> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return Promise.resolve(p.child.signalCode ?? p.child.exitCode);
  return new Promise((r) => p.child.once('exit', (code, signal) => r(signal ?? code)));
}
