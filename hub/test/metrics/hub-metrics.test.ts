import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { collectHubMetrics, type HubMetricsInput, renderHubMetrics } from '../../src/metrics/hub-metrics.js';
import { clock, intakeOf, photo } from '../intake/fixtures.js';
import { startTestHub, type TestHub } from '../support/test-hub.js';

interface Family {
  help: string | undefined;
  type: string | undefined;
  samples: { labels: Record<string, string>; value: number }[];
}

/** A strict reader for the 0.0.4 text format: each sample must follow its family's HELP and TYPE. */
function parseExposition(text: string): Map<string, Family> {
  assert.ok(text.endsWith('\n'), 'exposition ends with a newline');
  const families = new Map<string, Family>();
  let current: string | null = null;
  for (const line of text.slice(0, -1).split('\n')) {
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, 'HELP' | 'TYPE', string, string];
      const f = families.get(name) ?? { help: undefined, type: undefined, samples: [] };
      if (kind === 'HELP') {
        assert.equal(f.help, undefined, `one HELP for ${name}`);
        f.help = rest;
      } else {
        assert.equal(f.type, undefined, `one TYPE for ${name}`);
        assert.match(rest, /^(counter|gauge|histogram|summary|untyped)$/);
        f.type = rest;
      }
      families.set(name, f);
      current = name;
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(sample, `sample line: ${line}`);
    const [, name, labelText, value] = sample as unknown as [string, string, string | undefined, string];
    assert.equal(name, current, `${name} follows its HELP/TYPE`);
    const labels: Record<string, string> = {};
    for (const m of (labelText ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/g)) {
      labels[m[1] as string] = (m[2] as string).replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    }
    const f = families.get(name);
    assert.ok(f?.help !== undefined && f.type !== undefined, `${name} has HELP and TYPE`);
    f.samples.push({ labels, value: Number(value) });
  }
  return families;
}

const sampleValue = (f: Family | undefined, labels: Record<string, string>) =>
  f?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v) && Object.keys(s.labels).length === Object.keys(labels).length)?.value;

describe('renderHubMetrics', () => {
  test('every family has HELP and TYPE; duplicate label sets are summed; label values are escaped', () => {
    const input: HubMetricsInput = {
      devicesByRoleVersion: [
        { role: 'gym-door', version: '3', online: true, count: 2 },
        { role: 'gym-door', version: '3', online: true, count: 1 },
        { role: 'gym-door', version: '3', online: false, count: 1 },
        { role: 'laundry', version: 'none', online: false, count: 4 },
      ],
      rollouts: [{ modelType: 'face', status: 'observing "canary"\\', count: 1 }],
      brokerConnections: 5,
      intake: { faceSamples: 10, laundryTasks: 7, confirmations: 3, corrections: 1 },
    };
    const text = renderHubMetrics(input);
    const fams = parseExposition(text);
    assert.deepEqual([...fams.keys()].sort(), ['edgeloop_hub_broker_connections', 'edgeloop_hub_devices', 'edgeloop_hub_intake_total', 'edgeloop_hub_rollouts']);
    const devices = fams.get('edgeloop_hub_devices');
    assert.equal(devices?.type, 'gauge');
    assert.equal(sampleValue(devices, { role: 'gym-door', version: '3', status: 'online' }), 3);
    assert.equal(sampleValue(devices, { role: 'gym-door', version: '3', status: 'offline' }), 1);
    assert.equal(sampleValue(devices, { role: 'laundry', version: 'none', status: 'offline' }), 4);
    assert.equal(devices?.samples.length, 3);
    assert.equal(sampleValue(fams.get('edgeloop_hub_rollouts'), { model_type: 'face', status: 'observing "canary"\\' }), 1);
    assert.equal(sampleValue(fams.get('edgeloop_hub_broker_connections'), {}), 5);
    const intake = fams.get('edgeloop_hub_intake_total');
    assert.deepEqual(
      Object.fromEntries(intake?.samples.map((s) => [s.labels.kind, s.value]) ?? []),
      { face_samples: 10, laundry_tasks: 7, confirmations: 3, corrections: 1 },
    );
  });

  test('families without samples still carry HELP and TYPE', () => {
    const fams = parseExposition(
      renderHubMetrics({ devicesByRoleVersion: [], rollouts: [], brokerConnections: 0, intake: { faceSamples: 0, laundryTasks: 0, confirmations: 0, corrections: 0 } }),
    );
    assert.equal(fams.get('edgeloop_hub_devices')?.samples.length, 0);
    assert.equal(fams.get('edgeloop_hub_rollouts')?.samples.length, 0);
    assert.equal(fams.get('edgeloop_hub_intake_total')?.samples.length, 4);
  });
});

