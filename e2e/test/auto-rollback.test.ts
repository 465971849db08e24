import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { waitFor } from '@edgeloop/shared';
import { buildBootstrapModel } from '../../hub/src/training/bootstrap-models.js';
import { buildFaultModel, type FaultKind } from '../../hub/src/training/fault-models.js';
import { Fleet, testPhoto } from './support/fleet.js';

const WATCH = { windowMs: 60_000, checkIntervalMs: 50, minErrors: 3, maxErrorRate: 0.05, minRequests: 15, maxP95Ms: 5_000, p95Factor: 3, minP95DeltaMs: 5 };

/** Sends requests one after another until `stop()` is true or `max` were sent; returns the statuses. */
async function drive(fleet: Fleet, photo: Buffer, stop: () => boolean, max: number): Promise<number[]> {
  const statuses: number[] = [];
  while (!stop() && statuses.length < max) statuses.push((await fleet.infer(photo)).status);
  return statuses;
}

describe('automatic rollback with real misbehaving models', () => {
  const cases: { kind: FaultKind; reason: RegExp }[] = [
    { kind: 'throws', reason: /error rate/ },
    { kind: 'nan', reason: /error rate/ },
    { kind: 'slow', reason: /p95/ },
  ];
  for (const c of cases) {
    test(`a model that ${c.kind === 'slow' ? 'is slow' : c.kind === 'nan' ? 'returns NaN' : 'throws'} is rolled back to the warm spare, reported, and refused afterwards`, async () => {
      const fleet = await Fleet.start({ role: 'laundry', agent: { watch: WATCH } });
      try {
        const photo = await testPhoto();
        // Figures for the model in service, to compare the new one with.
        const before = await drive(fleet, photo, () => false, 30);
        assert.ok(before.every((s) => s === 200));

        const bad = await fleet.register(buildFaultModel(c.kind, 7), `faulty ${c.kind}`);
        await fleet.deploy(bad.version);
        await fleet.waitActive(bad.version);
        assert.equal(fleet.agent.slot.spare?.version, 1, 'previous version kept warm');

        const during = await drive(fleet, photo, () => fleet.agent.slot.active?.version === 1, 400);
        await fleet.waitActive(1);
        // Failures of the new model were answered by the warm spare: no client saw an error.
        assert.ok(during.every((s) => s === 200), `statuses during the watch window: ${[...new Set(during)].join(',')}`);

        const rb = await waitFor(() => fleet.events('rolled-back')[0], 'rollback reported to the hub');
        assert.equal(rb.version, bad.version);
        assert.match(String(rb.data.reason), c.reason);
        assert.equal(rb.data.to, 1);
        assert.ok(Number(rb.data.rollbackMs) < 1_000, `switched back in ${rb.data.rollbackMs} ms`);
        const figures = rb.data.candidate as { count: number; errors: number; p95: number };
        if (c.kind === 'slow') {
          const prev = rb.data.previous as { p95: number };
          assert.ok(figures.p95 > prev.p95 * WATCH.p95Factor, 'latency figures reported');
        } else {
          assert.ok(figures.errors >= WATCH.minErrors, 'error figures reported');
        }
        assert.equal(fleet.agent.slot.spare, null, 'the faulty model is unloaded, not kept');

        // Offered again, the same version is refused; a newer one is taken.
        await fleet.deploy(bad.version);
        await waitFor(() => fleet.events('refused').find((e) => e.version === bad.version && e.data.code === 'refused-version'), 'refusal of the rolled-back version');
        assert.equal(fleet.agent.slot.active?.version, 1);
        const good = await fleet.register(buildBootstrapModel('laundry', 11), 'fixed');
        await fleet.deploy(good.version);
        await fleet.waitActive(good.version);
        assert.equal((await fleet.infer(photo)).status, 200);
      } finally {
        await fleet.close();
      }
    });
  }
});
