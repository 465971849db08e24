import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { canarySize, type GroupFigures, judgeRollout, type RolloutThresholds, selectCanary } from '../src/rollout/canary-policy.js';

describe('canarySize', () => {
  test('under 10% of the online devices, at least one', () => {
    assert.deepEqual([0, 1, 4, 10, 11, 20, 21, 100, 1000].map((n) => canarySize(n)), [0, 1, 1, 1, 1, 1, 2, 9, 99]);
    for (let n = 11; n <= 2000; n++) assert.ok(canarySize(n) / n < 0.1 && canarySize(n) >= 1, `n=${n}`);
  });
});

describe('selectCanary', () => {
  const devices = Array.from({ length: 60 }, (_, i) => ({ id: `d-${String(i).padStart(2, '0')}`, branch: ['north', 'south', 'east'][i % 3] ?? 'x' }));
  test('spreads the canary across branches and keeps the rest as control', () => {
    const { canary, control } = selectCanary(devices);
    assert.equal(canary.length, 5);
    const branches = new Set(canary.map((id) => devices.find((d) => d.id === id)?.branch));
    assert.equal(branches.size, 3);
    assert.equal(control.length, 55);
    assert.ok(!control.some((id) => canary.includes(id)));
  });
  test('is deterministic whatever the input order', () => {
    assert.deepEqual(selectCanary([...devices].reverse()), selectCanary(devices));
  });
});

describe('judgeRollout', () => {
  const t: RolloutThresholds = { observeMs: 1000, reportTimeoutMs: 500, maxErrorRate: 0.02, errorRateMargin: 0.01, p95Factor: 1.5, minP95DeltaMs: 5, maxCorrectionRateDelta: 0.05, minRequests: 20 };
  const g = (o: Partial<GroupFigures> = {}): GroupFigures => ({ devices: 1, requests: 100, errors: 0, p95Ms: 10, corrections: 0, confirmations: 0, ...o });
  const base = { canary: g(), control: g(), elapsedMs: 0, notReported: [], rolledBack: [], t };
  test('holds while observing, promotes after the window when the canary holds', () => {
    assert.equal(judgeRollout(base).kind, 'hold');
    assert.equal(judgeRollout({ ...base, elapsedMs: 1000 }).kind, 'promote');
  });
  test('aborts on errors, latency, corrections, self-rollback and silence', () => {
    assert.match(judgeRollout({ ...base, canary: g({ errors: 5 }) }).reason, /error rate/);
    assert.equal(judgeRollout({ ...base, canary: g({ errors: 5 }) }).kind, 'abort');
    assert.equal(judgeRollout({ ...base, canary: g({ p95Ms: 40 }) }).kind, 'abort');
    assert.equal(judgeRollout({ ...base, canary: g({ p95Ms: 13 }) }).kind, 'hold', 'under the minimum delta');
    assert.equal(judgeRollout({ ...base, canary: g({ corrections: 3, confirmations: 20 }), control: g({ corrections: 0, confirmations: 20 }) }).kind, 'abort');
    assert.equal(judgeRollout({ ...base, rolledBack: ['d-1'] }).kind, 'abort');
    assert.equal(judgeRollout({ ...base, notReported: ['d-1'], elapsedMs: 400 }).kind, 'hold');
    assert.match(judgeRollout({ ...base, notReported: ['d-1'], elapsedMs: 500 }).reason, /did not report/);
  });
  test('too few requests decide nothing about rates, and never promote', () => {
    assert.equal(judgeRollout({ ...base, canary: g({ requests: 5, errors: 5 }) }).kind, 'hold');
    assert.equal(judgeRollout({ ...base, canary: g({ requests: 5 }), elapsedMs: 2000 }).kind, 'hold');
    assert.match(judgeRollout({ ...base, canary: g({ requests: 5 }), elapsedMs: 4000 }).reason, /not enough to judge/);
  });
});
