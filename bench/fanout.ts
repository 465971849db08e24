// pnpm bench fanout [--devices 1000] [--workers cores-1] [--concurrency 32] [--branches 10] [--model-bytes 5000000]
//                   [--promote sequential|concurrent] [--timeout 300] [--verbose] [--worker-cpu-prof-dir DIR]
// Fleet-wide rollout: the hub (in this process) promotes a ~5 MB model to N simulated devices (real
// MQTT clients in worker processes, see fanout/sim-worker.ts). Each device verifies the signed desired
// state and manifest, downloads the whole artifact over HTTP from the hub on its own connection,
// checks size and sha256, and reports `active` on its retained state topic. Measured: from just
// before the hub starts setting the new desired state for every device until the hub's own database
// shows all N active on it. Every device starts active on v1 (its desired state already v1).
// Prints one JSON object as the last line (with an `error` field when the run failed or timed out).
//
// The simulated devices share this machine's cores with the hub, so the figures are a lower bound
// on what the hub alone could do. One worker per core left over by the hub is the default: more
// worker processes than cores made every run slower (more CPU per byte on both sides).
// `machineOtherCpuSeconds` is CPU the machine spent on anything else during the measured phase: when
// it is more than a second or two, other processes disturbed the run.
import { type ChildProcess, execSync, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { hubConfigSchema, type RunningHub, startHub } from '@edgeloop/hub';
import { createLogger, errorMessage } from '@edgeloop/shared';
import { buildBootstrapModel } from '../hub/src/training/bootstrap-models.js';
import type { FromWorker, SimDeviceCredentials, ToWorker, WorkerReport } from './fanout/protocol.js';
import { percentile } from './support/load.js';
import { intArg } from './support/args.js';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '1000' },
    workers: { type: 'string', default: String(Math.max(1, availableParallelism() - 1)) },
    /** Downloads a worker runs at once; its other devices wait for a slot (as if their links were busy). */
    concurrency: { type: 'string', default: '32' },
    branches: { type: 'string', default: '10' },
    'model-bytes': { type: 'string', default: '5000000' },
    timeout: { type: 'string', default: '300' },
    verbose: { type: 'boolean', default: false },
    /** sequential: one device after the other, as the rollout service's deploy does; concurrent: all calls at once. */
    promote: { type: 'string', default: 'sequential' },
    /** Writes a V8 CPU profile of each worker there (profile the hub with `node --cpu-prof --import tsx bench/fanout.ts`). */
    'worker-cpu-prof-dir': { type: 'string' },
  },
});
const N = intArg('devices', values.devices, 1);
const K = Math.min(N, intArg('workers', values.workers, 1));
const C = intArg('concurrency', values.concurrency, 1);
const BRANCHES = intArg('branches', values.branches, 1);
const MODEL_BYTES = intArg('model-bytes', values['model-bytes'], 0);
const TIMEOUT_S = intArg('timeout', values.timeout, 1);
const PROMOTE = values.promote;
if (PROMOTE !== 'sequential' && PROMOTE !== 'concurrent') {
  console.error('--promote must be sequential or concurrent');
  process.exit(2);
}
const TARGET_S = 10;
const POLL_MS = 100;
const verbose = values.verbose;
const note = (s: string) => {
  if (verbose) console.error(`[fanout ${((performance.now() - startedAt) / 1000).toFixed(1)}s] ${s}`);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (v: number, d = 2) => Number(v.toFixed(d));
const startedAt = performance.now();

const base: Record<string, unknown> = { bench: 'fanout', devices: N, workers: K, downloadConcurrencyPerWorker: C, branches: BRANCHES, promote: PROMOTE, cpuCores: availableParallelism() };
let hub: RunningHub | null = null;
let tmp: string | null = null;
const workers: ChildProcess[] = [];
let stopping = false;
let finished = false;

/** Prints the JSON line, tears everything down (workers, hub, temp dir) and exits. */
async function finish(result: Record<string, unknown>, code: number): Promise<never> {
  if (finished) return new Promise<never>(() => {});
  finished = true;
  clearTimeout(globalTimer);
  stopping = true;
  const exits = workers.map((w) => new Promise<void>((r) => (w.exitCode !== null || w.signalCode !== null ? r() : w.once('exit', () => r()))));
  for (const w of workers) if (w.connected) w.send({ type: 'stop' } satisfies ToWorker);
  await Promise.race([Promise.all(exits), sleep(15_000)]);
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
  if (hub) await Promise.race([hub.stop().catch(() => {}), sleep(5_000)]);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  console.log(JSON.stringify({ ...base, ...result }));
  process.exit(code);
}
const fail = (error: string, extra: Record<string, unknown> = {}) => finish({ ...extra, error }, 1);
const globalTimer = setTimeout(() => void fail(`timed out after ${TIMEOUT_S} s`), TIMEOUT_S * 1000);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void fail(`interrupted by ${signal}`));

