import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
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

export async function startHubProcess(dataDir: string, adminToken: string): Promise<Proc> {
  return startProcess(
    'hub/src/main.ts',
    {
      EDGELOOP_HUB_DATA_DIR: dataDir,
      EDGELOOP_HUB_HTTP__PORT: '0',
      EDGELOOP_HUB_MQTT__PORT: '0',
      EDGELOOP_HUB_ADMIN__TOKEN: adminToken,
      EDGELOOP_HUB_LOG_LEVEL: 'info',
    },
    'hub-ready',
  );
}

export async function startAgentProcess(opts: {
  deviceId: string;
  role: 'gym-door' | 'laundry';
  dataDir: string;
  hub: Proc;
  hubDataDir: string;
  password: string;
}): Promise<Proc> {
  return startProcess(
    'edge-agent/src/main.ts',
    {
      EDGELOOP_AGENT_DEVICE_ID: opts.deviceId,
      EDGELOOP_AGENT_ROLE: opts.role,
      EDGELOOP_AGENT_DATA_DIR: opts.dataDir,
      EDGELOOP_AGENT_HUB__MQTT_URL: opts.hub.ready.mqttUrl ?? '',
      EDGELOOP_AGENT_HUB__HTTP_URL: opts.hub.ready.httpUrl ?? '',
      EDGELOOP_AGENT_MQTT__PASSWORD: opts.password,
      EDGELOOP_AGENT_MQTT__RECONNECT_MS: '200',
      EDGELOOP_AGENT_TRUST__KEYS_PEM: JSON.stringify([readFileSync(join(opts.hubDataDir, 'keys', 'signing.pub.pem'), 'utf8')]),
      EDGELOOP_AGENT_API__PORT: '0',
    },
    'agent-ready',
  );
}
