import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LIFECYCLE_STATES, type LifecycleState } from '@edgeloop/shared';
import { IllegalTransitionError, Lifecycle, type LifecycleEntry, TRANSITIONS } from '../src/model/lifecycle.js';

/** The documented table, written out independently of the source so a silent change shows up. */
const EXPECTED: Record<LifecycleState, LifecycleState[]> = {
  idle: ['downloading', 'verifying', 'failed'],
  downloading: ['verifying', 'failed'],
  verifying: ['loading', 'failed'],
  loading: ['warming', 'failed'],
  warming: ['ready', 'failed'],
  ready: ['active', 'unloaded'],
  active: ['draining'],
  draining: ['ready', 'unloaded'],
  unloaded: ['loading'],
  failed: [],
};

/** A legal route from idle to each state (idle itself needs none). */
const PATH_TO: Record<LifecycleState, LifecycleState[]> = {
  idle: [],
  downloading: ['downloading'],
  verifying: ['verifying'],
  loading: ['verifying', 'loading'],
  warming: ['verifying', 'loading', 'warming'],
  ready: ['verifying', 'loading', 'warming', 'ready'],
  active: ['verifying', 'loading', 'warming', 'ready', 'active'],
  draining: ['verifying', 'loading', 'warming', 'ready', 'active', 'draining'],
  unloaded: ['verifying', 'loading', 'warming', 'ready', 'unloaded'],
  failed: ['failed'],
};

/** A fake clock: every call returns the next integer, so `at` values are predictable. */
function counterClock(start = 1000): () => number {
  let t = start;
  return () => t++;
}

function lifecycleIn(state: LifecycleState, onChange?: (e: LifecycleEntry, from: LifecycleState) => void): Lifecycle {
  const lc = new Lifecycle('created', counterClock(), onChange);
  for (const s of PATH_TO[state]) lc.transition(s, `to ${s}`);
  assert.equal(lc.state, state);
  return lc;
}

describe('Lifecycle transition table', () => {
  test('TRANSITIONS matches the documented table and covers every state', () => {
    assert.deepEqual(Object.keys(TRANSITIONS).sort(), [...LIFECYCLE_STATES].sort());
    for (const s of LIFECYCLE_STATES) assert.deepEqual([...TRANSITIONS[s]], EXPECTED[s], `targets of ${s}`);
  });

  test('canTransition answers from the table for every pair of states', () => {
    for (const from of LIFECYCLE_STATES) {
      for (const to of LIFECYCLE_STATES) {
        assert.equal(Lifecycle.canTransition(from, to), EXPECTED[from].includes(to), `${from} → ${to}`);
      }
    }
  });

  for (const from of LIFECYCLE_STATES) {
    for (const to of EXPECTED[from]) {
      test(`allowed: ${from} → ${to} records the state, reason and history`, () => {
        const lc = lifecycleIn(from);
        const before = lc.history.length;
        lc.transition(to, `because ${from} → ${to}`);
        assert.equal(lc.state, to);
        assert.equal(lc.reason, `because ${from} → ${to}`);
        assert.equal(lc.history.length, before + 1);
        const last = lc.history[lc.history.length - 1];
        assert.equal(last?.state, to);
        assert.equal(last?.reason, `because ${from} → ${to}`);
        assert.equal(lc.history[lc.history.length - 2]?.state, from);
      });
    }
  }
});

describe('Lifecycle illegal transitions', () => {
  const illegal: [LifecycleState, LifecycleState][] = [
    ['idle', 'active'],
    ['idle', 'ready'],
    ['idle', 'loading'],
    ['idle', 'idle'],
    ['downloading', 'ready'],
    ['verifying', 'warming'],
    ['loading', 'active'],
    ['warming', 'active'],
    ['ready', 'ready'],
    ['ready', 'draining'],
    ['ready', 'failed'],
    ['active', 'ready'],
    ['active', 'unloaded'],
    ['active', 'failed'],
    ['active', 'active'],
    ['draining', 'active'],
    ['draining', 'failed'],
    ['unloaded', 'active'],
    ['unloaded', 'ready'],
    ['unloaded', 'failed'],
    ...LIFECYCLE_STATES.map((s): [LifecycleState, LifecycleState] => ['failed', s]),
  ];

  for (const [from, to] of illegal) {
    test(`illegal: ${from} → ${to} throws and changes nothing`, () => {
      const changes: LifecycleState[] = [];
      const lc = lifecycleIn(from, (e) => changes.push(e.state));
      const historyBefore = lc.history.map((e) => ({ ...e }));
      const reasonBefore = lc.reason;
      const changesBefore = changes.length;
      assert.throws(
        () => lc.transition(to, 'nope'),
        (err: unknown) => {
          assert.ok(err instanceof IllegalTransitionError);
          assert.equal(err.name, 'IllegalTransitionError');
          assert.equal(err.from, from);
          assert.equal(err.to, to);
          assert.match(err.message, new RegExp(`${from} → ${to}`));
          return true;
        },
      );
      assert.equal(lc.state, from);
      assert.equal(lc.reason, reasonBefore);
      assert.deepEqual(
        lc.history.map((e) => ({ ...e })),
        historyBefore,
      );
      assert.equal(changes.length, changesBefore, 'onChange is not called for a refused transition');
    });
  }
});

