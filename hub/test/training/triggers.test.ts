import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dueTrigger, nightlySlot, type TriggerConfig, type TriggerState, zonedToUtc } from '../../src/training/pipeline/triggers.js';

const cfg: TriggerConfig = {
  nightlyAt: '03:00',
  timeZone: 'Europe/Berlin',
  nightlyWindowMinutes: 180,
  laundry: { minCorrections: 100, minDays: 7, urgentCorrections: 300 },
  faceMinMembers: 2,
};
const DAY = 86_400_000;
/** 2026-11-22 03:00 in Berlin (UTC+1 in winter) is 02:00 UTC. */
const slot = new Date('2026-11-22T02:00:00.000Z');

function laundry(over: Partial<TriggerState>): TriggerState {
  return { modelType: 'laundry', now: new Date(slot.getTime() + 60_000), openRun: false, lastRunAt: null, lastNightlyAt: null, corrections: 0, members: 0, ...over };
}

describe('nightly time', () => {
  test('the slot is the configured local time, today or yesterday, across DST', () => {
    assert.equal(nightlySlot(new Date('2026-11-22T02:30:00Z'), '03:00', 'Europe/Berlin').toISOString(), '2026-11-22T02:00:00.000Z');
    assert.equal(nightlySlot(new Date('2026-11-22T01:59:00Z'), '03:00', 'Europe/Berlin').toISOString(), '2026-11-21T02:00:00.000Z');
    assert.equal(nightlySlot(new Date('2026-07-01T12:00:00Z'), '03:00', 'Europe/Berlin').toISOString(), '2026-07-01T01:00:00.000Z'); // summer: UTC+2
    assert.equal(zonedToUtc(2026, 11, 22, 3, 0, 'UTC').toISOString(), '2026-11-22T03:00:00.000Z');
    assert.throws(() => nightlySlot(new Date(), '3am', 'UTC'), RangeError);
  });
});

describe('laundry triggers (UC-24)', () => {
  test('at night: 100 corrections and 7 days since the last run', () => {
    const lastRunAt = new Date(slot.getTime() - 8 * DAY);
    assert.equal(dueTrigger(laundry({ corrections: 100, lastRunAt, lastNightlyAt: lastRunAt }), cfg), 'corrections');
    assert.equal(dueTrigger(laundry({ corrections: 99, lastRunAt, lastNightlyAt: lastRunAt }), cfg), null, 'too few corrections');
    const recent = new Date(slot.getTime() - 6 * DAY);
    assert.equal(dueTrigger(laundry({ corrections: 150, lastRunAt: recent, lastNightlyAt: recent }), cfg), null, 'too soon');
    assert.equal(dueTrigger(laundry({ corrections: 150 }), cfg), 'corrections', 'never trained');
  });

  test('only in the nightly window, once per night', () => {
    assert.equal(dueTrigger(laundry({ corrections: 150, now: new Date(slot.getTime() - 60_000) }), cfg), null, 'before 03:00');
    assert.equal(dueTrigger(laundry({ corrections: 150, now: new Date(slot.getTime() + 4 * 3_600_000) }), cfg), null, 'after the window');
    assert.equal(dueTrigger(laundry({ corrections: 150, lastNightlyAt: new Date(slot.getTime() + 1_000), lastRunAt: new Date(slot.getTime() - 8 * DAY) }), cfg), null, 'ran tonight already');
  });

  test('urgent: 300 corrections start a run at any time, however recent the last one', () => {
    const now = new Date(slot.getTime() + 10 * 3_600_000);
    assert.equal(dueTrigger(laundry({ now, corrections: 300, lastRunAt: new Date(now.getTime() - DAY), lastNightlyAt: slot }), cfg), 'urgent');
    assert.equal(dueTrigger(laundry({ now, corrections: 299, lastRunAt: new Date(now.getTime() - DAY) }), cfg), null);
  });

  test('never while a run of the type is open', () => {
    assert.equal(dueTrigger(laundry({ corrections: 1000, openRun: true }), cfg), null);
  });
});

describe('face triggers', () => {
  test('every night once there are members to learn', () => {
    const face = (over: Partial<TriggerState>) => laundry({ modelType: 'face', ...over });
    assert.equal(dueTrigger(face({ members: 5 }), cfg), 'nightly');
    assert.equal(dueTrigger(face({ members: 1 }), cfg), null);
    assert.equal(dueTrigger(face({ members: 5, lastNightlyAt: new Date(slot.getTime() - DAY) }), cfg), 'nightly');
    assert.equal(dueTrigger(face({ members: 5, lastNightlyAt: new Date(slot.getTime() + 5) }), cfg), null);
    assert.equal(dueTrigger(face({ members: 5, corrections: 10_000 }), cfg), 'nightly', 'corrections are a laundry matter');
  });
});