/** Soft limit on open files, which the forked workers inherit too. */
function fdLimit(): number {
  try {
    const out = execSync('ulimit -n', { shell: '/bin/sh', encoding: 'utf8' }).trim();
    return out === 'unlimited' ? Number.POSITIVE_INFINITY : Number(out);
  } catch {
    return Number.NaN;
  }
}

/** Whole-machine CPU time by kind (Linux /proc/stat), in seconds; null elsewhere. */
function machineCpu(): { busy: number; idle: number; iowait: number; steal: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number);
    const hz = 100;
    return { busy: (user + nice + system + irq + softirq) / hz, idle: idle / hz, iowait: iowait / hz, steal: steal / hz };
  } catch {
    return null;
  }
}

// Per-worker message plumbing: each waiter takes the next message of its type from one worker.
type Waiter = { type: FromWorker['type']; resolve: (m: FromWorker) => void };
const waiters = new Map<ChildProcess, Waiter[]>();
const progress = new Map<ChildProcess, { active: number; downloading: number; downloadedBytes: number }>();
function next<T extends FromWorker['type']>(w: ChildProcess, type: T): Promise<Extract<FromWorker, { type: T }>> {
  return new Promise((resolve) => {
    const list = waiters.get(w) ?? [];
    list.push({ type, resolve: resolve as (m: FromWorker) => void });
    waiters.set(w, list);
  });
}
/** Sends `msg` and waits for the answer of type `type`. */
function ask<T extends FromWorker['type']>(w: ChildProcess, msg: ToWorker, type: T): Promise<Extract<FromWorker, { type: T }>> {
  const answer = next(w, type);
  w.send(msg);
  return answer;
}
const all = <T extends FromWorker['type']>(type: T) => Promise.all(workers.map((w) => next(w, type)));
function onWorkerMessage(w: ChildProcess, m: FromWorker): void {
  if (m.type === 'error') {
    void fail(`worker ${w.pid}: ${m.message}`);
    return;
  }
  if (m.type === 'progress') progress.set(w, m);
  const list = waiters.get(w) ?? [];
  const i = list.findIndex((x) => x.type === m.type);
  const waiter = i >= 0 ? list.splice(i, 1)[0] : undefined;
  waiter?.resolve(m);
}
/** Awaits `p`, failing the run if it takes longer than `ms`. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms / 1000} s waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

try {
  const limit = fdLimit();
  base.fdLimit = Number.isFinite(limit) ? limit : String(limit);
  // The hub holds one MQTT socket per device plus, per running download, an HTTP socket and the file it reads.
  const hubFds = N + 2 * K * C + 256;
  if (Number.isFinite(limit) && limit < hubFds) {
    await fail(`open-file limit ${limit} is too low for ${N} devices (the hub needs about ${hubFds}); raise it with \`ulimit -n ${hubFds}\``);
  }

  tmp = mkdtempSync(join(tmpdir(), 'edgeloop-bench-fanout-'));
  const logger = createLogger({ name: 'hub', level: 'silent' });
  hub = await startHub(
    hubConfigSchema.parse({
      dataDir: join(tmp, 'hub'),
      logLevel: 'silent',
      http: { port: 0 },
      mqtt: { port: 0 },
      admin: { token: 'bench-admin-token-000' },
      training: { bootstrapOnStart: false },
    }),
    logger,
  );
  const h = hub;
  const { fleet, registry, db } = h.services;

  // v1: small, already installed and active on every device. v2: the ~5 MB model to promote.
  const reg = async (seed: number, paddingBytes: number, status: 'active' | 'verified') => {
    const m = buildBootstrapModel('laundry', seed, { paddingBytes });
    return registry.register({
      modelType: 'laundry',
      label: `fanout-v${seed}`,
      files: [{ name: 'network.onnx', role: 'network', bytes: m.onnx }],
      preprocess: m.preprocess,
      labels: m.labels,
      metrics: {},
      parentVersion: seed > 1 ? seed - 1 : null,
      evidenceSha256: null,
      status,
    });
  };
  const v1 = await reg(1, 0, 'active');
  const v2 = await reg(2, MODEL_BYTES, 'verified');
  const v2File = v2.signed.signed.files[0];
  base.modelBytes = v2File?.size ?? 0;

  const ids: string[] = [];
  const creds: SimDeviceCredentials[] = [];
  db.transaction(() => {
    for (let i = 0; i < N; i++) {
      const id = `fanout-${String(i).padStart(5, '0')}`;
      const branch = `branch-${i % BRANCHES}`;
      const { password } = fleet.issueCredentials({ id, role: 'laundry', branch });
      ids.push(id);
      creds.push({ id, password, branch });
    }
  })();
  for (const id of ids) await fleet.setDesiredModel(id, 'laundry', v1.signed);
  note(`hub up, ${N} devices enrolled with desired v${v1.version}`);

  const script = fileURLToPath(new URL('./fanout/sim-worker.ts', import.meta.url));
  for (let k = 0; k < K; k++) {
    const profile = values['worker-cpu-prof-dir'] ? ['--cpu-prof', '--cpu-prof-dir', values['worker-cpu-prof-dir']] : [];
    const w = fork(script, [], { execArgv: ['--import', 'tsx', ...profile], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    workers.push(w);
    w.on('message', (m) => onWorkerMessage(w, m as FromWorker));
    w.on('exit', (code, signal) => {
      if (!stopping) void fail(`worker ${w.pid} exited early (code ${code}, signal ${signal})`);
    });
  }
  await within(all('up'), 60_000, 'workers to start');
  note(`${K} workers up`);

  // Connect: each worker gets an equal share of the devices.
  const connectStart = performance.now();
  const connected = all('connected');
  const trustPem = h.services.keys.publicKeys().map((k) => k.publicKeyPem);
  workers.forEach((w, k) => {
    const share = creds.filter((_, i) => i % K === k);
    w.send({ type: 'start', devices: share, mqttUrl: h.mqttUrl, httpUrl: h.httpUrl, trustPem, downloadConcurrency: C } satisfies ToWorker);
  });
  await within(connected, 120_000, 'devices to connect');
  base.connectSeconds = round((performance.now() - connectStart) / 1000);
  note(`${N} devices connected in ${base.connectSeconds} s`);

  // The hub's view: devices online, active on `version`, having taken their current desired revision.
  const countActive = db.prepare(
    `SELECT COUNT(*) AS n FROM devices
      WHERE status = 'online'
        AND json_extract(reported_json, '$.models.laundry.version') = ?
        AND json_extract(reported_json, '$.models.laundry.state') = 'active'
        AND json_extract(reported_json, '$.desiredRevision') = desired_revision`,
  );
  const active = (version: number) => (countActive.get(version) as { n: number }).n;
  const readyDeadline = Date.now() + 120_000;
  while (active(v1.version) < N) {
    if (Date.now() > readyDeadline) await fail(`only ${active(v1.version)} of ${N} devices reported v${v1.version} active`);
    await sleep(POLL_MS);
  }
  note(`all ${N} devices active on v${v1.version}; promoting v${v2.version}`);
  await within(Promise.all(workers.map((w) => ask(w, { type: 'mark' }, 'marked'))), 10_000, 'workers to mark');

  // Measured phase.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const cpu0 = process.cpuUsage();
  const machine0 = machineCpu();
  const t0 = performance.now();
  const t0Wall = Date.now();
  const milestones: { first?: number; half?: number; p90?: number } = {};
  const polling = (async () => {
    const deadline = t0 + TIMEOUT_S * 1000;
    for (;;) {
      const n = active(v2.version);
      const t = (performance.now() - t0) / 1000;
      if (n >= 1) milestones.first ??= t;
      if (n >= N / 2) milestones.half ??= t;
      if (n >= N * 0.9) milestones.p90 ??= t;
      if (n >= N) return t;
      if (performance.now() > deadline) throw new Error(`only ${n} of ${N} devices active on v${v2.version}`);
      if (verbose && Math.round(t * 10) % 10 === 0) {
        const p = [...progress.values()];
        note(`hub sees ${n} active; workers: ${p.reduce((s, x) => s + x.active, 0)} active, ${p.reduce((s, x) => s + x.downloading, 0)} downloading, ${(p.reduce((s, x) => s + x.downloadedBytes, 0) / 1e9).toFixed(2)} GB`);
      }
      await sleep(POLL_MS);
    }
  })();
  polling.catch(() => {});
  // "Promote to all": what the rollout service's deploy does, one signed desired state per device.
  registry.setStatus('laundry', v2.version, 'active');
  const callMs: number[] = [];
  const promoteOne = async (id: string) => {
    const t = performance.now();
    await fleet.setDesiredModel(id, 'laundry', v2.signed);
    callMs.push(performance.now() - t);
  };
  if (PROMOTE === 'sequential') for (const id of ids) await promoteOne(id);
  else await Promise.all(ids.map(promoteOne));
  const promoteSeconds = (performance.now() - t0) / 1000;
  note(`desired v${v2.version} set for all in ${promoteSeconds.toFixed(2)} s`);
  const secondsToAllActive = await polling;
  const cpu = process.cpuUsage(cpu0);
  const machine1 = machineCpu();
  loopDelay.disable();
  const hubRssMb = process.memoryUsage().rss / 2 ** 20;

  const reports: WorkerReport[] = await within(Promise.all(workers.map((w) => ask(w, { type: 'report' }, 'report'))), 10_000, 'worker reports');

  // Cross-check through the fleet service itself: every device reports v2 active.
  const notActive = ids.filter((id) => {
    const r = fleet.get(id).reported;
    return !(r?.status === 'online' && r.models.laundry?.version === v2.version && r.models.laundry.state === 'active');
  });
  if (notActive.length > 0) await fail(`${notActive.length} devices not active on v${v2.version} per fleet.get()`);

  const sum = (f: (r: WorkerReport) => number) => reports.reduce((s, r) => s + f(r), 0);
  const activation = reports.flatMap((r) => r.activatedAt.map((at) => (at - t0Wall) / 1000));
  const downloadedBytes = sum((r) => r.downloadedBytes);
  await finish(
    {
      secondsToAllActive: round(secondsToAllActive),
      targetSeconds: TARGET_S,
      withinTarget: secondsToAllActive <= TARGET_S,
      promoteSeconds: round(promoteSeconds),
      promoteCallP50Ms: round(percentile(callMs, 50)),
      promoteCallP99Ms: round(percentile(callMs, 99)),
      hubEventLoopDelayP50Ms: round(loopDelay.percentile(50) / 1e6),
      hubEventLoopDelayP99Ms: round(loopDelay.percentile(99) / 1e6),
      hubEventLoopDelayMaxMs: round(loopDelay.max / 1e6),
      secondsToFirstActive: round(milestones.first ?? secondsToAllActive),
      secondsToHalfActive: round(milestones.half ?? secondsToAllActive),
      secondsTo90PctActive: round(milestones.p90 ?? secondsToAllActive),
      deviceActiveP50Seconds: round(percentile(activation, 50)),
      deviceActiveP99Seconds: round(percentile(activation, 99)),
      hubCpuSeconds: round(((cpu.user + cpu.system) / 1e6)),
      hubCpuUserSeconds: round(cpu.user / 1e6),
      workersCpuSeconds: round(sum((r) => r.cpuSeconds)),
      hubRssMb: round(hubRssMb, 1),
      ...(machine0 && machine1
        ? {
            machineBusySeconds: round(machine1.busy - machine0.busy),
            machineIdleSeconds: round(machine1.idle - machine0.idle),
            machineIowaitSeconds: round(machine1.iowait - machine0.iowait),
            machineStealSeconds: round(machine1.steal - machine0.steal),
            // CPU the machine spent outside this bench (other processes, unattributed kernel work): noise.
            machineOtherCpuSeconds: round(Math.max(0, machine1.busy - machine0.busy - (cpu.user + cpu.system) / 1e6 - sum((r) => r.cpuSeconds))),
          }
        : {}),
      downloadedGB: round(downloadedBytes / 1e9, 3),
      downloads: sum((r) => r.downloads),
      downloadRetries: sum((r) => r.downloadRetries),
      downloadMBps: round(downloadedBytes / 1e6 / secondsToAllActive, 1),
      refused: sum((r) => r.refused),
      failed: sum((r) => r.failed),
      mqttReconnects: sum((r) => r.reconnects),
      notes:
        'measured phase only. hubCpuSeconds: this process (hub + its 100 ms poll); workersCpuSeconds: the simulated devices, separate processes on the same cores; machine*: whole machine from /proc/stat',
    },
    0,
  );
} catch (err) {
  await fail(errorMessage(err));
}
