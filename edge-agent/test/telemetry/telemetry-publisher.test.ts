import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createLogger, type Telemetry, telemetrySchema } from '@edgeloop/shared';
import { InferenceStats } from '../../src/telemetry/inference-stats.js';
import { TelemetryPublisher } from '../../src/telemetry/telemetry-publisher.js';

const dir = mkdtempSync(join(tmpdir(), 'edgeloop-telemetry-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A logger that keeps its lines for inspection. */
function captureLog() {
  const lines: Array<{ level: number; msg: string; [k: string]: unknown }> = [];
  const log = createLogger({ name: 'test', level: 'debug', destination: { write: (s) => void lines.push(JSON.parse(s)) } });
  return { log, lines };
}

/**
 * The publisher's timer is unref'ed, so a test awaiting only it would let the process exit;
 * this ref'ed guard keeps it alive and fails the test if the awaited event never comes.
 */
function guarded<T>(p: Promise<T>, what: string, ms = 20_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}

function statsWithData(): InferenceStats {
  const stats = new InferenceStats();
  for (let i = 1; i <= 20; i++) stats.record('face', 2, i, i !== 7);
  return stats;
}

describe('TelemetryPublisher', () => {
  test('collect() yields a schema-valid message with real health', async () => {
    const { log } = captureLog();
    const pub = new TelemetryPublisher({ deviceId: 'door-1', dataDir: dir, intervalMs: 1000, stats: statsWithData(), publish: async () => {}, log });
    assert.equal(pub.lastHealth(), null);
    const t = await pub.collect();
    telemetrySchema.parse(t);
    assert.equal(t.deviceId, 'door-1');
    assert.deepEqual(t.inference['face@2'], { count: 20, errors: 1, p50: 10, p95: 19, p99: 20 });
    assert.ok(t.health.memTotalBytes > 0 && t.health.diskFreeBytes > 0);
    assert.deepEqual(pub.lastHealth(), t.health);
  });

  test('start() publishes repeatedly and survives a failing publish; stop() stops it', async () => {
    const { log, lines } = captureLog();
    const published: Telemetry[] = [];
    let calls = 0;
    let reachedThree!: () => void;
    const three = new Promise<void>((r) => {
      reachedThree = r;
    });
    const pub = new TelemetryPublisher({
      deviceId: 'door-1',
      dataDir: dir,
      intervalMs: 5,
      stats: statsWithData(),
      log,
      publish: async (t) => {
        calls++;
        if (calls === 1) throw new Error('broker down');
        published.push(t);
        if (calls === 3) reachedThree();
      },
    });
    pub.start();
    pub.start(); // idempotent
    await guarded(three, 'three publish calls');
    pub.stop();

    assert.ok(published.length >= 2);
    for (const t of published) telemetrySchema.parse(t);
    const warn = lines.find((l) => l.level === 40 && l.msg === 'telemetry publish failed');
    assert.ok(warn, 'the failure is logged at warn');
    assert.equal(warn.err, 'broker down');
    assert.ok(lines.some((l) => l.msg === 'telemetry publish recovered'));

    // After stop() no tick runs: wait well past several intervals (a guard, not a timing assertion).
    const after = calls;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(calls, after);
  });

  test('a tick is skipped while the previous one is still running', async () => {
    const { log } = captureLog();
    let inFlight = 0;
    let maxInFlight = 0;
    let healthReads = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let firstPublish!: () => void;
    const published = new Promise<void>((r) => {
      firstPublish = r;
    });
    const pub = new TelemetryPublisher({
      deviceId: 'door-1',
      dataDir: dir,
      intervalMs: 2,
      stats: new InferenceStats(),
      log,
      readHealth: async () => {
        healthReads++;
        return { cpuLoad: 1, memUsedBytes: 1, memTotalBytes: 2, diskFreeBytes: 3, temperatureC: null };
      },
      publish: async () => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        firstPublish();
        await gate;
        inFlight--;
      },
    });
    pub.start();
    await guarded(published, 'first publish');
    // Let many intervals pass while the first publish hangs: none of them may start a second tick.
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(healthReads, 1);
    release();
    pub.stop();
    assert.equal(maxInFlight, 1);
  });

  test('refuses a non-positive interval', () => {
    const { log } = captureLog();
    const opts = { deviceId: 'd', dataDir: dir, stats: new InferenceStats(), publish: async () => {}, log };
    assert.throws(() => new TelemetryPublisher({ ...opts, intervalMs: 0 }), RangeError);
  });
});