describe('Lifecycle.fail', () => {
  for (const from of ['idle', 'downloading', 'verifying', 'loading', 'warming'] as const) {
    test(`fail() from ${from} moves to failed with the reason`, () => {
      const lc = lifecycleIn(from);
      lc.fail(`broke while ${from}`);
      assert.equal(lc.state, 'failed');
      assert.equal(lc.reason, `broke while ${from}`);
      assert.equal(lc.history[lc.history.length - 1]?.state, 'failed');
    });
  }

  for (const from of ['ready', 'active', 'draining', 'unloaded'] as const) {
    test(`fail() from ${from} throws IllegalTransitionError and keeps the state`, () => {
      const lc = lifecycleIn(from);
      const len = lc.history.length;
      assert.throws(
        () => lc.fail('late failure'),
        (err: unknown) => err instanceof IllegalTransitionError && err.from === from && err.to === 'failed',
      );
      assert.equal(lc.state, from);
      assert.equal(lc.history.length, len);
    });
  }

  test('fail() on an already failed lifecycle is a no-op that keeps the first reason', () => {
    const changes: LifecycleEntry[] = [];
    const lc = lifecycleIn('loading', (e) => changes.push(e));
    lc.fail('first reason');
    const len = lc.history.length;
    const changeCount = changes.length;
    lc.fail('second reason');
    assert.equal(lc.state, 'failed');
    assert.equal(lc.reason, 'first reason');
    assert.equal(lc.history.length, len);
    assert.equal(changes.length, changeCount);
  });
});

describe('Lifecycle bookkeeping', () => {
  test('starts idle with the constructor reason and the clock time', () => {
    const lc = new Lifecycle('v7 offered', () => 42);
    assert.equal(lc.state, 'idle');
    assert.equal(lc.reason, 'v7 offered');
    assert.deepEqual(
      lc.history.map((e) => ({ ...e })),
      [{ state: 'idle', reason: 'v7 offered', at: 42 }],
    );
  });

  test('default reason is "created"', () => {
    const lc = new Lifecycle();
    assert.equal(lc.state, 'idle');
    assert.equal(lc.reason, 'created');
    assert.equal(lc.history.length, 1);
  });

  test('onChange receives the new entry and the previous state, once per transition', () => {
    const calls: { entry: LifecycleEntry; from: LifecycleState }[] = [];
    const lc = new Lifecycle('created', counterClock(10), (entry, from) => calls.push({ entry: { ...entry }, from }));
    assert.equal(calls.length, 0, 'construction does not call onChange');
    lc.transition('downloading', 'fetching network.onnx');
    lc.transition('verifying', 'checking');
    lc.fail('hash mismatch');
    assert.deepEqual(calls, [
      { entry: { state: 'downloading', reason: 'fetching network.onnx', at: 11 }, from: 'idle' },
      { entry: { state: 'verifying', reason: 'checking', at: 12 }, from: 'downloading' },
      { entry: { state: 'failed', reason: 'hash mismatch', at: 13 }, from: 'verifying' },
    ]);
  });

  test('onChange sees the lifecycle already in the new state', () => {
    let seen: LifecycleState | null = null;
    const holder: { lc?: Lifecycle } = {};
    holder.lc = new Lifecycle('created', Date.now, () => {
      seen = holder.lc?.state ?? null;
    });
    holder.lc.transition('verifying', 'check');
    assert.equal(seen, 'verifying');
  });

  test('happy path idle → … → active → draining → ready (spare) → active, then → unloaded → loading', () => {
    const lc = new Lifecycle('v3 offered', counterClock(100));
    const route: [LifecycleState, string][] = [
      ['downloading', 'fetching network.onnx'],
      ['verifying', 'checking installed files'],
      ['loading', 'opening network'],
      ['warming', 'warm-up inference'],
      ['ready', 'warmed up'],
      ['active', 'deployed'],
      ['draining', 'replaced by v4'],
      ['ready', 'kept as warm spare'],
      ['active', 'signed rollback'],
      ['draining', 'replaced by v5'],
      ['unloaded', 'spare replaced'],
      ['loading', 'reloading from disk'],
    ];
    for (const [s, why] of route) lc.transition(s, why);
    assert.equal(lc.state, 'loading');
    assert.deepEqual(
      lc.history.map((e) => ({ ...e })),
      [{ state: 'idle', reason: 'v3 offered', at: 100 }, ...route.map(([state, reason], i) => ({ state, reason, at: 101 + i }))],
    );
  });

  test('history keeps only the latest 50 entries, in order', () => {
    const lc = lifecycleIn('ready');
    for (let i = 0; i < 40; i++) {
      lc.transition('active', `activate ${i}`);
      lc.transition('draining', `drain ${i}`);
      lc.transition('ready', `spare ${i}`);
    }
    assert.equal(lc.history.length, 50);
    const last = lc.history[49];
    assert.deepEqual({ state: last?.state, reason: last?.reason }, { state: 'ready', reason: 'spare 39' });
    for (let i = 1; i < lc.history.length; i++) {
      const prev = lc.history[i - 1];
      const cur = lc.history[i];
      assert.ok(prev && cur && prev.at < cur.at, 'entries stay in time order');
      assert.ok(prev && cur && Lifecycle.canTransition(prev.state, cur.state), `${prev?.state} → ${cur?.state} is legal`);
    }
  });
});
