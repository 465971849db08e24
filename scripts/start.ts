// The main job: the hub (HTTP, embedded MQTT broker, SQLite) plus a local demo fleet of one
// gym-door agent and one laundry agent, each a child process. Ctrl-C stops everything cleanly.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHub, hubConfigSchema, HUB_ENV_PREFIX } from '@edgeloop/hub';
import { createLogger, loadConfig } from '@edgeloop/shared';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const config = loadConfig(hubConfigSchema, { envPrefix: HUB_ENV_PREFIX, file: process.env.EDGELOOP_HUB_CONFIG, overrides: { dataDir: process.env.EDGELOOP_HUB_DATA_DIR ?? join(root, 'var', 'hub') } });
const log = createLogger({ name: 'hub', level: config.logLevel });
const hub = await startHub(config, log);

const DEMO_FLEET = [
  { id: 'door-demo-1', role: 'gym-door', branch: 'downtown', apiPort: 8091 },
  { id: 'laundry-demo-1', role: 'laundry', branch: 'downtown', apiPort: 8092 },
] as const;

const children: ChildProcess[] = [];
const agentMain = join(root, 'edge-agent', 'src', 'main.ts');
for (const d of DEMO_FLEET) {
  const creds = hub.services.fleet.issueCredentials({ id: d.id, role: d.role, branch: d.branch });
  await hub.services.rollout.assignDefault(d.id);
  const dataDir = join(root, 'var', 'agents', d.id);
  mkdirSync(dataDir, { recursive: true });
  const out = createWriteStream(join(dataDir, 'agent.log'), { flags: 'a' });
  const child = spawn(process.execPath, ['--import', 'tsx', agentMain], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      EDGELOOP_AGENT_DEVICE_ID: d.id,
      EDGELOOP_AGENT_ROLE: d.role,
      EDGELOOP_AGENT_BRANCH: d.branch,
      EDGELOOP_AGENT_DATA_DIR: dataDir,
      EDGELOOP_AGENT_HUB__MQTT_URL: hub.mqttUrl,
      EDGELOOP_AGENT_HUB__HTTP_URL: hub.httpUrl,
      EDGELOOP_AGENT_MQTT__PASSWORD: creds.password,
      EDGELOOP_AGENT_TRUST__ROOT_KEYS_PEM: JSON.stringify([hub.services.keys.root.publicKeyPem]),
      EDGELOOP_AGENT_API__PORT: String(d.apiPort),
    },
  });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  child.on('exit', (code, signal) => log.info({ deviceId: d.id, code, signal }, 'demo agent exited'));
  children.push(child);
}

process.stdout.write(
  [
    '',
    `  Edgeloop hub is running.`,
    `  Admin page:   ${hub.httpUrl}/`,
    `  Admin token:  in ${hub.adminTokenFile || '(configured EDGELOOP_HUB_ADMIN__TOKEN)'}`,
    `  MQTT broker:  ${hub.mqttUrl}`,
    ...DEMO_FLEET.map((d) => `  Demo agent:   ${d.id} (${d.role}) API http://127.0.0.1:${d.apiPort}/v1/infer, log var/agents/${d.id}/agent.log`),
    '  Press Ctrl-C to stop.',
    '',
  ].join('\n') + '\n',
);

let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info('stopping demo fleet and hub');
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((r) => {
          if (c.exitCode !== null || c.signalCode !== null) return r();
          const t = setTimeout(() => c.kill('SIGKILL'), 10_000);
          c.once('exit', () => {
            clearTimeout(t);
            r();
          });
          c.kill('SIGTERM');
        }),
    ),
  );
  await hub.stop();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());
