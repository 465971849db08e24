import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  availableMemoryBytes,
  freeDiskBytes,
  type HealthSensor,
  longestMount,
  normalizeTemperature,
  readHealth,
} from '../../src/telemetry/health.js';

const dir = mkdtempSync(join(tmpdir(), 'edgeloop-health-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const TOLERANCE = 256 * 1024 * 1024; // other processes write to the disk meanwhile

describe('health', () => {
  test('readHealth returns sane figures for a real directory', async () => {
    const errors: HealthSensor[] = [];
    const h = await readHealth(dir, (sensor) => errors.push(sensor));
    assert.ok(Number.isFinite(h.cpuLoad) && h.cpuLoad >= 0 && h.cpuLoad <= 100, `cpuLoad ${h.cpuLoad}`);
    assert.ok(Number.isFinite(h.memTotalBytes) && h.memTotalBytes > 0);
    assert.ok(Number.isFinite(h.memUsedBytes) && h.memUsedBytes >= 0 && h.memUsedBytes <= h.memTotalBytes);
    assert.ok(Number.isFinite(h.diskFreeBytes) && h.diskFreeBytes > 0);
    assert.ok(h.temperatureC === null || Number.isFinite(h.temperatureC));
    assert.ok(!errors.includes('disk'), 'statfs works on an existing directory');
    const s = statfsSync(dir);
    assert.ok(Math.abs(h.diskFreeBytes - s.bavail * s.bsize) < TOLERANCE);
  });

  test('a missing directory falls back instead of throwing', async () => {
    const errors: HealthSensor[] = [];
    const h = await readHealth(join(dir, 'does', 'not', 'exist'), (sensor) => errors.push(sensor));
    assert.ok(errors.includes('disk'), 'the statfs failure is reported');
    assert.ok(Number.isFinite(h.diskFreeBytes) && h.diskFreeBytes >= 0);
    assert.ok(h.memTotalBytes > 0);
  });

  test('freeDiskBytes matches statfs', async () => {
    const s = statfsSync(dir);
    const free = await freeDiskBytes(dir);
    assert.ok(free > 0);
    assert.ok(Math.abs(free - s.bavail * s.bsize) < TOLERANCE, `${free} vs ${s.bavail * s.bsize}`);
    await assert.rejects(freeDiskBytes(join(dir, 'missing')));
  });

  test('availableMemoryBytes is positive', async () => {
    const avail = await availableMemoryBytes();
    assert.ok(Number.isFinite(avail) && avail > 0);
  });

  test('temperatures that are not real readings become null', () => {
    assert.equal(normalizeTemperature(null), null);
    assert.equal(normalizeTemperature(-1), null); // systeminformation's old "no sensor" value
    assert.equal(normalizeTemperature(-10), -10);
    assert.equal(normalizeTemperature(-99), null);
    assert.equal(normalizeTemperature(Number.NaN), null);
    assert.equal(normalizeTemperature(Number.POSITIVE_INFINITY), null);
    assert.equal(normalizeTemperature(52.5), 52.5);
  });

  test('longestMount is path-aware', () => {
    const mounts = [{ mount: '/' }, { mount: '/data' }, { mount: '/data/models' }, { mount: '/data2' }];
    assert.equal(longestMount(mounts, '/data/models/x')?.mount, '/data/models');
    assert.equal(longestMount(mounts, '/data/other')?.mount, '/data');
    assert.equal(longestMount(mounts, '/data2x')?.mount, '/');
    assert.equal(longestMount(mounts, '/data')?.mount, '/data');
    assert.equal(longestMount([{ mount: '/srv' }], '/home'), undefined);
  });
});
