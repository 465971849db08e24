/**
 * The admin console in real Chromium (playwright-core driving Debian's /usr/bin/chromium) against a
 * real hub and a real laundry agent in-process: sign-in prompt, wrong token, devices and members,
 * rollouts promoted and aborted from the page, a training run's progress followed live, and a real
 * (small, quick) laundry training started from the page whose progress is also published retained
 * on MQTT, read by an admin tool with a real MQTT client.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { agentConfigSchema, type RunningAgent, startAgent } from '@edgeloop/edge-agent';
import { hubConfigSchema, type RunningHub, startHub } from '@edgeloop/hub';
import { createLogger, FLEET_TOPICS, type TrainingProgress, trainingProgressSchema, waitFor } from '@edgeloop/shared';
import mqtt, { type MqttClient } from 'mqtt';
import { type Browser, chromium, type Page } from 'playwright-core';
import { ADMIN_MQTT_USERNAME } from '../../hub/src/broker/acl.js';
import { buildBootstrapModel } from '../../hub/src/training/bootstrap-models.js';
import { encodeImage } from '../../hub/src/training/synthetic/encode.js';
import { laundryDataset } from '../../hub/src/training/synthetic/laundry.js';

const CHROMIUM = '/usr/bin/chromium';
/** Needed on a closed network: no component updates, sync or QUIC probes. */
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const TOKEN = 'console-admin-token-0123456789';
const DEVICE = 'tablet-1';
const FACE_EPOCHS = 7;
/** A laundry run of seconds: tiny photos, 2 epochs, lenient limits (this is about the console, not model quality). */
const QUICK_TRAINING = {
  checkIntervalMs: 0,
  backoffMs: 10,
  maxEpochs: 2,
  patience: 5,
  checkpointEvery: 1,
  variants: 1,
  laundry: { minPerClass: 3 },
  face: { epochs: FACE_EPOCHS },
  sandbox: { requests: 10, concurrency: 2 },
  limits: { minValAccuracy: 0, minHoldoutAccuracy: 0, minClassRecall: 0, minThroughputRps: 0, maxAvgLatencyMs: 60_000 },
};
const MEMBER_NAME = '<img src=x onerror="document.title=1"> Ada';

const tmp = mkdtempSync(join(tmpdir(), 'edgeloop-console-'));
let hub: RunningHub;
let agent: RunningAgent | undefined;
let browser: Browser | undefined;
let page: Page;
const mqttClients: MqttClient[] = [];

const api = async <T>(path: string, body?: unknown): Promise<T> => {
  const res = await fetch(`${hub.httpUrl}/api/v1${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(res.ok, `${path}: HTTP ${res.status} ${await res.clone().text()}`);
  return (await res.json()) as T;
};

/** Waits (polling, no fixed sleeps) until the text of everything `selector` matches is matched by `re`. */
async function pageText(selector: string, re: RegExp, timeoutMs = 60_000): Promise<string> {
  let last = '';
  try {
    return await waitFor(
      async () => {
        last = (await page.locator(selector).allTextContents()).join('\n');
        return re.test(last) ? last : null;
      },
      `${selector} to match ${re}`,
      { timeoutMs, intervalMs: 100 },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last text: ${JSON.stringify(last)}`);
  }
}

