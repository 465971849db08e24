// pnpm bench swap [--rate 200] [--swaps 20] [--rollbacks 5] [--image 96]
// Drives a real agent process's inference API at a fixed rate while the hub performs swaps to new
// versions and signed rollbacks; prints one JSON object as the last line.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { hubConfigSchema, startHub } from '@edgeloop/hub';
import { createLogger, waitFor } from '@edgeloop/shared';
import { buildBootstrapModel } from '../hub/src/training/bootstrap-models.js';
import { startAgentProcess } from '../e2e/test/support/processes.js';
import { testPhoto } from '../e2e/test/support/fleet.js';
import { OpenLoopLoad, percentile } from './support/load.js';

const { values } = parseArgs({ options: { image: { type: 'string', default: '96' }, rate: { type: 'string', default: '200' }, swaps: { type: 'string', default: '20' }, rollbacks: { type: 'string', default: '5' } } });
const rate = Number(values.rate);
const imageSize = Number(values.image);
const swaps = Number(values.swaps);
const rollbacks = Number(values.rollbacks);

const tmp = mkdtempSync(join(tmpdir(), 'edgeloop-bench-swap-'));
const hub = await startHub(
  hubConfigSchema.parse({ dataDir: join(tmp, 'hub'), logLevel: 'silent', http: { port: 0 }, mqtt: { port: 0 }, admin: { token: 'bench-admin-token-000' } }),
  createLogger({ name: 'hub', level: 'silent' }),
);
const deviceId = 'bench-tablet';
const { password } = hub.services.fleet.issueCredentials({ id: deviceId, role: 'laundry', branch: 'bench' });
await hub.services.rollout.assignDefault(deviceId);
const agent = await startAgentProcess({
  deviceId,
  role: 'laundry',
  dataDir: join(tmp, 'agent'),
  mqttUrl: hub.mqttUrl,
  httpUrl: hub.httpUrl,
  rootPem: [hub.services.keys.root.publicKeyPem],
  password,
  env: { EDGELOOP_AGENT_LOG_LEVEL: 'warn', EDGELOOP_AGENT_WATCH__WINDOW_MS: '500' },
});
const reported = () => {
  const r = hub.services.fleet.get(deviceId).reported;
  return r?.status === 'online' ? r.models.laundry : undefined;
};
await waitFor(() => reported()?.version === 1 && reported()?.state === 'active', 'v1 active', { timeoutMs: 60_000 });

const load = new OpenLoopLoad(`${agent.ready.apiUrl}/v1/infer`, await testPhoto(imageSize, imageSize), rate);
const running = load.run();
const windows: [number, number][] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// Warm-up (connections, JIT, first calls) is excluded from every figure.
await sleep(2_000);
const measureFrom = performance.now();
await sleep(3_000);

let next = 2;
let current = 1;
let doneSwaps = 0;
let doneRollbacks = 0;
const every = Math.max(1, Math.floor(swaps / Math.max(1, rollbacks)));
while (doneSwaps < swaps || doneRollbacks < rollbacks) {
  const rollback = doneRollbacks < rollbacks && doneSwaps > 0 && doneSwaps % every === 0 && doneSwaps / every > doneRollbacks;
  const target = rollback ? current - 1 : next;
  // The registry keeps only recent versions, so each new one is registered just before its swap.
  if (!rollback) await hub.services.registry.registerNetwork(buildBootstrapModel('laundry', target), { label: `v${target}`, status: 'verified', parentVersion: current });
  const t0 = performance.now();
  await hub.services.fleet.setDesiredModel(deviceId, 'laundry', hub.services.registry.get('laundry', target).signed, rollback);
  await waitFor(() => reported()?.version === target && reported()?.state === 'active', `v${target} active`, { timeoutMs: 60_000, intervalMs: 5 }).catch((err) => {
    // Say why before giving up: the agent's warnings and what it reports.
    console.error(JSON.stringify({ reported: reported(), agentWarnings: agent.logs.filter((l) => Number(l.level) >= 40).slice(-10) }));
    throw err;
  });
  windows.push([t0, performance.now() + 100]);
  if (rollback) doneRollbacks++;
  else {
    doneSwaps++;
    next++;
  }
  current = target;
  await sleep(1_000);
}
await sleep(2_000);
load.stop();
await running;

const inWindow = (t: number) => windows.some(([a, b]) => t >= a && t <= b);
const measured = load.samples.filter((s) => s.sentAt >= measureFrom);
const during = measured.filter((s) => inWindow(s.sentAt)).map((s) => s.latencyMs);
const steady = measured.filter((s) => !inWindow(s.sentAt)).map((s) => s.latencyMs);
const first = load.samples[0]?.sentAt ?? 0;
const last = load.samples.reduce((m, s) => Math.max(m, s.sentAt), 0);
const deployed = hub.services.db.prepare("SELECT data_json FROM device_events WHERE device_id = ? AND type = 'deployed'").all(deviceId) as { data_json: string }[];
const switchMicros = deployed.map((r) => Number((JSON.parse(r.data_json) as { switchMicros: number }).switchMicros)).filter((v) => v > 0);

await agent.stop();
await hub.stop();
rmSync(tmp, { recursive: true, force: true });

const result = {
  bench: 'swap',
  imagePx: imageSize,
  rate,
  requests: load.samples.length,
  failed: load.samples.filter((s) => !s.ok).length,
  warmupRequestsExcluded: load.samples.length - measured.length,
  swaps: doneSwaps,
  rollbacks: doneRollbacks,
  durationS: Number(((last - first) / 1000).toFixed(1)),
  achievedRps: Number((load.samples.length / ((last - first) / 1000)).toFixed(1)),
  p50SteadyMs: Number(percentile(steady, 50).toFixed(2)),
  p99SteadyMs: Number(percentile(steady, 99).toFixed(2)),
  p50DuringSwapMs: Number(percentile(during, 50).toFixed(2)),
  p99DuringSwapMs: Number(percentile(during, 99).toFixed(2)),
  requestsDuringSwap: during.length,
  switchMicrosP99: Number(percentile(switchMicros, 99).toFixed(2)),
  switchesMeasured: switchMicros.length,
};
console.log(JSON.stringify(result));