describe('collectHubMetrics', () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub();
  });
  after(async () => {
    await hub.close();
  });

  test('counts devices by role, reported version and status, rollouts by status, and intake records', async () => {
    const { fleet, db } = hub.services;
    for (const [id, role] of [
      ['door-a', 'gym-door'],
      ['door-b', 'gym-door'],
      ['door-c', 'gym-door'],
      ['wash-a', 'laundry'],
      ['wash-b', 'laundry'],
    ] as const) {
      fleet.issueCredentials({ id, role, branch: 'north' });
    }
    db.prepare("UPDATE devices SET revoked = 1 WHERE id = 'wash-b'").run();
    const online = (deviceId: string, role: 'gym-door' | 'laundry', models: Record<string, number>) =>
      fleet.onState(deviceId, {
        status: 'online',
        deviceId,
        role,
        branch: 'north',
        at: new Date().toISOString(),
        agentVersion: '1.0.0',
        desiredRevision: 1,
        models: Object.fromEntries(Object.entries(models).map(([t, v]) => [t, { version: v, state: 'active', reason: '', lastKnownGood: v }])),
      });
    online('door-a', 'gym-door', { face: 2 });
    online('door-b', 'gym-door', { face: 2 });
    online('door-c', 'gym-door', { face: 1 });
    fleet.onState('door-c', { status: 'offline', deviceId: 'door-c' });
    online('wash-a', 'laundry', { laundry: 4, face: 9 });

    const rollout = db.prepare(
      `INSERT INTO rollouts (model_type, version, previous_version, status, canary_json, control_json, config_json, started_at)
       VALUES (?, ?, NULL, ?, '[]', '[]', '{}', ?)`,
    );
    rollout.run('face', 2, 'completed', new Date().toISOString());
    rollout.run('face', 3, 'rolled-back', new Date().toISOString());
    rollout.run('laundry', 4, 'completed', new Date().toISOString());
    rollout.run('laundry', 5, 'completed', new Date().toISOString());

    const intake = intakeOf(hub, { now: clock().now });
    await intake.addMember({ id: 'm1', name: 'M', branch: 'north' }, []);
    await intake.addFaceSample('door-a', { memberId: 'm1', score: 0.9, modelVersion: 2, photo: await photo(1) });
    await intake.addFaceSample('door-b', { memberId: 'm1', score: 0.8, modelVersion: 2, photo: await photo(2) });
    const t1 = await intake.addLaundryTask('wash-a', 'north', { aiResult: 'good', aiConfidence: 0.9, modelVersion: 4, photo: await photo(3) });
    const t2 = await intake.addLaundryTask('wash-a', 'north', { aiResult: 'defect', aiConfidence: 0.6, modelVersion: 4, photo: await photo(4) });
    await intake.addLaundryTask('wash-a', 'north', { aiResult: 'good', aiConfidence: 0.7, modelVersion: 4, photo: await photo(5) });
    intake.confirmTask(t1.id, { finalResult: 'good', aiResult: 'good', corrected: false });
    intake.confirmTask(t2.id, { finalResult: 'good', aiResult: 'defect', corrected: true, correctionReason: 'clean after all' });

    const input = collectHubMetrics(db, 7);
    const fams = parseExposition(renderHubMetrics(input));
    const devices = fams.get('edgeloop_hub_devices');
    assert.equal(sampleValue(devices, { role: 'gym-door', version: '2', status: 'online' }), 2);
    assert.equal(sampleValue(devices, { role: 'gym-door', version: '1', status: 'offline' }), 1, 'offline: the version it last reported');
    assert.equal(sampleValue(devices, { role: 'laundry', version: '4', status: 'online' }), 1, "the role's model, not the other slot");
    assert.equal(
      devices?.samples.reduce((n, s) => n + s.value, 0),
      4,
      'revoked devices are not counted',
    );
    const rollouts = fams.get('edgeloop_hub_rollouts');
    assert.equal(sampleValue(rollouts, { model_type: 'face', status: 'completed' }), 1);
    assert.equal(sampleValue(rollouts, { model_type: 'face', status: 'rolled-back' }), 1);
    assert.equal(sampleValue(rollouts, { model_type: 'laundry', status: 'completed' }), 2);
    assert.equal(sampleValue(fams.get('edgeloop_hub_broker_connections'), {}), 7);
    const kinds = Object.fromEntries(fams.get('edgeloop_hub_intake_total')?.samples.map((s) => [s.labels.kind, s.value]) ?? []);
    assert.deepEqual(kinds, { face_samples: 2, laundry_tasks: 3, confirmations: 2, corrections: 1 });
  });
});