async function signIn(token: string): Promise<void> {
  await page.locator('#token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

function adminMqtt(clientId: string): Promise<MqttClient> {
  return mqtt.connectAsync(hub.mqttUrl, { clientId, username: ADMIN_MQTT_USERNAME, password: TOKEN, reconnectPeriod: 0, connectTimeout: 10_000 }).then((c) => {
    mqttClients.push(c);
    return c;
  });
}

before(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`the admin console test needs Chromium at ${CHROMIUM}: run \`npm run setup\` as root on Debian (it installs the chromium package) or apt-get install chromium`);
  }
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  hub = await startHub(
    hubConfigSchema.parse({ dataDir: join(tmp, 'hub'), logLevel: 'silent', http: { port: 0 }, mqtt: { port: 0 }, admin: { token: TOKEN }, training: QUICK_TRAINING }),
    createLogger({ name: 'hub', level: 'silent' }),
  );
  const { password } = hub.services.fleet.issueCredentials({ id: DEVICE, role: 'laundry', branch: 'north' });
  await hub.services.rollout.assignDefault(DEVICE);
  agent = await startAgent(
    agentConfigSchema.parse({
      deviceId: DEVICE,
      role: 'laundry',
      branch: 'north',
      dataDir: join(tmp, DEVICE),
      hub: { mqttUrl: hub.mqttUrl, httpUrl: hub.httpUrl },
      mqtt: { password, reconnectMs: 200 },
      trust: { rootKeysPem: [hub.services.keys.root.publicKeyPem] },
      api: { port: 0 },
    }),
    createLogger({ name: DEVICE, level: 'silent' }),
  );
  await waitFor(() => agent?.slot.active?.version === 1 && hub.services.fleet.get(DEVICE).status === 'online', 'the agent online with laundry v1', { timeoutMs: 60_000 });
  // What a real laundry run trains on: branch managers' verdicts on 12 small photos.
  const { intake } = hub.services;
  for (const s of laundryDataset({ count: 12, defectRatio: 0.5, seed: 9, width: 64, height: 64, kinds: ['stain'] })) {
    const task = await intake.addLaundryTask(DEVICE, 'north', { aiResult: 'good', aiConfidence: 0.7, modelVersion: 1, photo: await encodeImage(s.pixels, s.width, s.height, 'png') });
    const corrected = s.label === 'defect';
    intake.confirmTask(task.id, { finalResult: s.label, aiResult: 'good', corrected, ...(corrected ? { correctionReason: 'stain' } : {}) });
  }
  await intake.addMember({ id: 'm-ada', name: MEMBER_NAME, branch: 'north' }, []);
  page = await browser.newPage();
});

