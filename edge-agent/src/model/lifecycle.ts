import type { LifecycleState } from '@edgeloop/shared';

/**
 * The life of one model version on a device. Every change goes through `transition`, which only
 * allows the moves in this table and records why each state was entered.
 */
export const TRANSITIONS: Readonly<Record<LifecycleState, readonly LifecycleState[]>> = {
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

export class IllegalTransitionError extends Error {
  constructor(
    readonly from: LifecycleState,
    readonly to: LifecycleState,
  ) {
    super(`illegal lifecycle transition ${from} → ${to}`);
    this.name = 'IllegalTransitionError';
  }
}

export interface LifecycleEntry {
  state: LifecycleState;
  reason: string;
  at: number;
}

export class Lifecycle {
  private entry: LifecycleEntry;
  private readonly log: LifecycleEntry[] = [];

  constructor(
    reason = 'created',
    private readonly now: () => number = Date.now,
    private readonly onChange?: (e: LifecycleEntry, from: LifecycleState) => void,
  ) {
    this.entry = { state: 'idle', reason, at: now() };
    this.log.push(this.entry);
  }

  get state(): LifecycleState {
    return this.entry.state;
  }

  get reason(): string {
    return this.entry.reason;
  }

  get history(): readonly LifecycleEntry[] {
    return this.log;
  }

  static canTransition(from: LifecycleState, to: LifecycleState): boolean {
    return TRANSITIONS[from].includes(to);
  }

  transition(to: LifecycleState, reason: string): void {
    const from = this.entry.state;
    if (!Lifecycle.canTransition(from, to)) throw new IllegalTransitionError(from, to);
    this.entry = { state: to, reason, at: this.now() };
    this.log.push(this.entry);
    if (this.log.length > 50) this.log.shift();
    this.onChange?.(this.entry, from);
  }

  /** Marks the version failed from any non-terminal state, keeping the reason. */
  fail(reason: string): void {
    if (this.entry.state === 'failed') return;
    if (this.entry.state === 'active' || this.entry.state === 'draining' || this.entry.state === 'ready' || this.entry.state === 'unloaded') {
      throw new IllegalTransitionError(this.entry.state, 'failed');
    }
    this.transition('failed', reason);
  }
}
