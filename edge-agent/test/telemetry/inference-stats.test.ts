import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { latencyStatsSchema } from '@edgeloop/shared';
import { InferenceStats, nearestRank } from '../../src/telemetry/inference-stats.js';

/** A clock the test moves by hand. */
function manualClock(start = 1_000) {
  let t = start;
  return {
    now: () => t,
    set: (v: number) => {
      t = v;
    },
  };
}

describe('InferenceStats', () => {
  test('counts requests and errors per version', () => {
    const stats = new InferenceStats();
    stats.record('face', 1, 10, true);
    stats.record('face', 1, 12, false);
    stats.record('face', 1, 11, true);
    stats.record('face', 2, 5, false);
    const snap = stats.snapshot();
    assert.deepEqual(Object.keys(snap).sort(), ['face@1', 'face@2']);
    assert.equal(snap['face@1']?.count, 3);
    assert.equal(snap['face@1']?.errors, 1);
    assert.equal(snap['face@2']?.count, 1);
    assert.equal(snap['face@2']?.errors, 1);
    for (const s of Object.values(snap)) latencyStatsSchema.parse(s);
  });

  test('nearest-rank percentiles on 1..100 (recorded shuffled)', () => {
    const stats = new InferenceStats();
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    for (let i = values.length - 1; i > 0; i--) {
      const j = (i * 37) % (i + 1); // deterministic shuffle
      [values[i], values[j]] = [values[j] as number, values[i] as number];
    }
    for (const v of values) stats.record('laundry', 4, v, true);
    assert.deepEqual(stats.snapshot()['laundry@4'], { count: 100, errors: 0, p50: 50, p95: 95, p99: 99 });
  });

  test('nearest-rank on small samples', () => {
    assert.equal(nearestRank([], 0, 50), 0);
    assert.equal(nearestRank([7], 1, 99), 7);
    assert.equal(nearestRank([1, 2, 3, 4], 4, 50), 2);
    assert.equal(nearestRank([1, 2, 3, 4], 4, 95), 4);
    assert.equal(nearestRank([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 10, 95), 10);
  });

  test('the ring keeps only the latest window; counts stay cumulative', () => {
    const stats = new InferenceStats({ windowSize: 10 });
    for (let v = 1; v <= 10; v++) stats.record('face', 1, 1000 + v, false); // old, slow, failing
    for (let v = 1; v <= 10; v++) stats.record('face', 1, v, true); // overwrite every slot
    assert.deepEqual(stats.snapshot()['face@1'], { count: 20, errors: 10, p50: 5, p95: 10, p99: 10 });
    stats.record('face', 1, 100, true); // drops the oldest kept sample (1)
    const s = stats.snapshot()['face@1'];
    assert.equal(s?.p50, 6);
    assert.equal(s?.p99, 100);
  });

  test('since() only sees samples at or after the given time', () => {
    const clock = manualClock(1_000);
    const stats = new InferenceStats({ now: clock.now });
    for (let v = 1; v <= 50; v++) stats.record('face', 3, 500, false); // before the swap
    clock.set(2_000);
    for (let v = 1; v <= 20; v++) stats.record('face', 3, v, v % 5 !== 0);
    clock.set(3_000);
    stats.record('face', 3, 40, true);

    assert.deepEqual(stats.since('face', 3, 2_000), { count: 21, errors: 4, p50: 11, p95: 20, p99: 40 });
    assert.deepEqual(stats.since('face', 3, 2_500), { count: 1, errors: 0, p50: 40, p95: 40, p99: 40 });
    assert.deepEqual(stats.since('face', 3, 3_001), { count: 0, errors: 0, p50: 0, p95: 0, p99: 0 });
    assert.deepEqual(stats.since('face', 9, 0), { count: 0, errors: 0, p50: 0, p95: 0, p99: 0 });
    assert.equal(stats.since('face', 3, 0).count, 71);
    assert.equal(stats.snapshot()['face@3']?.count, 71);
  });

  test('retain() drops versions not kept', () => {
    const stats = new InferenceStats();
    stats.record('face', 1, 1, true);
    stats.record('face', 2, 1, true);
    stats.record('laundry', 1, 1, true);
    stats.retain(['face@2', 'laundry@7']);
    assert.deepEqual(Object.keys(stats.snapshot()), ['face@2']);
    assert.equal(stats.since('face', 1, 0).count, 0);
    stats.record('face', 1, 3, true); // starts afresh
    assert.equal(stats.snapshot()['face@1']?.count, 1);
    stats.retain([]);
    assert.deepEqual(stats.snapshot(), {});
  });

  test('model types and versions do not mix', () => {
    const stats = new InferenceStats();
    stats.record('face', 1, 10, true);
    stats.record('laundry', 1, 90, false);
    stats.record('face', 2, 50, true);
    const snap = stats.snapshot();
    assert.deepEqual(snap['face@1'], { count: 1, errors: 0, p50: 10, p95: 10, p99: 10 });
    assert.deepEqual(snap['laundry@1'], { count: 1, errors: 1, p50: 90, p95: 90, p99: 90 });
    assert.deepEqual(snap['face@2'], { count: 1, errors: 0, p50: 50, p95: 50, p99: 50 });
  });

  test('bad latencies are stored as 0 and bad window sizes are refused', () => {
    const stats = new InferenceStats();
    stats.record('face', 1, -3, true);
    stats.record('face', 1, Number.NaN, true);
    assert.deepEqual(stats.snapshot()['face@1'], { count: 2, errors: 0, p50: 0, p95: 0, p99: 0 });
    assert.throws(() => new InferenceStats({ windowSize: 0 }), RangeError);
    assert.throws(() => new InferenceStats({ windowSize: 1.5 }), RangeError);
  });
});