after(async () => {
  await Promise.all(mqttClients.map((c) => c.endAsync(true)));
  await browser?.close();
  await agent?.stop().catch(() => {});
  await hub?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

test('without a token the page asks to sign in and shows nothing of the fleet', async () => {
  const res = await page.goto(hub.httpUrl);
  assert.equal(res?.status(), 200);
  assert.match(res?.headers()['content-security-policy'] ?? '', /script-src 'sha256-/);
  await pageText('#msg', /Sign in with the admin token/);
  assert.equal(await page.locator('#console').isHidden(), true);
  assert.equal(await page.locator('#login').isVisible(), true);
});

test('a wrong token is refused with a clear message', async () => {
  await signIn('not-the-admin-token');
  await pageText('#msg', /Wrong admin token: the hub refused it \(HTTP 401\)/);
  assert.equal(await page.locator('#console').isHidden(), true);
});

test('the right token shows the devices and the members (data as text, never markup)', async () => {
  await signIn(TOKEN);
  await pageText(`#devices tr[data-id="${DEVICE}"]`, /laundry\s*north\s*online\s*laundry v1 active/);
  assert.equal(await page.locator('#msg').textContent(), '');
  assert.equal(await page.locator('#login').isHidden(), true);
  const member = await pageText('#members tr[data-id="m-ada"]', /Ada/);
  assert.ok(member.includes(MEMBER_NAME), `the name is shown literally: ${member}`);
  assert.equal(await page.locator('#members img').count(), 0, 'no element was made from the data');
  assert.equal(await page.title(), 'Edgeloop hub');
});

test('rollouts: a canary shows with its groups; Abort and Promote on the page call the rollout API', async () => {
  const start = async (seed: number) => {
    const v = await hub.services.registry.registerNetwork(buildBootstrapModel('laundry', seed), { label: 'candidate', status: 'verified' });
    return api<{ id: number; version: number }>('/rollouts', { modelType: 'laundry', version: v.version, observeMs: 3_600_000 });
  };
  page.on('dialog', (d) => void d.accept());

  const first = await start(2);
  const row = (id: number) => `#rollouts tr[data-id="${id}"]`;
  await pageText(row(first.id), new RegExp(`laundry\\s*v${first.version} \\(from v1\\)\\s*canary\\s*${DEVICE}`));
  await page.locator(row(first.id)).getByRole('button', { name: 'Abort' }).click();
  await pageText(row(first.id), /aborted.*aborted from the admin console/);
  await pageText('#note', new RegExp(`Rollout ${first.id} \\(laundry v${first.version}\\) is now aborted`));
  assert.equal((await api<{ status: string }>(`/rollouts/${first.id}`)).status, 'aborted');

  const second = await start(3);
  await page.locator(row(second.id)).getByRole('button', { name: 'Promote' }).click();
  await pageText(row(second.id), /promoted.*promoted from the admin console/);
  assert.equal((await api<{ status: string }>(`/rollouts/${second.id}`)).status, 'promoted');
  assert.equal(await page.locator(row(second.id)).getByRole('button').count(), 0, 'a finished rollout has no actions');
});

test('a running training run shows live: epoch / total, loss and accuracy follow the run store', async () => {
  // The saga's own checkpoints, written through the real run store (no network is trained here).
  const store = hub.services.trainingRuns;
  const run = store.create('face', 'manual', 1);
  for (const stage of ['collect', 'prepare'] as const) {
    store.stageStarted(run.id, stage);
    store.stageDone(run.id, stage, {}, 0.1);
  }
  store.stageStarted(run.id, 'train');
  const live = '#live-face';
  await pageText(live, new RegExp(`face run #${run.id} \\(manual\\) · running · stage train · no epoch yet`));
  store.addProgress(run.id, { epoch: 1, loss: 1.25, accuracy: 0.4, valAccuracy: 0.35 });
  await pageText(live, new RegExp(`epoch 1 / ${FACE_EPOCHS} · loss 1\\.2500 · accuracy 40\\.0% · validation accuracy 35\\.0%`));
  store.addProgress(run.id, { epoch: 2, loss: 0.8125, accuracy: 0.625, valAccuracy: null });
  await pageText(live, new RegExp(`epoch 2 / ${FACE_EPOCHS} · loss 0\\.8125 · accuracy 62\\.5% · validation accuracy –`));
  await pageText(`#runs tr[data-id="${run.id}"]`, /face\s*manual\s*running\s*train/);

  store.stageFailed(run.id, 'train', 'ended by the test', true);
  store.update(run.id, { status: 'failed', reason: 'ended by the test', finished: true });
  await pageText(live, /· failed · stage train · epoch 2 \/ 7 .*ended by the test/);
});

test('Start training runs a real laundry run; the page follows it and its progress is retained on MQTT', { timeout: 300_000 }, async () => {
  const watcher = await adminMqtt('_admin-console-live');
  const live: { msg: TrainingProgress; retain: boolean }[] = [];
  watcher.on('message', (topic, payload, packet) => {
    if (topic === FLEET_TOPICS.training.topic) live.push({ msg: trainingProgressSchema.parse(JSON.parse(payload.toString('utf8'))), retain: packet.retain });
  });
  await watcher.subscribeAsync(FLEET_TOPICS.training.topic, { qos: 1 });

  await page.getByRole('button', { name: 'Start laundry training' }).click();
  const started = await pageText('#note', /Started laundry training run #\d+/);
  const runId = Number(/#(\d+)/.exec(started)?.[1]);
  await pageText(`#runs tr[data-id="${runId}"]`, /laundry\s*manual\s*(succeeded|failed|rejected|held)/, 240_000);
  const run = hub.services.trainingRuns.get(runId);
  assert.equal(run.status, 'succeeded', JSON.stringify(run.stages.map((s) => [s.stage, s.status, s.error])));
  await pageText('#live-laundry', new RegExp(`laundry run #${runId} \\(manual\\) · succeeded · stage rollout · epoch 2 / 2 · loss \\d+\\.\\d{4} · accuracy \\d+\\.\\d%`));
  await pageText('#rollouts', new RegExp(`laundry\\s*v${run.candidateVersion} \\(from v\\d+\\)`));

  // Live on MQTT: one valid message per epoch, equal to what the run store kept.
  const stored = hub.services.trainingRuns.progress(runId).map((p) => ({ runId, modelType: 'laundry', ...p }));
  assert.deepEqual(
    stored.map((p) => p.epoch),
    [1, 2],
  );
  await waitFor(() => live.length >= stored.length, 'both epochs on MQTT', { timeoutMs: 10_000 });
  assert.deepEqual(
    live.map((l) => l.msg),
    stored,
  );
  assert.equal(
    live.some((l) => l.retain),
    false,
    'live deliveries are not flagged retained',
  );

  // A tool that connects later gets the latest epoch at once: the retained message.
  const late = await adminMqtt('_admin-console-late');
  const retained: { payload: Buffer; retain: boolean }[] = [];
  late.on('message', (topic, payload, packet) => topic === FLEET_TOPICS.training.topic && retained.push({ payload, retain: packet.retain }));
  await late.subscribeAsync(FLEET_TOPICS.training.topic, { qos: 1 });
  const got = await waitFor(() => retained[0], 'the retained training progress', { timeoutMs: 10_000 });
  assert.equal(got.retain, true);
  assert.deepEqual(trainingProgressSchema.parse(JSON.parse(got.payload.toString('utf8'))), stored.at(-1));
});
