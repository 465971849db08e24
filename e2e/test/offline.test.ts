import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitFor } from '@edgeloop/shared';
import { Fleet, testPhoto } from './support/fleet.js';

test('inference keeps working with the hub and broker down; its events reach the hub exactly once afterwards', async () => {
  const fleet = await Fleet.start({ role: 'laundry', agent: { events: { inference: true, flushMs: 50 } } });
  try {
    const photo = await testPhoto();
    for (let i = 0; i < 10; i++) assert.equal((await fleet.infer(photo)).status, 200);
    await waitFor(() => fleet.events('inference').length === 10, 'online events delivered');

    await fleet.stopHub();
    await waitFor(async () => {
      const status = (await (await fetch(`${fleet.agent.apiUrl}/v1/status`)).json()) as { mqttConnected: boolean };
      return !status.mqttConnected;
    }, 'the agent sees the broker gone');
    for (let i = 0; i < 25; i++) {
      const r = await fleet.infer(photo);
      assert.equal(r.status, 200, 'answers while the hub is down');
      assert.equal(r.body.version, 1);
    }
    await waitFor(() => fleet.agent.outbox.count() >= 25, 'offline events kept in the outbox');

    await fleet.restartHub();
    await waitFor(() => fleet.events('inference').length === 35 && fleet.agent.outbox.count() === 0, 'outbox drained after reconnect', { timeoutMs: 30_000 });
    const ids = fleet.hub.services.db.prepare("SELECT COUNT(DISTINCT event_id) AS n FROM device_events WHERE device_id = ? AND type = 'inference'").get(fleet.deviceId) as { n: number };
    assert.equal(ids.n, 35, 'every inference counted once');
    const one = fleet.events('inference')[0];
    assert.ok(one && ['good', 'defect'].includes(String(one.data.label)) && typeof one.data.confidence === 'number');
  } finally {
    await fleet.close();
  }
});
