import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '@edgeloop/shared';
import { memoryLogger } from '@edgeloop/shared/testing';
import { agentConfigSchema } from '../src/config/schema.js';
import { buildDoorActuator, CommandActuator, type DoorActuator, type DoorOpening, GpioActuator, HttpActuator } from '../src/door/door-actuator.js';
import { type AccessRecord, DoorController } from '../src/door/door-controller.js';
import type { FaceDecision } from '../src/inference/face-pipeline.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'door-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const opening: DoorOpening = { memberId: 'ann', deviceId: 'door-1', score: 0.91, at: '2026-11-22T03:00:00.000Z' };
const box = { x: 10, y: 10, width: 50, height: 60, score: 0.99 };
function decision(kind: FaceDecision['decision'], memberId: string | null = null, score: number | null = null): FaceDecision {
  const faces = kind === 'no-face' ? [] : [{ box, memberId: memberId ?? 'bob', score: score ?? 0.2, accepted: kind === 'member' }];
  return { decision: kind, memberId: kind === 'member' ? memberId : null, score, threshold: 0.6, box: kind === 'no-face' ? null : box, faces };
}

describe('door actuators', () => {
  test('command: runs the program with the member in its environment; a failing program is an error', async () => {
    const out = join(dir, 'command-out.txt');
    const script = `require('node:fs').writeFileSync(${JSON.stringify(out)}, process.env.EDGELOOP_MEMBER_ID + ' ' + process.env.EDGELOOP_DEVICE_ID + ' ' + process.argv[1])`;
    await new CommandActuator(process.execPath, ['-e', script, 'relay-2'], 10_000).open(opening);
    assert.equal(await readFile(out, 'utf8'), 'ann door-1 relay-2');
    await assert.rejects(new CommandActuator(process.execPath, ['-e', 'process.exit(3)'], 10_000).open(opening), /door command failed/);
  });

  test('http: posts the opening as JSON; a non-2xx answer is an error', async () => {
    const got: unknown[] = [];
    let status = 204;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        got.push({ method: req.method, body: JSON.parse(body) });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/door/open`;
    try {
      await new HttpActuator(url, 'PUT', 10_000).open(opening);
      assert.deepEqual(got, [{ method: 'PUT', body: opening }]);
      status = 503;
      await assert.rejects(new HttpActuator(url, 'POST', 10_000).open(opening), /HTTP 503/);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  test('gpio: the value file goes active for the pulse, then back; close releases at once', async () => {
    const value = join(dir, 'gpio17-value');
    await writeFile(value, '0');
    const gpio = new GpioActuator(value, true, 50, memoryLogger().log);
    await gpio.open(opening);
    assert.equal(await readFile(value, 'utf8'), '1');
    await waitFor(async () => (await readFile(value, 'utf8')) === '0', 'GPIO released after the pulse', { timeoutMs: 10_000 });
    const activeLow = new GpioActuator(value, false, 60_000, memoryLogger().log);
    await activeLow.open(opening);
    assert.equal(await readFile(value, 'utf8'), '0');
    await activeLow.close();
    assert.equal(await readFile(value, 'utf8'), '1');
  });

  test('config picks the actuator and lists what each one is missing', () => {
    const base = { deviceId: 'door-1', role: 'gym-door', hub: { mqttUrl: 'mqtt://h:1883', httpUrl: 'http://h:8080' } };
    const cfg = agentConfigSchema.parse({ ...base, door: { actuator: 'gpio', gpioValuePath: '/sys/class/gpio/gpio17/value' } });
    assert.equal(buildDoorActuator(cfg.door, memoryLogger().log).kind, 'gpio');
    assert.equal(buildDoorActuator(agentConfigSchema.parse(base).door, memoryLogger().log).kind, 'none');
    for (const [actuator, field] of [['command', 'command'], ['http', 'url'], ['gpio', 'gpioValuePath']] as const) {
      const r = agentConfigSchema.safeParse({ ...base, door: { actuator } });
      assert.equal(r.success, false);
      assert.deepEqual(r.error?.issues.map((i) => i.path.join('.')), [`door.${field}`]);
    }
  });
});

describe('DoorController', () => {
  function rig(actuator?: Partial<DoorActuator>) {
    const opened: DoorOpening[] = [];
    const records: AccessRecord[] = [];
    let now = 1_000_000;
    const door = new DoorController({
      deviceId: 'door-1',
      actuator: { kind: 'command', close: async () => {}, open: async (o) => void opened.push(o), ...actuator },
      holdOffMs: 3_000,
      record: (_v, a) => records.push(a),
      log: memoryLogger().log,
      now: () => now,
    });
    return { door, opened, records, advance: (ms: number) => (now += ms) };
  }

  test('a member opens the door and is recorded; a stranger or no face never opens it', async () => {
    const r = rig();
    assert.equal(await r.door.onDecision(3, decision('stranger', null, 0.3)), false);
    assert.equal(await r.door.onDecision(3, decision('no-face')), false);
    assert.equal(r.opened.length, 0);
    assert.equal(await r.door.onDecision(3, decision('member', 'ann', 0.9)), true);
    assert.deepEqual(r.opened.map((o) => [o.memberId, o.deviceId, o.score]), [['ann', 'door-1', 0.9]]);
    assert.deepEqual(
      r.records.map((a) => [a.decision, a.memberId, a.doorOpened]),
      [
        ['stranger', null, false],
        ['member', 'ann', true],
      ],
    );
  });

  test('the same member within the hold-off is one visit; another member or a later visit opens again', async () => {
    const r = rig();
    await r.door.onDecision(3, decision('member', 'ann', 0.9));
    r.advance(1_000);
    assert.equal(await r.door.onDecision(3, decision('member', 'ann', 0.9)), false);
    assert.equal(await r.door.onDecision(3, decision('member', 'bob', 0.8)), true);
    r.advance(3_000);
    assert.equal(await r.door.onDecision(3, decision('member', 'ann', 0.9)), true);
    assert.equal(r.opened.length, 3);
  });

  test('a failing actuator is recorded, does not throw, and the next frame tries again', async () => {
    let fail = true;
    const r = rig({
      open: async () => {
        if (fail) throw new Error('relay offline');
      },
    });
    assert.equal(await r.door.onDecision(3, decision('member', 'ann', 0.9)), false);
    assert.match(r.records[0]?.note ?? '', /relay offline/);
    fail = false;
    assert.equal(await r.door.onDecision(3, decision('member', 'ann', 0.9)), true);
  });
});
