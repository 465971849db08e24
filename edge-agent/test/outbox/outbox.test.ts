import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { createLogger, type DeviceEvent, type Logger, ValidationError } from '@edgeloop/shared';
import { Outbox } from '../../src/mqtt/outbox.js';

const silent = createLogger({ name: 'test', level: 'silent' });

const tmpDirs: string[] = [];
function tempPath(): string {
  const d = mkdtempSync(join(tmpdir(), 'edgeloop-outbox-'));
  tmpDirs.push(d);
  return join(d, 'sub', 'outbox.sqlite');
}
after(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

function memoryLog(): { log: Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const log = createLogger({ name: 'test', level: 'debug', destination: { write: (s: string) => chunks.push(s) } });
  return { log, lines: () => chunks.flatMap((c) => c.split('\n')).filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

function event(type: DeviceEvent['type'] = 'inference', data: Record<string, unknown> = {}): DeviceEvent {
  return { id: randomUUID(), deviceId: 'dev-1', type, at: new Date().toISOString(), modelType: 'laundry', version: 1, data };
}

describe('Outbox', () => {
  test('enqueue, peek oldest first, ack', () => {
    const outbox = new Outbox({ path: tempPath(), log: silent });
    const events = Array.from({ length: 5 }, (_, i) => event(i % 2 ? 'deployed' : 'inference', { i }));
    for (const e of events) outbox.enqueue(e);
    assert.equal(outbox.count(), 5);
    assert.deepEqual(outbox.peek(3), events.slice(0, 3));
    assert.deepEqual(outbox.peek(100), events, 'peek does not remove');
    assert.deepEqual(outbox.peek(0), []);
    outbox.ack([events[0]?.id ?? '', events[2]?.id ?? '', randomUUID()]);
    assert.equal(outbox.count(), 3);
    assert.deepEqual(outbox.peek(10), [events[1], events[3], events[4]]);
    outbox.ack([]);
    outbox.close();
    outbox.close();
  });

  test('a repeated id is ignored and keeps its place', () => {
    const outbox = new Outbox({ path: tempPath(), log: silent });
    const a = event();
    const b = event('sample');
    outbox.enqueue(a);
    outbox.enqueue(b);
    outbox.enqueue({ ...a, data: { changed: true } });
    assert.equal(outbox.count(), 2);
    assert.deepEqual(outbox.peek(10), [a, b]);
    outbox.close();
  });

  test('events survive close and reopen; the file is in WAL mode', () => {
    const path = tempPath();
    const first = new Outbox({ path, log: silent });
    const events = [event(), event('rolled-back'), event('boot')];
    for (const e of events) first.enqueue(e);
    first.ack([events[0]?.id ?? '']);
    first.close();
    const second = new Outbox({ path, log: silent });
    assert.equal(second.count(), 2);
    assert.deepEqual(second.peek(10), events.slice(1));
    const later = event();
    second.enqueue(later);
    assert.deepEqual(second.peek(10), [...events.slice(1), later], 'order continues after reopen');
    second.close();
    const raw = new Database(path, { readonly: true });
    assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
    raw.close();
  });

  test('an invalid event throws ValidationError and stores nothing', () => {
    const outbox = new Outbox({ path: tempPath(), log: silent });
    const bad: unknown[] = [
      { ...event(), id: 'not-a-uuid' },
      { ...event(), type: 'nope' },
      { ...event(), deviceId: 'Upper Case' },
      { ...event(), version: -1 },
      { ...event(), data: undefined },
      null,
    ];
    for (const b of bad) assert.throws(() => outbox.enqueue(b as DeviceEvent), ValidationError);
    assert.equal(outbox.count(), 0);
    outbox.close();
  });

  test('when full, the oldest inference events are dropped, never other types', () => {
    const { log, lines } = memoryLog();
    const outbox = new Outbox({ path: tempPath(), log, maxRows: 5 });
    const d1 = event('deployed');
    const i1 = event('inference');
    const s1 = event('sample');
    const i2 = event('inference');
    const i3 = event('inference');
    for (const e of [d1, i1, s1, i2, i3]) outbox.enqueue(e);
    assert.equal(outbox.count(), 5);
    const r1 = event('rolled-back');
    outbox.enqueue(r1);
    assert.deepEqual(outbox.peek(10), [d1, s1, i2, i3, r1], 'i1 (oldest inference) dropped');
    const i4 = event('inference');
    outbox.enqueue(i4);
    assert.deepEqual(outbox.peek(10), [d1, s1, i3, r1, i4], 'then i2');
    const warnings = lines().filter((l) => l.level === 40 && String(l.msg).includes('dropped'));
    assert.equal(warnings.length, 2);
    assert.equal(warnings[0]?.dropped, 1);

    // With no inference left, other types are kept over the limit (and it says so).
    const full = new Outbox({ path: tempPath(), log, maxRows: 2 });
    const kept = [event('deployed'), event('sample'), event('boot')];
    for (const e of kept) full.enqueue(e);
    assert.deepEqual(full.peek(10), kept);
    assert.ok(lines().some((l) => l.level === 40 && String(l.msg).includes('no inference events left')));
    // A new inference event is then itself the oldest inference one.
    full.enqueue(event('inference'));
    assert.deepEqual(full.peek(10), kept);
    outbox.close();
    full.close();
  });

  test('a corrupt row is logged and deleted and does not block the queue', () => {
    const { log, lines } = memoryLog();
    const path = tempPath();
    const outbox = new Outbox({ path, log });
    const events = [event(), event('deployed'), event(), event('sample')];
    for (const e of events) outbox.enqueue(e);
    const raw = new Database(path);
    raw.prepare('UPDATE outbox SET json = ? WHERE id = ?').run('{"id": "trunc', events[0]?.id);
    raw.prepare('UPDATE outbox SET json = ? WHERE id = ?').run(JSON.stringify({ ...events[2], type: 'gone' }), events[2]?.id);
    raw.close();
    assert.deepEqual(outbox.peek(2), [events[1], events[3]], 'peek skips past corrupt rows to fill the limit');
    assert.equal(outbox.count(), 2);
    const errors = lines().filter((l) => l.level === 50 && l.msg === 'corrupt outbox row deleted');
    assert.deepEqual(errors.map((l) => l.eventId), [events[0]?.id, events[2]?.id]);
    outbox.ack([events[1]?.id ?? '', events[3]?.id ?? '']);
    assert.equal(outbox.count(), 0);
    assert.deepEqual(outbox.peek(10), []);
    outbox.close();
  });

  test('rejects a bad maxRows', () => {
    assert.throws(() => new Outbox({ path: tempPath(), log: silent, maxRows: 0 }), ValidationError);
  });
});
